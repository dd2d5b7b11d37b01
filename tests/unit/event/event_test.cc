#include "event/event.h"

#include <gtest/gtest.h>

namespace basalt::event {
namespace {

Event sample() {
  Event e;
  e.type = EventType::kIdentify;
  e.event_id = "0b1e6a4e-0000-4000-8000-000000000001";
  e.message_id = "m-1";
  e.source = "app";
  e.user_id = "u1";
  e.anonymous_id = "a1";
  e.timestamp_us = 1'700'000'000'000'000;
  e.received_at_us = 1'700'000'000'500'000;
  e.sent_at_us = 1'700'000'000'400'000;
  e.original_timestamp_us = -5;
  e.ip = "10.0.0.1";
  e.user_agent = "Mozilla/5.0";
  e.traits_json = R"({"level":3,"name":"é"})";
  e.context_json = std::string("{\"k\":\"\0\"}", 10);
  return e;
}

TEST(EventRecordTest, RoundTrips) {
  std::string rec;
  encode(sample(), rec);
  ASSERT_EQ(*record_kind(rec), RecordKind::kEvent);
  auto back = decode_event(rec);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, sample());

  QuarantinedEvent q{"app", 12, "missing userId", R"({"type":"track"})", "::1"};
  rec.clear();
  encode(q, rec);
  auto qb = decode_quarantined(rec);
  ASSERT_TRUE(qb.is_ok());
  EXPECT_EQ(*qb, q);
  EXPECT_FALSE(decode_event(rec).is_ok());
}

TEST(EventRecordTest, EveryTruncationIsAnErrorNotACrash) {
  std::string rec;
  encode(sample(), rec);
  for (size_t n = 0; n < rec.size(); ++n) {
    auto r = decode_event(std::string_view(rec).substr(0, n));
    EXPECT_FALSE(r.is_ok()) << "prefix of " << n << " bytes decoded";
  }
  EXPECT_FALSE(decode_event(rec + "x").is_ok());
}

TEST(EventTypeTest, NamesRoundTrip) {
  for (auto t : {EventType::kTrack, EventType::kIdentify, EventType::kPage, EventType::kScreen,
                 EventType::kGroup, EventType::kAlias}) {
    EXPECT_EQ(parse_event_type(event_type_name(t)), t);
  }
  EXPECT_FALSE(parse_event_type("bogus").has_value());
}

}  // namespace
}  // namespace basalt::event
