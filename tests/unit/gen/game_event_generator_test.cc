#include "gen/game_event_generator.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace basalt::gen {
namespace {

using nlohmann::json;

constexpr int64_t kDayUs = 86'400'000'000;
const int64_t kEnd = *parse_iso8601("2024-05-15T00:00:00Z");

GenOptions options(uint64_t users, uint32_t days, uint64_t seed, size_t batch_size = 100) {
  GenOptions o;
  o.users = users;
  o.days = days;
  o.seed = seed;
  o.batch_size = batch_size;
  o.end_time_us = kEnd;
  return o;
}

std::vector<std::string> all_bodies(const GenOptions& o) {
  ManualClock clock(0);
  auto gen = GameEventGenerator::create(o, clock);
  EXPECT_TRUE(gen.is_ok()) << gen.status().to_string();
  std::vector<std::string> out;
  while (auto body = gen->next_body()) out.push_back(std::move(*body));
  return out;
}

// The events of every body, in order.
std::vector<json> events_of(const std::vector<std::string>& bodies, size_t batch_size) {
  std::vector<json> out;
  for (const std::string& b : bodies) {
    json body = json::parse(b);
    if (batch_size == 1) {
      out.push_back(std::move(body));
    } else {
      for (json& e : body.at("batch")) out.push_back(std::move(e));
    }
  }
  return out;
}

int64_t time_of(const json& value) {
  auto t = parse_iso8601(value.get<std::string>());
  EXPECT_TRUE(t.is_ok()) << value;
  return t.is_ok() ? *t : 0;
}

TEST(GameEventGenerator, SameSeedGivesSameBytesAndOtherSeedDiffers) {
  const auto a = all_bodies(options(300, 7, 7));
  const auto b = all_bodies(options(300, 7, 7));
  const auto c = all_bodies(options(300, 7, 8));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(GameEventGenerator, BatchSizeDoesNotChangeTheEvents) {
  const auto batched = events_of(all_bodies(options(120, 4, 3, 100)), 100);
  auto singles = events_of(all_bodies(options(120, 4, 3, 1)), 1);
  ASSERT_EQ(batched.size(), singles.size());
  for (size_t i = 0; i < singles.size(); ++i) {
    singles[i].erase("sentAt");
    ASSERT_EQ(batched[i], singles[i]) << "event " << i;
  }
}

TEST(GameEventGenerator, EventsAreChronologicalInsideTheWindow) {
  const auto o = options(250, 10, 11, 100);
  const auto bodies = all_bodies(o);
  int64_t previous = 0;
  for (const std::string& b : bodies) {
    const json body = json::parse(b);
    int64_t latest = 0;
    for (const json& e : body.at("batch")) {
      const int64_t t = time_of(e.at("timestamp"));
      EXPECT_GE(t, previous);
      EXPECT_GE(t, kEnd - 10 * kDayUs);
      EXPECT_LT(t, kEnd);
      previous = t;
      latest = t;
    }
    // Sent when the history ends, so skew correction keeps each event's time.
    EXPECT_EQ(time_of(body.at("sentAt")), kEnd);
    EXPECT_LE(latest, kEnd);
  }
}

TEST(GameEventGenerator, DefaultEndIsTheClocksNow) {
  ManualClock clock(kEnd + 123'000);
  GenOptions o = options(50, 2, 1);
  o.end_time_us.reset();
  auto gen = GameEventGenerator::create(o, clock);
  ASSERT_TRUE(gen.is_ok());
  EXPECT_EQ(gen->end_time_us(), kEnd + 123'000);
  EXPECT_EQ(gen->start_time_us(), kEnd + 123'000 - 2 * kDayUs);
}

TEST(GameEventGenerator, BodiesHaveTheRequestedNumberOfEvents) {
  for (size_t batch : {size_t{1}, size_t{7}, size_t{100}}) {
    const auto bodies = all_bodies(options(60, 3, 5, batch));
    ASSERT_GT(bodies.size(), 2u);
    for (size_t i = 0; i < bodies.size(); ++i) {
      const json body = json::parse(bodies[i]);
      ASSERT_TRUE(body.contains("sentAt"));
      if (batch == 1) {
        EXPECT_FALSE(body.contains("batch"));
        EXPECT_TRUE(body.contains("type"));
        EXPECT_TRUE(body.contains("messageId"));
      } else {
        const size_t n = body.at("batch").size();
        if (i + 1 < bodies.size()) {
          EXPECT_EQ(n, batch);
        } else {
          EXPECT_GE(n, 1u);
          EXPECT_LE(n, batch);
        }
      }
    }
  }
}

TEST(GameEventGenerator, WriteKeyGoesIntoEachBody) {
  GenOptions o = options(20, 1, 1);
  o.write_key = "key-\"1\"";
  for (const std::string& b : all_bodies(o)) {
    EXPECT_EQ(json::parse(b).at("writeKey"), "key-\"1\"");
  }
}

TEST(GameEventGenerator, EventsHaveTheSegmentShapeAndGameProperties) {
  const auto events = events_of(all_bodies(options(250, 6, 21, 50)), 50);
  const std::set<std::string> kTrack = {"install",   "login",        "session_start",
                                        "session_end", "level_up",   "chat_message",
                                        "item_purchase", "pay"};
  const std::set<double> kPrices = {0.99, 4.99, 9.99, 19.99, 49.99, 99.99};
  std::set<std::string> message_ids;
  std::map<std::string, int> last_level;
  std::set<std::string> seen;
  for (const json& e : events) {
    SCOPED_TRACE(e.dump());
    const std::string type = e.at("type");
    ASSERT_TRUE(type == "track" || type == "identify");
    const std::string id = e.at("messageId");
    EXPECT_EQ(id.size(), 36u);
    EXPECT_TRUE(message_ids.insert(id).second) << "duplicate messageId";
    const std::string ts = e.at("timestamp");
    ASSERT_EQ(ts.size(), 24u);
    EXPECT_EQ(ts[19], '.');
    EXPECT_EQ(ts.back(), 'Z');
    const json& ctx = e.at("context");
    EXPECT_EQ(ctx.at("library").at("name"), "basalt-unity");
    EXPECT_TRUE(ctx.at("library").contains("version"));
    const std::string os = ctx.at("os").at("name");
    EXPECT_TRUE(os == "iOS" || os == "Android");
    EXPECT_TRUE(ctx.at("os").contains("version"));
    EXPECT_TRUE(ctx.at("app").contains("version"));
    EXPECT_TRUE(ctx.at("device").contains("model"));
    EXPECT_EQ(ctx.at("ip").get<std::string>().rfind("10.", 0), 0u);
    EXPECT_TRUE(ctx.contains("locale"));
    if (type == "identify") {
      EXPECT_TRUE(e.contains("userId"));
      const json& traits = e.at("traits");
      EXPECT_GE(traits.at("level").get<int>(), 1);
      EXPECT_TRUE(traits.at("vip").is_boolean());
      EXPECT_TRUE(traits.at("server").is_string());
      EXPECT_TRUE(traits.at("channel").is_string());
      seen.insert("identify");
      continue;
    }
    const std::string name = e.at("event");
    ASSERT_TRUE(kTrack.contains(name)) << name;
    seen.insert(name);
    const json& p = e.at("properties");
    if (name == "install") {
      EXPECT_FALSE(e.contains("userId"));
      EXPECT_TRUE(e.contains("anonymousId"));
      const std::set<std::string> channels = {"organic", "facebook", "google", "tiktok",
                                              "unity_ads"};
      EXPECT_TRUE(channels.contains(p.at("channel").get<std::string>()));
      continue;
    }
    const std::string user = e.at("userId");
    if (name == "login") {
      EXPECT_TRUE(p.at("server").is_string());
    }
    if (name == "session_end") {
      EXPECT_GE(p.at("duration_s").get<int>(), 60);
    }
    if (name == "level_up") {
      const int level = p.at("level");
      EXPECT_GT(level, last_level[user]);
      last_level[user] = level;
    }
    if (name == "chat_message") {
      const std::string channel = p.at("channel");
      EXPECT_TRUE(channel == "world" || channel == "guild" || channel == "private");
      EXPECT_EQ(p.at("length").get<size_t>(), p.at("text").get<std::string>().size());
    }
    if (name == "item_purchase") {
      EXPECT_TRUE(p.at("item_id").is_string());
      EXPECT_GT(p.at("price_coins").get<int>(), 0);
    }
    if (name == "pay") {
      EXPECT_TRUE(kPrices.contains(p.at("amount").get<double>()));
      const std::string currency = p.at("currency");
      EXPECT_TRUE(currency == "USD" || currency == "CNY" || currency == "EUR");
      EXPECT_TRUE(p.at("product_id").is_string());
    }
  }
  EXPECT_EQ(seen.size(), kTrack.size() + 1) << "every kind of event appears";
}

TEST(GameEventGenerator, RatiosAreRealistic) {
  constexpr uint32_t kDays = 9;
  const auto events = events_of(all_bodies(options(2000, kDays, 1, 100)), 100);
  const int64_t start = kEnd - kDays * kDayUs;
  std::map<std::string, int64_t> install_day_of_anon;
  std::map<std::string, int64_t> install_day;
  std::map<std::string, std::set<int64_t>> active_days;
  std::set<std::string> payers;
  std::map<std::string, int> channels;
  for (const json& e : events) {
    const int64_t day = (time_of(e.at("timestamp")) - start) / kDayUs;
    const std::string name = e.value("event", "identify");
    if (name == "install") {
      install_day_of_anon[e.at("anonymousId")] = day;
      ++channels[e.at("properties").at("channel")];
      continue;
    }
    const std::string user = e.at("userId");
    if (name == "identify" && e.contains("anonymousId")) {
      install_day[user] = install_day_of_anon.at(e.at("anonymousId"));
    }
    active_days[user].insert(day);
    if (name == "pay") payers.insert(user);
  }
  ASSERT_EQ(install_day.size(), 2000u);
  const double payer_share = static_cast<double>(payers.size()) / 2000;
  EXPECT_GE(payer_share, 0.02);
  EXPECT_LE(payer_share, 0.06);
  auto retention = [&](int64_t k) {
    int eligible = 0, back = 0;
    for (const auto& [user, day] : install_day) {
      if (day + k >= kDays) continue;
      ++eligible;
      back += active_days[user].contains(day + k);
    }
    return static_cast<double>(back) / eligible;
  };
  EXPECT_GE(retention(1), 0.30);
  EXPECT_LE(retention(1), 0.50);
  EXPECT_GE(retention(7), 0.08);
  EXPECT_LE(retention(7), 0.22);
  EXPECT_GT(channels["organic"], channels["facebook"]);
  EXPECT_GT(channels["facebook"], channels["unity_ads"]);
}

TEST(GameEventGenerator, HundredEventBatchesAreAboutThirtySixKilobytes) {
  const auto bodies = all_bodies(options(1000, 7, 2, 100));
  ASSERT_GT(bodies.size(), 10u);
  size_t total = 0;
  for (size_t i = 0; i + 1 < bodies.size(); ++i) total += bodies[i].size();
  const double mean = static_cast<double>(total) / static_cast<double>(bodies.size() - 1);
  EXPECT_GE(mean, 30'000);
  EXPECT_LE(mean, 45'000);
}

TEST(GameEventGenerator, CountsMatchTheEventsAndTheSummary) {
  ManualClock clock(0);
  auto gen = GameEventGenerator::create(options(100, 3, 4, 10), clock);
  ASSERT_TRUE(gen.is_ok());
  std::map<std::string, uint64_t> counted;
  uint64_t bytes = 0, bodies = 0;
  while (auto body = gen->next_body()) {
    bytes += body->size();
    ++bodies;
    const json parsed = json::parse(*body);
    for (const json& e : parsed.at("batch")) ++counted[e.value("event", "identify")];
  }
  EXPECT_EQ(gen->counts(), counted);
  EXPECT_EQ(gen->bodies(), bodies);
  EXPECT_EQ(gen->bytes(), bytes);
  uint64_t events = 0;
  for (const auto& [name, n] : counted) events += n;
  EXPECT_EQ(gen->events(), events);
  EXPECT_EQ(counted.at("install"), 100u);
  EXPECT_NE(gen->summary().find("install=100"), std::string::npos) << gen->summary();
  EXPECT_EQ(gen->summary().rfind(std::to_string(bodies) + " bodies, " + std::to_string(events) +
                                 " events", 0),
            0u)
      << gen->summary();
}

TEST(GameEventGenerator, RejectsEmptyOptions) {
  ManualClock clock(kEnd);
  for (GenOptions o : {options(0, 1, 1), options(1, 0, 1), options(1, 1, 1, 0)}) {
    auto gen = GameEventGenerator::create(o, clock);
    ASSERT_FALSE(gen.is_ok());
    EXPECT_EQ(gen.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(Iso8601, FormatsAndParsesUtcWithMilliseconds) {
  EXPECT_EQ(format_iso8601_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601_ms(kEnd + 3'723'456'789), "2024-05-15T01:02:03.456Z");
  EXPECT_EQ(*parse_iso8601("2024-05-15T01:02:03.456789Z"), kEnd + 3'723'456'789);
  EXPECT_EQ(*parse_iso8601("2024-05-15"), kEnd);
  EXPECT_EQ(*parse_iso8601("2024-02-29T00:00:00"), kEnd - 76 * kDayUs);
  for (const char* bad : {"", "2024-5-1", "2024-02-30", "2024-05-15T25:00:00Z",
                          "2024-05-15T01:02:03+02:00", "yesterday", "2024-05-15T01:02:03."}) {
    auto t = parse_iso8601(bad);
    EXPECT_FALSE(t.is_ok()) << bad;
    if (!t.is_ok()) {
      EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace basalt::gen
