// The query API, roles and keys, charts and dashboards, and the result cache, against the real
// basalt binary.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/basalt_process.h"

namespace basalt::testing {
namespace {

using nlohmann::json;

constexpr const char* kModel = R"yaml(model: events
table: events
time: timestamp
dimensions:
  - {name: event, column: event}
  - {name: currency, sql: "events.properties->>'currency'"}
measures:
  - {name: events, agg: count}
  - {name: users, agg: count_distinct, column: user_id}
  - {name: revenue, agg: sum, sql: "CAST(events.properties->>'amount' AS DOUBLE)", filter: "event = 'pay'", format: currency}
metrics:
  - {name: arpu, expr: "revenue / users", format: currency}
)yaml";

class QueryApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() / "project" / "models");
    std::ofstream(dir_.path() / "project" / "basalt.yaml")
        << BasaltServer::default_yaml() << "timezone: UTC\nquery: {max_rows: 6}\n";
    std::ofstream(dir_.path() / "project" / "models" / "events.yaml") << kModel;
    server_ = std::make_unique<BasaltServer>(dir_.path() / "project", dir_.path() / "data");
    server_->start();
    json batch = json::array();
    for (int day = 1; day <= 9; ++day) {
      for (int u = 0; u < day; ++u) {
        std::string ts = "2026-11-0" + std::to_string(day) + "T1" + std::to_string(u) + ":00:00Z";
        batch.push_back({{"type", "track"},
                         {"event", "login"},
                         {"userId", "u" + std::to_string(u)},
                         {"timestamp", ts}});
        if (u % 3 == 0) {
          batch.push_back(
              {{"type", "track"},
               {"event", "pay"},
               {"userId", "u" + std::to_string(u)},
               {"timestamp", ts},
               {"properties", {{"amount", 1.5 * (u + 1)}, {"currency", u % 2 ? "EUR" : "USD"}}}});
        }
      }
    }
    post(batch);
    loaded();
  }
  // Waits until the loader has stored every posted event and told the result cache (the rows
  // are visible a moment before the loader's position moves past them).
  void loaded() {
    server_->wait_until_loaded();
    EXPECT_EQ(server_->sql_int("SELECT count(*) FROM events"), expected_events_);
  }
  void post(const json& events) {
    auto r =
        http_request(server_->ingest_url(), "POST", "/v1/batch", json{{"batch", events}}.dump(),
                     {{"Authorization", basic_auth("test-key")}});
    ASSERT_EQ(r.status, 200) << r.body;
    expected_events_ += static_cast<int64_t>(events.size());
  }
  http::ClientResponse query(const json& body, const std::string& token = "test-admin") {
    return http_request(
        server_->api_url(), "POST", "/api/v1/query", body.dump(),
        {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  }
  http::ClientResponse call(const std::string& method, const std::string& target,
                            const std::string& token, const std::string& body = "") {
    return http_request(server_->api_url(), method, target, body,
                        {{"Authorization", "Bearer " + token}});
  }
  std::string create_key(const std::string& name, const std::string& role,
                         const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"keys",
                                     "create",
                                     name,
                                     "--role",
                                     role,
                                     "--project",
                                     (dir_.path() / "project").string(),
                                     "--data",
                                     (dir_.path() / "data").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_basalt(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto at = r.out.find("secret: ");
    EXPECT_NE(at, std::string::npos) << r.out;
    return r.out.substr(at + 8, r.out.find('\n', at) - at - 8);
  }

  TempDir dir_;
  std::unique_ptr<BasaltServer> server_;
  int64_t expected_events_ = 0;
};

TEST_F(QueryApiTest, AnswersMatchSqlAndTheCacheFollowsLoads) {
  json q = {{"model", "events"},
            {"metrics", {"users", "revenue", "arpu"}},
            {"time", {{"range", {"2026-11-02", "2026-11-05"}}, {"grain", "day"}}}};
  auto r = query(q);
  ASSERT_EQ(r.status, 200) << r.body;
  json a = json::parse(r.body);
  EXPECT_FALSE(a["cached"].get<bool>());
  ASSERT_EQ(a["rows"].size(), 4u) << r.body;
  EXPECT_EQ(a["columns"][0]["name"], "time");
  EXPECT_EQ(a["columns"][2]["format"], "currency");
  EXPECT_TRUE(a.contains("complete_until"));
  EXPECT_NE(a["sql"].get<std::string>().find("$"), std::string::npos) << "values are bound";
  json want = json::parse(server_->sql_json(
      "SELECT strftime(timestamp AT TIME ZONE 'UTC', '%Y-%m-%d'), count(DISTINCT user_id), "
      "sum(CAST(properties->>'amount' AS DOUBLE)) FILTER (WHERE event = 'pay') FROM events "
      "WHERE timestamp >= '2026-11-02' AND timestamp < '2026-11-06' GROUP BY 1 ORDER BY 1"));
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(a["rows"][i][0], want["rows"][i][0]);
    EXPECT_EQ(a["rows"][i][1], want["rows"][i][1]);
    EXPECT_DOUBLE_EQ(a["rows"][i][2].get<double>(), want["rows"][i][2].get<double>());
  }

  // The same query again (members in another order): from the cache.
  json q2 = {{"time", q["time"]}, {"metrics", q["metrics"]}, {"model", "events"}};
  r = query(q2);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["cached"].get<bool>());

  // A load outside the range keeps the entry; one inside drops it.
  post(json::array({{{"type", "track"},
                     {"event", "login"},
                     {"timestamp", "2026-11-20T10:00:00Z"},
                     {"anonymousId", "a1"}}}));
  loaded();
  r = query(q);
  EXPECT_TRUE(json::parse(r.body)["cached"].get<bool>()) << "a load outside the range invalidated";
  post(json::array({{{"type", "track"},
                     {"event", "login"},
                     {"timestamp", "2026-11-03T10:00:00Z"},
                     {"anonymousId", "a2"}}}));
  loaded();
  r = query(q);
  json fresh = json::parse(r.body);
  EXPECT_FALSE(fresh["cached"].get<bool>()) << "a load into the range kept a stale answer";
  EXPECT_EQ(fresh["rows"], a["rows"]) << "anonymous events do not change users or revenue";
}

