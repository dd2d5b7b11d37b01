// `basalt up` on a ClickHouse warehouse (a real clickhouse-server): /api/v1/query and the
// published data APIs (semantic and SQL forms) answer through the ClickHouse dialect; the
// tracking plan's live statistics (/api/v1/tracking) are computed on ClickHouse.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "integration/basalt_process.h"
#include "support/clickhouse_server.h"

namespace basalt::testing {
namespace {

using nlohmann::json;

constexpr const char* kModel = R"yaml(model: events
table: events
time: timestamp
dimensions:
  - {name: event, column: event}
measures:
  - {name: events, agg: count}
  - {name: users, agg: count_distinct, column: user_id}
  - {name: revenue, agg: sum, sql: "visitParamExtractFloat(events.properties, 'amount')", filter: "event = 'pay'"}
metrics:
  - {name: arpu, expr: "revenue / users"}
)yaml";

constexpr const char* kApis = R"yaml(api: daily_users
description: Users per day
params:
  - {name: start, type: date, required: true}
  - {name: end, type: date, required: true}
  - {name: event, type: string, allowed: [login, pay]}
query:
  model: events
  metrics: [users]
  time: {range: ["{{start}}", "{{end}}"], grain: day}
  filters: [{dimension: event, op: "=", value: "{{event}}"}]
---
api: events_per_user
description: Events of one name per user
params:
  - {name: event, type: string, required: true}
tables: [events]
sql: "SELECT user_id, count() AS n FROM events WHERE event = {{event}} GROUP BY user_id ORDER BY user_id"
)yaml";

