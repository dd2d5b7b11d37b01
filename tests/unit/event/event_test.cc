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

Event with_typed_values() {
  Event e = sample();
  e.typed.push_back({"server", ValueType::kString, 0, 0, "eu-1", {}});
  e.typed.push_back({"level", ValueType::kInt, -42, 0, "", {}});
  e.typed.push_back({"amount", ValueType::kFloat, 0, 9.99, "", {}});
  e.typed.push_back({"vip", ValueType::kBool, 1, 0, "", {}});
  e.typed.push_back({"at", ValueType::kTimestamp, 1'700'000'000'000'001, 0, "", {}});
  e.typed.push_back({"tags", ValueType::kStringList, 0, 0, "", {"a", "", "ü"}});
  e.typed.push_back({"extra", ValueType::kJson, 0, 0, R"({"x":[1,2]})", {}});
  e.typed.push_back({"channel", ValueType::kNull, 0, 0, "", {}});
  e.browser = "Chrome";
  e.browser_version = "120.0.6099";
  e.os_family = "Android";
  e.os_version = "14";
  e.device_family = "Pixel 8";
  e.device_brand = "Google";
  e.device_model = "Pixel 8";
  e.country = "FR";
  e.region = "Île-de-France";
  e.city = "Paris";
  return e;
}

TEST(EventRecordTest, TypedValuesRoundTripAndTruncationsFail) {
  std::string rec;
  encode(with_typed_values(), rec);
  auto back = decode_event(rec);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, with_typed_values());
  for (size_t n = 0; n < rec.size(); ++n) {
    EXPECT_FALSE(decode_event(std::string_view(rec).substr(0, n)).is_ok()) << n;
  }
}

TEST(EventRecordTest, UnknownTypedValueTypeIsDataLoss) {
  Event e = sample();
  e.typed.push_back({"x", ValueType::kNull, 0, 0, "", {}});
  std::string rec;
  encode(e, rec);
  rec[rec.size() - 11] = 99;  // the value's type, before the ten empty enrichment strings
  auto back = decode_event(rec);
  ASSERT_FALSE(back.is_ok());
  EXPECT_NE(back.status().message().find("unknown type 99"), std::string::npos);
}

// Version 1 and 2 records, as earlier releases wrote them: no typed values and no quarantine
// id (1), no enrichment fields (1, 2).
TEST(EventRecordTest, ReadsVersionOneAndTwoRecords) {
  std::string rec;
  encode(sample(), rec);
  ASSERT_EQ(rec.substr(rec.size() - 11), std::string(11, '\0'));  // no typed values, no enrichment
  rec.resize(rec.size() - 10);
  rec[1] = 2;
  auto v2 = decode_event(rec);
  ASSERT_TRUE(v2.is_ok()) << v2.status().to_string();
  EXPECT_EQ(*v2, sample());
  rec.pop_back();
  rec[1] = 1;
  auto back = decode_event(rec);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, sample());

  QuarantinedEvent q{"app", 12, "bad", "{}", "::1", std::nullopt, ""};
  rec.clear();
  encode(q, rec);
  rec.resize(rec.size() - 2);  // the empty id and the absent call type
  rec[1] = 1;
  auto qb = decode_quarantined(rec);
  ASSERT_TRUE(qb.is_ok()) << qb.status().to_string();
  EXPECT_EQ(*qb, q);
}

// Decoding into an Event that holds another one (as the loader reuses its batch's events)
// leaves nothing of the old one: every field, the typed values and the enrichment fields of
// a record that has none (version 1) are overwritten.
TEST(EventRecordTest, DecodingIntoAUsedEventOverwritesEveryField) {
  std::string full;
  encode(with_typed_values(), full);
  Event target = with_typed_values();
  target.group_id = "g";
  target.previous_id = "p";
  target.event = "level_up";
  target.properties_json = R"({"a":1})";
  target.type = EventType::kTrack;

  std::string plain;
  encode(sample(), plain);
  ASSERT_TRUE(decode_event(plain, target).is_ok());
  EXPECT_EQ(target, sample());

  target = with_typed_values();
  plain.resize(plain.size() - 11);  // a version 1 record: no typed values, no enrichment
  plain[1] = 1;
  ASSERT_TRUE(decode_event(plain, target).is_ok());
  EXPECT_EQ(target, sample());

  ASSERT_TRUE(decode_event(full, target).is_ok());
  EXPECT_EQ(target, with_typed_values());
}

TEST(EventRecordTest, QuarantineKeepsIdAndCallType) {
  QuarantinedEvent q{"app", 12, "bad", R"({"event":"x"})", "::1", EventType::kTrack, "q-1"};
  std::string rec;
  encode(q, rec);
  auto qb = decode_quarantined(rec);
  ASSERT_TRUE(qb.is_ok());
  EXPECT_EQ(*qb, q);
  rec[rec.size() - 1] = 9;
  EXPECT_FALSE(decode_quarantined(rec).is_ok());
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