TEST_F(QueryApiTest, CsvRowCapAsyncAndErrors) {
  json q = {{"model", "events"},
            {"metrics", {"events"}},
            {"dimensions", {"event", "currency"}},
            {"format", "csv"}};
  auto r = query(q);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.substr(0, r.body.find("\r\n")), "event,currency,events");
  EXPECT_NE(r.body.find("pay,USD,"), std::string::npos) << r.body;

  // Row cap (6): more rows are cut with a message saying so.
  json big = {{"model", "events"},
              {"metrics", {"events"}},
              {"time", {{"range", {"2026-11-01T00:00", "2026-11-10T00:00"}}, {"grain", "hour"}}}};
  r = query(big);
  ASSERT_EQ(r.status, 200) << r.body;
  json a = json::parse(r.body);
  EXPECT_EQ(a["rows"].size(), 6u);
  EXPECT_TRUE(a["truncated"].get<bool>());
  EXPECT_NE(a["message"].get<std::string>().find("row cap"), std::string::npos);
  big["limit"] = 100;
  r = query(big);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("above the row cap of 6"), std::string::npos) << r.body;

  // Async: 202 with an id, then the answer.
  json aq = {{"model", "events"}, {"metrics", {"users"}}, {"async", true}};
  r = query(aq);
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = json::parse(r.body)["id"];
  http::ClientResponse done;
  for (int i = 0; i < 100; ++i) {
    done = call("GET", "/api/v1/query/" + id, "test-admin");
    if (done.status != 202) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(json::parse(done.body)["rows"][0][0], 9);
  EXPECT_EQ(call("GET", "/api/v1/query/nope", "test-admin").status, 404);

  // Bad requests: 400 with the reason.
  r = query({{"model", "events"}, {"metrics", {"nope"}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("unknown metric 'nope'"), std::string::npos) << r.body;
  r = http_request(server_->api_url(), "POST", "/api/v1/query", "{not json",
                   {{"Authorization", "Bearer test-admin"}});
  EXPECT_EQ(r.status, 400);
  // Injection attempt in a value: bound, the table survives.
  r = query(
      {{"model", "events"},
       {"metrics", {"events"}},
       {"filters",
        {{{"dimension", "event"}, {"op", "="}, {"value", "x' OR 1=1; DROP TABLE events; --"}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["rows"][0][0], 0);
  EXPECT_EQ(server_->sql_int("SELECT count(*) FROM events"), expected_events_);
}

TEST_F(QueryApiTest, RolesKeysChartsAndDashboards) {
  std::string viewer = create_key("wall-screen", "viewer");
  std::string analyst = create_key("ana", "analyst");
  json q = {{"model", "events"}, {"metrics", {"events"}}};

  EXPECT_EQ(query(q, "").status, 401);
  EXPECT_EQ(query(q, "bsk_unknown").status, 401);
  auto r = query(q, viewer);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("needs the analyst role"), std::string::npos) << r.body;
  EXPECT_EQ(query(q, analyst).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/keys", analyst).status, 403);

  // Charts: analysts write, viewers read; a chart's query must compile.
  r = call("POST", "/api/v1/charts", analyst,
           json{{"name", "Users"},
                {"type", "line"},
                {"query", {{"model", "events"}, {"metrics", {"bogus"}}}}}
               .dump());
  EXPECT_EQ(r.status, 400) << r.body;
  r = call("POST", "/api/v1/charts", analyst,
           json{{"name", "Users"},
                {"type", "line"},
                {"query", {{"model", "events"}, {"metrics", {"users"}}}}}
               .dump());
  ASSERT_EQ(r.status, 201) << r.body;
  std::string chart = json::parse(r.body)["id"];
  EXPECT_EQ(json::parse(r.body)["owner"], "ana");
  EXPECT_EQ(call("POST", "/api/v1/charts", viewer, json{{"name", "x"}, {"query", q}}.dump()).status,
            403);
  r = call("GET", "/api/v1/charts", viewer);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["charts"][0]["type"], "line");
  r = call("GET", "/api/v1/charts/" + chart + "/data", viewer);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["rows"][0][0], 9);

  r = call("POST", "/api/v1/dashboards", analyst,
           json{{"name", "Ops"}, {"charts", {"c_missing"}}}.dump());
  EXPECT_EQ(r.status, 400);
  r = call("POST", "/api/v1/dashboards", analyst,
           json{{"name", "Ops"}, {"charts", {chart}}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  std::string dash = json::parse(r.body)["id"];
  r = call("PUT", "/api/v1/dashboards/" + dash, analyst,
           json{{"name", "Ops 2"}, {"charts", {chart}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(call("GET", "/api/v1/dashboards/" + dash, viewer).body)["name"], "Ops 2");
  EXPECT_EQ(call("DELETE", "/api/v1/dashboards/" + dash, viewer).status, 403);
  EXPECT_EQ(call("DELETE", "/api/v1/dashboards/" + dash, analyst).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/dashboards/" + dash, viewer).status, 404);

  // Revoked keys are refused at once; every denial is counted.
  auto rv = run_basalt({"keys", "revoke", "ana", "--project", (dir_.path() / "project").string(),
                        "--data", (dir_.path() / "data").string()});
  EXPECT_EQ(rv.exit_code, 0) << rv.err;
  EXPECT_EQ(query(q, analyst).status, 401);
  auto list = run_basalt({"keys", "list", "--project", (dir_.path() / "project").string(), "--data",
                          (dir_.path() / "data").string()});
  EXPECT_NE(list.out.find("revoked"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("bsk_"), std::string::npos) << "secrets are never listed";
  auto metrics = http_request(server_->ingest_url(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("basalt_api_denied_total{reason=\"forbidden\"}"), std::string::npos)
      << metrics.body.substr(0, 2000);
  EXPECT_NE(metrics.body.find("basalt_api_denied_total{reason=\"unauthenticated\"}"),
            std::string::npos);
  r = call("GET", "/api/v1/keys", "test-admin");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["keys"].size(), 2u);
}

}  // namespace
}  // namespace basalt::testing

namespace basalt::testing {
namespace {

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
api: payments
description: Payments at least this large
params:
  - {name: min, type: number, min: 0, max: 1000, default: 0}
tables: [events]
sql: "SELECT user_id, CAST(properties->>'amount' AS DOUBLE) AS amount FROM events WHERE event = 'pay' AND CAST(properties->>'amount' AS DOUBLE) >= {{min}} ORDER BY amount DESC, user_id"
)yaml";

class DataApiTest : public QueryApiTest {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() / "project" / "apis");
    std::ofstream(dir_.path() / "project" / "apis" / "apis.yaml") << kApis;
    QueryApiTest::SetUp();
  }
};

TEST_F(DataApiTest, ScopedKeysRateLimitsFormatsAndOpenApi) {
  std::string svc = create_key("partner", "service", {"--api", "daily_users", "--rate", "3"});
  std::string viewer = create_key("viewer", "viewer");
  auto r = call("GET", "/data/v1/daily_users?start=2026-11-02&end=2026-11-04", svc);
  ASSERT_EQ(r.status, 200) << r.body;
  json a = json::parse(r.body);
  ASSERT_EQ(a["rows"].size(), 3u);
  EXPECT_EQ(a["rows"][0], json::array({"2026-11-02", 2}));
  EXPECT_FALSE(a.contains("sql")) << "a published API does not show its statement";
  r = call("GET", "/data/v1/daily_users?start=2026-11-02&end=2026-11-04&event=pay", svc);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["rows"][0], json::array({"2026-11-02", 1}));
  // Third call within the minute: allowed (3/min); the fourth is refused with Retry-After.
  r = call("GET", "/data/v1/daily_users?start=2026-11-02&end=2026-11-02", svc);
  EXPECT_EQ(r.status, 200);
  r = call("GET", "/data/v1/daily_users?start=2026-11-02&end=2026-11-02", svc);
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_NE(r.body.find("rate limit of 3"), std::string::npos);

  // Scope: not this API; viewers: none; admins: all.
  r = call("GET", "/data/v1/payments", svc);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("not scoped to data API 'payments'"), std::string::npos) << r.body;
  EXPECT_EQ(call("GET", "/data/v1/payments", viewer).status, 403);
  EXPECT_EQ(call("GET", "/data/v1/payments", "").status, 401);
  r = call("GET", "/data/v1/payments?min=10&format=csv", "test-admin");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.substr(0, r.body.find("\r\n")), "user_id,amount");
  EXPECT_NE(r.body.find("u6,10.5"), std::string::npos) << r.body;

  // Parameters are typed and bounded; injection attempts are refused or bound.
  r = call("GET", "/data/v1/payments?min=-1", "test-admin");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("between 0 and 1000"), std::string::npos) << r.body;
  EXPECT_EQ(call("GET", "/data/v1/payments?min=1;DROP%20TABLE%20events", "test-admin").status, 400);
  EXPECT_EQ(call("GET", "/data/v1/payments?bogus=1", "test-admin").status, 400);
  EXPECT_EQ(call("GET", "/data/v1/daily_users?start=2026-11-02", "test-admin").status, 400);
  EXPECT_EQ(
      call("GET", "/data/v1/daily_users?start=2026-11-02&end=2026-11-03&event=x'--", "test-admin")
          .status,
      400);
  EXPECT_EQ(call("GET", "/data/v1/nope", "test-admin").status, 404);

  r = call("GET", "/data/v1/openapi.json", svc);
  ASSERT_EQ(r.status, 200);
  json doc = json::parse(r.body);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  EXPECT_TRUE(doc["paths"].contains("/data/v1/daily_users"));
  EXPECT_EQ(doc["paths"]["/data/v1/payments"]["get"]["parameters"][0]["schema"]["maximum"], 1000.0);
  r = call("GET", "/api/v1/apis", viewer);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["apis"].size(), 2u);
}

}  // namespace
}  // namespace basalt::testing