TEST(QueryApiOnClickHouse, QueriesAndDataApisAnswerThroughTheClickHouseDialect) {
  ClickHouseServer clickhouse;
  TempDir dir;
  auto project = dir.path() / "project";
  std::filesystem::create_directories(project / "models");
  std::filesystem::create_directories(project / "apis");
  std::ofstream(project / "basalt.yaml")
      << BasaltServer::default_yaml() << "timezone: UTC\n"
      << "warehouse: {engine: clickhouse, url: " << clickhouse.url() << ", database: qa}\n";
  std::ofstream(project / "models" / "events.yaml") << kModel;
  std::ofstream(project / "apis" / "apis.yaml") << kApis;
  BasaltServer server(project, dir.path() / "data");
  server.start();

  // Day d (1..9) of November: d users log in; every third of them pays 1.5 * (u + 1).
  json batch = json::array();
  int64_t expected = 0;
  for (int day = 1; day <= 9; ++day) {
    for (int u = 0; u < day; ++u) {
      std::string ts = "2026-11-0" + std::to_string(day) + "T1" + std::to_string(u) + ":00:00Z";
      batch.push_back(
          {{"type", "track"}, {"event", "login"}, {"userId", "u" + std::to_string(u)}, {"timestamp", ts}});
      ++expected;
      if (u % 3 == 0) {
        batch.push_back({{"type", "track"},
                         {"event", "pay"},
                         {"userId", "u" + std::to_string(u)},
                         {"timestamp", ts},
                         {"properties", {{"amount", 1.5 * (u + 1)}}}});
        ++expected;
      }
    }
  }
  for (size_t at = 0; at < batch.size(); at += 50) {
    json part(batch.begin() + static_cast<long>(at),
              batch.begin() + static_cast<long>(std::min(at + 50, batch.size())));
    auto r = http_request(server.ingest_url(), "POST", "/v1/batch", json{{"batch", part}}.dump(),
                          {{"Authorization", basic_auth("test-key")}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  ASSERT_EQ(server.wait_for_int("SELECT count() FROM events", expected, std::chrono::seconds(60)),
            expected);

  auto query = [&](const json& body) {
    auto r = http_request(server.api_url(), "POST", "/api/v1/query", body.dump(),
                          {{"Authorization", "Bearer test-admin"},
                           {"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  };
  json a = query({{"model", "events"},
                  {"metrics", {"events", "users", "revenue", "arpu"}},
                  {"dimensions", {"event"}},
                  {"time", {{"range", {"2026-11-01", "2026-11-09"}}, {"grain", "day"}}}});
  ASSERT_TRUE(a.contains("rows")) << a.dump();
  // Rows ordered by day, then event: login before pay.
  ASSERT_EQ(a["rows"].size(), 18u) << a.dump();
  for (int day = 1; day <= 9; ++day) {
    const json& login = a["rows"][static_cast<size_t>(2 * (day - 1))];
    const json& pay = a["rows"][static_cast<size_t>(2 * (day - 1) + 1)];
    EXPECT_EQ(login[0], "2026-11-0" + std::to_string(day));
    EXPECT_EQ(login[1], "login");
    EXPECT_EQ(login[2], day);
    EXPECT_EQ(login[3], day);
    EXPECT_TRUE(login[4].is_null()) << login.dump();  // no payments among logins: NULL, not 0
    double revenue = 0;
    int payers = 0;
    for (int u = 0; u < day; u += 3) revenue += 1.5 * (u + 1), ++payers;
    EXPECT_EQ(pay[1], "pay");
    EXPECT_EQ(pay[3], payers);
    EXPECT_DOUBLE_EQ(pay[4].get<double>(), revenue);
    EXPECT_DOUBLE_EQ(pay[5].get<double>(), revenue / payers);
  }
  // A comparison and a metric filter (HAVING).
  json c = query({{"model", "events"},
                  {"metrics", {"users"}},
                  {"time", {{"range", {"2026-11-05", "2026-11-09"}}, {"grain", "day"}}},
                  {"compare", "previous_period"},
                  {"filters", {{{"metric", "users"}, {"op", ">"}, {"value", 6}}}}});
  ASSERT_EQ(c["rows"].size(), 3u) << c.dump();
  EXPECT_EQ(c["rows"][0][0], "2026-11-07");
  EXPECT_EQ(c["rows"][0][1], 7);
  EXPECT_EQ(c["rows"][0][2], 2);  // 2026-11-02

  auto get = [&](const std::string& target) {
    return http_request(server.api_url(), "GET", target, "",
                        {{"Authorization", "Bearer test-admin"}});
  };
  auto d = get("/data/v1/daily_users?start=2026-11-02&end=2026-11-04&event=pay");
  ASSERT_EQ(d.status, 200) << d.body;
  json dj = json::parse(d.body);
  ASSERT_EQ(dj["rows"].size(), 3u) << d.body;
  EXPECT_EQ(dj["rows"][0][1], 1);  // day 2: u0 pays
  EXPECT_EQ(dj["rows"][2][1], 2);  // day 4: u0, u3
  auto e = get("/data/v1/events_per_user?event=pay");
  ASSERT_EQ(e.status, 200) << e.body;
  json ej = json::parse(e.body);
  ASSERT_EQ(ej["rows"].size(), 3u) << e.body;  // u0, u3, u6
  EXPECT_EQ(ej["rows"][0][0], "u0");
  EXPECT_EQ(ej["rows"][0][1], 9);
  EXPECT_EQ(ej["rows"][2][0], "u6");
  EXPECT_EQ(ej["rows"][2][1], 3);
  // A value never becomes SQL text.
  auto inj = get("/data/v1/events_per_user?event=pay'%20OR%20'1'='1");
  ASSERT_EQ(inj.status, 200) << inj.body;
  EXPECT_EQ(json::parse(inj.body)["rows"].size(), 0u);
  server.terminate();
}

constexpr const char* kTrackingPlan = R"(properties:
  - {name: amount, type: float, description: Paid amount, owner: money, min: 0}
  - {name: currency, type: string, description: ISO code, owner: money, allowed: [USD, EUR]}
  - {name: tags, type: "string[]", description: Labels, owner: money}
events:
  - name: pay
    description: The player paid.
    owner: money
    required: [amount, currency]
    optional: [tags]
user_attributes:
  - {name: channel, type: string, description: First channel, owner: growth, merge: set_once}
enforcement:
  default: lenient
  sources:
    app: strict
    web: lenient
)";

TEST(TrackingApiOnClickHouse, TheDictionaryStatisticsAreComputedOnClickHouse) {
  ClickHouseServer clickhouse;
  TempDir dir;
  auto project = dir.path() / "project";
  std::filesystem::create_directories(project / "tracking");
  std::ofstream(project / "basalt.yaml")
      << "project: tracked\nsources:\n  - {name: app, write_key: app-key}\n"
      << "  - {name: web, write_key: web-key}\napi: {admin_token: test-admin}\n"
      << "loader: {batch_interval: 50ms}\ntimezone: UTC\n"
      << "warehouse: {engine: clickhouse, url: " << clickhouse.url() << ", database: tracked}\n";
  std::ofstream(project / "tracking" / "plan.yaml") << kTrackingPlan;
  BasaltServer server(project, dir.path() / "data");
  server.start();
  auto post = [&](const std::string& key, const std::string& body) {
    auto r = http_request(server.ingest_url(), "POST", "/v1/batch", body,
                          {{"Authorization", basic_auth(key)}});
    EXPECT_EQ(r.status, 200) << r.body;
  };
  post("app-key", R"({"batch":[
      {"type":"track","userId":"u1","event":"pay","properties":{"amount":2,"currency":"USD","tags":["a"]}},
      {"type":"track","userId":"u2","event":"pay","properties":{"amount":3,"currency":"USD"}},
      {"type":"track","userId":"u3","event":"pay","properties":{"amount":4,"currency":"EUR"}},
      {"type":"identify","userId":"u3","traits":{"channel":"ads"}}]})");
  post("web-key", R"({"batch":[
      {"type":"track","userId":"u1","event":"pay","properties":{"amount":"bad","currency":"USD"}},
      {"type":"track","userId":"u2","event":"pay","properties":{"amount":1,"currency":null}}]})");
  const auto sent_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  ASSERT_EQ(server.wait_for_int("SELECT count() FROM events", 6, std::chrono::seconds(60)), 6);
  // The loader inserts a batch's users after its events: wait for them too.
  ASSERT_EQ(server.wait_for_int("SELECT uniqExact(user_id) FROM users", 3, std::chrono::seconds(60)),
            3);

  auto r = http_request(server.api_url(), "GET", "/api/v1/tracking", "",
                        {{"Authorization", "Bearer test-admin"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json t = json::parse(r.body);
  ASSERT_EQ(t["events"].size(), 1u) << t.dump();
  const json& pay = t["events"][0];
  EXPECT_EQ(pay["stats"]["today"], 5) << pay.dump();
  EXPECT_EQ(pay["stats"]["last_7_days"], 5);
  ASSERT_TRUE(pay["stats"]["last_seen_us"].is_number()) << pay.dump();
  EXPECT_LT(std::abs(pay["stats"]["last_seen_us"].get<int64_t>() - sent_us), 60'000'000);
  const json& amount = pay["properties"][0];
  EXPECT_EQ(amount["name"], "amount");
  EXPECT_EQ(amount["stats"]["present"], 4) << amount.dump();
  EXPECT_DOUBLE_EQ(amount["stats"]["invalid_rate"].get<double>(), 0.2);  // the lenient "bad"
  EXPECT_DOUBLE_EQ(amount["stats"]["null_rate"].get<double>(), 0.0);
  const json& currency = pay["properties"][1];
  EXPECT_DOUBLE_EQ(currency["stats"]["null_rate"].get<double>(), 0.2) << currency.dump();  // null
  EXPECT_DOUBLE_EQ(currency["stats"]["invalid_rate"].get<double>(), 0.0);
  ASSERT_TRUE(currency["stats"].contains("top_values")) << currency.dump();
  EXPECT_EQ(currency["stats"]["top_values"][0], json::parse(R"({"value":"USD","count":3})"));
  EXPECT_EQ(currency["stats"]["top_values"][1], json::parse(R"({"value":"EUR","count":1})"));
  const json& tags = pay["properties"][2];
  EXPECT_EQ(tags["name"], "tags");
  EXPECT_EQ(tags["stats"]["present"], 1) << tags.dump() << " (an absent list is [] on ClickHouse)";
  ASSERT_EQ(t["user_attributes"].size(), 1u);
  EXPECT_EQ(t["user_attributes"][0]["stats"], json::parse(R"({"users":3,"set":1})"))
      << t["user_attributes"].dump();
  server.terminate();
}

}  // namespace
}  // namespace basalt::testing
