// The tracking plan with the real binary: strict, lenient and off sources over HTTP,
// quarantine contents and reasons, typed columns and merge rules queried through `basalt sql`,
// `basalt validate`, `up` refusing a bad plan, /v1/validate, and hot reload (admin API and
// SIGHUP) with a good and a bad plan.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "integration/basalt_process.h"

namespace basalt::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kYaml =
    "project: tracked\n"
    "sources:\n"
    "  - {name: app, write_key: app-key}\n"
    "  - {name: web, write_key: web-key}\n"
    "  - {name: raw, write_key: raw-key}\n"
    "api: {admin_token: test-admin}\n"
    "loader: {batch_interval: 50ms}\n";

constexpr const char* kPlan = R"(properties:
  - {name: amount, type: float, description: Paid amount, owner: money, min: 0}
  - {name: currency, type: string, description: ISO code, owner: money, allowed: [USD, EUR]}
  - {name: level, type: int, description: Level reached, owner: game}
events:
  - name: pay
    description: The player paid.
    owner: money
    required: [amount, currency]
  - name: level_up
    description: A new level.
    owner: game
    required: [level]
user_attributes:
  - {name: level, type: int, description: Highest level, owner: game, merge: max}
  - {name: channel, type: string, description: First channel, owner: growth, merge: set_once}
enforcement:
  default: lenient
  sources:
    app: strict
    web: lenient
    raw: "off"
)";

void write_project(const fs::path& dir, const std::string& plan) {
  fs::create_directories(dir / "tracking");
  std::ofstream(dir / "basalt.yaml") << kYaml;
  std::ofstream(dir / "tracking" / "plan.yaml") << plan;
}

json post(const BasaltServer& s, const std::string& key, const std::string& path,
          const std::string& body, int expected = 200) {
  auto r = http_request(s.ingest_url(), "POST", path, body, {{"Authorization", basic_auth(key)}});
  EXPECT_EQ(r.status, expected) << r.body;
  return json::parse(r.body, nullptr, false);
}

std::string sql_csv(const BasaltServer& s, const std::string& sql) {
  auto q = run_basalt({"sql", "--api", s.api_url(), "--format", "csv", sql},
                      {"BASALT_TOKEN=test-admin"});
  EXPECT_EQ(q.exit_code, 0) << q.err;
  return q.out;
}

class TrackingTest : public ::testing::Test {
 protected:
  TrackingTest() { write_project(project(), kPlan); }
  fs::path project() const { return dir_.path() / "project"; }
  fs::path data() const { return dir_.path() / "data"; }
  TempDir dir_;
};

TEST_F(TrackingTest, StrictLenientAndOffSourcesOverHttp) {
  BasaltServer server(project(), data());
  server.start();
  // Strict: the bad events are refused with their reasons, the good one accepted.
  json r = post(server, "app-key", "/v1/batch", R"({"batch":[
      {"type":"track","userId":"u1","event":"pay","properties":{"amount":9.99,"currency":"USD"}},
      {"type":"track","userId":"u1","event":"pay","properties":{"amount":"abc","currency":"USD"}},
      {"type":"track","userId":"u1","event":"lvl_up","properties":{"level":2}},
      {"type":"track","userId":"u2","event":"pay","properties":{"amount":0.01,"currency":"EUR"}}]})");
  EXPECT_EQ(r["accepted"], 2);
  EXPECT_EQ(r["rejected"], 2);
  ASSERT_EQ(r["errors"].size(), 2u);
  EXPECT_EQ(r["errors"][0]["index"], 1);
  EXPECT_EQ(r["errors"][0]["reason"], R"(property "amount" expected float, got string "abc")");
  EXPECT_EQ(r["errors"][1]["reason"],
            R"(event "lvl_up" is not in the tracking plan (did you mean "level_up"?))");
  // Lenient: accepted, with warnings; the undeclared property stays in the JSON column.
  r = post(server, "web-key", "/v1/track",
           R"({"userId":"u3","event":"pay","properties":{"amount":5,"currency":"USD","coupon":"X"}})");
  EXPECT_EQ(r["rejected"], 0);
  ASSERT_EQ(r["warnings"].size(), 1u);
  EXPECT_NE(r["warnings"][0]["reason"].get<std::string>().find(
                R"(property "coupon" is not declared for event "pay")"),
            std::string::npos)
      << r.dump();
  // Off: anything goes, and no typed values are taken.
  r = post(server, "raw-key", "/v1/track",
           R"({"userId":"u4","event":"pay","properties":{"amount":"lots"}})");
  EXPECT_EQ(r, json::parse(R"({"success":true})"));
  // Identify: merge rules into the a_ columns.
  post(server, "app-key", "/v1/batch", R"({"batch":[
      {"type":"identify","userId":"u1","traits":{"level":3,"channel":"ads"},"timestamp":"2026-01-01T00:00:02Z"},
      {"type":"identify","userId":"u1","traits":{"level":2,"channel":"organic"},"timestamp":"2026-01-01T00:00:01Z"}]})");

  server.wait_for_int("SELECT count(*) FROM events", 6);
  server.wait_for_int("SELECT count(*) FROM quarantine", 2);
  server.wait_until_loaded();
  // Typed columns through `basalt sql`: the sums of the sent amounts.
  EXPECT_EQ(sql_csv(server, "SELECT round(sum(p_amount), 2) AS total, count(p_amount) AS n "
                            "FROM events WHERE event = 'pay'"),
            "total,n\n15.0,3\n");
  EXPECT_EQ(sql_csv(server, "SELECT source, p_currency FROM events WHERE event = 'pay' AND "
                            "p_amount IS NOT NULL ORDER BY p_amount"),
            "source,p_currency\napp,EUR\nweb,USD\napp,USD\n");
  EXPECT_EQ(sql_csv(server, "SELECT properties->>'coupon' AS c FROM events WHERE source = 'web'"),
            "c\nX\n");
  EXPECT_EQ(sql_csv(server, "SELECT a_level, a_channel FROM users WHERE user_id = 'u1'"),
            "a_level,a_channel\n3,organic\n");
  // Quarantine holds each refused event whole, with its reason.
  EXPECT_EQ(sql_csv(server, "SELECT source, reason FROM quarantine ORDER BY reason"),
            "source,reason\napp,\"event \"\"lvl_up\"\" is not in the tracking plan (did you mean "
            "\"\"level_up\"\"?)\"\napp,\"property \"\"amount\"\" expected float, got string "
            "\"\"abc\"\"\"\n");
  EXPECT_EQ(sql_csv(server, "SELECT raw::JSON->>'event' AS e FROM quarantine ORDER BY 1"),
            "e\nlvl_up\npay\n");
}

TEST_F(TrackingTest, ValidateEndpointRunsThePipelineAndWritesNothing) {
  BasaltServer server(project(), data());
  server.start();
  json r = post(server, "app-key", "/v1/validate", R"({"batch":[
      {"type":"track","userId":"u1","event":"pay","properties":{"amount":1.5,"currency":"EUR"}},
      {"type":"track","userId":"u1","event":"pay","properties":{"amount":-1,"currency":"EUR"}}]})");
  EXPECT_EQ(r["accepted"], 1);
  EXPECT_EQ(r["rejected"], 1);
  ASSERT_EQ(r["results"].size(), 2u);
  EXPECT_EQ(r["results"][0]["status"], "accepted");
  EXPECT_EQ(r["results"][0]["event"]["columns"]["p_amount"], 1.5);
  EXPECT_EQ(r["results"][0]["event"]["source"], "app");
  EXPECT_EQ(r["results"][1]["status"], "rejected");
  EXPECT_EQ(r["results"][1]["reason"], R"(property "amount" must be at least 0, got int -1)");
  post(server, "nope", "/v1/validate", R"({"batch":[]})", 401);
  // A real event afterwards, to know the loader has caught up: nothing of the above is stored.
  post(server, "app-key", "/v1/track", R"({"userId":"u1","event":"level_up","properties":{"level":1}})");
  server.wait_for_int("SELECT count(*) FROM events", 1);
  server.wait_until_loaded();
  EXPECT_EQ(server.sql_int("SELECT count(*) FROM events"), 1);
  EXPECT_EQ(server.sql_int("SELECT count(*) FROM quarantine"), 0);
}

TEST_F(TrackingTest, ValidateCommandAndUpRefuseABadPlan) {
  auto ok = run_basalt({"validate", project().string(), "--data", data().string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("is valid"), std::string::npos) << ok.out;

  std::string bad = kPlan;
  bad.replace(bad.find("type: int, description: Level reached"), 9, "type: integer");
  bad.replace(bad.find("required: [level]"), 17, "required: [lvl]");
  write_project(project(), bad);
  auto v = run_basalt({"validate", project().string(), "--data", data().string()});
  EXPECT_EQ(v.exit_code, 2);
  EXPECT_NE(v.err.find("tracking/plan.yaml:4: "), std::string::npos) << v.err;
  EXPECT_NE(v.err.find("integer"), std::string::npos) << v.err;
  EXPECT_NE(v.err.find("tracking/plan.yaml:13: "), std::string::npos) << v.err;

  auto up = run_basalt({"up", project().string(), "--data", data().string(), "--ingest-port",
                        "0", "--api-port", "0"});
  EXPECT_EQ(up.exit_code, 2);
  EXPECT_NE(up.err.find("tracking/plan.yaml:4: "), std::string::npos) << up.err;
  EXPECT_NE(up.err.find("not starting"), std::string::npos) << up.err;
}

TEST_F(TrackingTest, BreakingChangesAgainstThePlanLastServed) {
  {
    BasaltServer server(project(), data());
    server.start();
    EXPECT_EQ(server.terminate(), 0);
  }
  std::string narrowed = kPlan;
  narrowed.replace(narrowed.find("name: amount, type: float"), 25, "name: amount, type: int");
  write_project(project(), narrowed);
  auto v = run_basalt({"validate", project().string(), "--data", data().string()});
  EXPECT_EQ(v.exit_code, 2) << v.out << v.err;
  EXPECT_NE(v.err.find("tracking/plan.yaml:2: "), std::string::npos) << v.err;
  EXPECT_NE(v.err.find("(breaking change)"), std::string::npos) << v.err;
  auto allowed =
      run_basalt({"validate", project().string(), "--data", data().string(), "--allow-breaking"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
}

TEST_F(TrackingTest, HotReloadAppliesAGoodPlanAndRefusesABadOne) {
  BasaltServer server(project(), data());
  server.start();
  const std::string bonus = R"({"userId":"u1","event":"bonus","properties":{"coins":5}})";
  json r = post(server, "app-key", "/v1/track", bonus);
  EXPECT_EQ(r["rejected"], 1);

  auto reload = [&] {
    return http_request(server.api_url(), "POST", "/api/v1/admin/reload", "",
                        {{"Authorization", "Bearer test-admin"}});
  };
  EXPECT_EQ(http_request(server.api_url(), "POST", "/api/v1/admin/reload", "").status, 401);

  // A good plan: the new event and its typed column.
  std::string more = kPlan;
  more.replace(more.find("events:\n"), 8,
               "  - {name: coins, type: int, description: Coins, owner: game}\nevents:\n"
               "  - {name: bonus, description: A bonus., owner: game, required: [coins]}\n");
  write_project(project(), more);
  auto good = reload();
  EXPECT_EQ(good.status, 200) << good.body;
  r = post(server, "app-key", "/v1/track", bonus);
  EXPECT_EQ(r, json::parse(R"({"success":true})"));
  server.wait_for_int("SELECT count(*) FROM events", 1);
  EXPECT_EQ(server.sql_int("SELECT sum(p_coins) FROM events"), 5);

  // A bad plan is refused with its errors; the running plan stays.
  std::string broken = more;
  broken.replace(broken.find("required: [coins]"), 17, "required: [coinz]");
  write_project(project(), broken);
  auto bad = reload();
  EXPECT_EQ(bad.status, 422) << bad.body;
  json body = json::parse(bad.body);
  ASSERT_FALSE(body["errors"].empty());
  EXPECT_NE(body["errors"][0].get<std::string>().find("tracking/plan.yaml:"), std::string::npos)
      << bad.body;
  EXPECT_NE(bad.body.find("coinz"), std::string::npos);
  r = post(server, "app-key", "/v1/track", bonus);
  EXPECT_EQ(r, json::parse(R"({"success":true})"));

  // SIGHUP re-reads the project too: back to the first plan, bonus is refused again.
  write_project(project(), kPlan);
  server.send_signal(SIGHUP);
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    r = post(server, "app-key", "/v1/track", bonus);
    refused = r.value("rejected", 0) == 1;
  }
  EXPECT_TRUE(refused) << server.log();

  // SIGHUP with a bad plan: refused (logged with its errors), the running plan stays.
  // (The admin API's refusal above logged the same words: count them.)
  auto refusals = [&] {
    const std::string log = server.log();
    size_t n = 0;
    for (size_t at = log.find("reload refused: the project has"); at != std::string::npos;
         at = log.find("reload refused: the project has", at + 1)) {
      ++n;
    }
    return n;
  };
  const size_t before = refusals();
  write_project(project(), broken);
  server.send_signal(SIGHUP);
  for (int i = 0; i < 200 && refusals() == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(refusals(), before + 1) << server.log();
  EXPECT_EQ(post(server, "app-key", "/v1/track", bonus)["rejected"], 1);
  EXPECT_EQ(server.terminate(), 0);
}

json api_get(const BasaltServer& s, const std::string& target) {
  auto r = http_request(s.api_url(), "GET", target, "", {{"Authorization", "Bearer test-admin"}});
  EXPECT_EQ(r.status, 200) << target << ": " << r.body;
  return json::parse(r.body, nullptr, false);
}

TEST_F(TrackingTest, DictionaryUndeclaredAndQuarantineApis) {
  BasaltServer server(project(), data());
  server.start();
  post(server, "app-key", "/v1/batch", R"({"batch":[
      {"type":"track","userId":"u1","event":"pay","properties":{"amount":2,"currency":"USD"}},
      {"type":"track","userId":"u2","event":"pay","properties":{"amount":3,"currency":"USD"}},
      {"type":"track","userId":"u3","event":"pay","properties":{"amount":4,"currency":"EUR"}},
      {"type":"track","userId":"u1","event":"pay","properties":{"amount":"x","currency":"EUR"}}]})");
  post(server, "web-key", "/v1/batch", R"({"batch":[
      {"type":"track","userId":"u1","event":"pay","properties":{"amount":"bad","currency":"USD","coupon":"SPRING"}},
      {"type":"track","userId":"u1","event":"tutorial_done","properties":{"step":3}},
      {"type":"track","userId":"u2","event":"pay","properties":{"amount":1}}]})");
  const auto sent_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  server.wait_for_int("SELECT count(*) FROM events", 6);
  server.wait_for_int("SELECT count(*) FROM quarantine", 1);

  json t = api_get(server, "/api/v1/tracking");
  ASSERT_TRUE(t["events"].is_array()) << t.dump();
  const json* pay = nullptr;
  for (const auto& e : t["events"]) {
    if (e["name"] == "pay") pay = &e;
  }
  ASSERT_NE(pay, nullptr);
  EXPECT_EQ((*pay)["owner"], "money");
  EXPECT_EQ((*pay)["stats"]["today"], 5);
  EXPECT_EQ((*pay)["stats"]["last_7_days"], 5);
  // Last seen: when the last pay was received (within a minute of sending it).
  ASSERT_TRUE((*pay)["stats"]["last_seen_us"].is_number()) << pay->dump();
  EXPECT_LT(std::abs((*pay)["stats"]["last_seen_us"].get<int64_t>() - sent_us), 60'000'000);
  const json& amount = (*pay)["properties"][0];
  EXPECT_EQ(amount["name"], "amount");
  EXPECT_EQ(amount["stats"]["present"], 4);
  EXPECT_DOUBLE_EQ(amount["stats"]["invalid_rate"].get<double>(), 0.2);  // the lenient "bad"
  EXPECT_DOUBLE_EQ(amount["stats"]["null_rate"].get<double>(), 0.0);
  const json& currency = (*pay)["properties"][1];
  EXPECT_DOUBLE_EQ(currency["stats"]["null_rate"].get<double>(), 0.2);  // the lenient "1"
  EXPECT_DOUBLE_EQ(currency["stats"]["invalid_rate"].get<double>(), 0.0);
  ASSERT_TRUE(currency["stats"].contains("top_values")) << currency.dump();
  EXPECT_EQ(currency["stats"]["top_values"][0], json::parse(R"({"value":"USD","count":3})"));
  EXPECT_EQ(t["sources"][0], json::parse(R"({"source":"app","mode":"strict"})"));

  json u = api_get(server, "/api/v1/tracking/undeclared");
  ASSERT_EQ(u["events"].size(), 1u) << u.dump();
  EXPECT_EQ(u["events"][0]["event"], "tutorial_done");
  EXPECT_EQ(u["events"][0]["sample_properties"][0], json::parse(R"({"step":3})"));
  ASSERT_EQ(u["properties"].size(), 1u) << u.dump();
  EXPECT_EQ(u["properties"][0]["property"], "coupon");
  EXPECT_EQ(u["properties"][0]["sample_values"][0], "SPRING");

  json q = api_get(server, "/api/v1/quarantine?source=app&reason=expected%20float&limit=10");
  ASSERT_EQ(q["events"].size(), 1u) << q.dump();
  EXPECT_EQ(q["events"][0]["reason"], R"(property "amount" expected float, got string "x")");
  EXPECT_EQ(json::parse(q["events"][0]["raw"].get<std::string>())["properties"]["amount"], "x");
  EXPECT_TRUE(api_get(server, "/api/v1/quarantine?source=web")["events"].empty());
  auto unauth = http_request(server.api_url(), "GET", "/api/v1/tracking");
  EXPECT_EQ(unauth.status, 401);
  auto bad_limit = http_request(server.api_url(), "GET", "/api/v1/quarantine?limit=0", "",
                                {{"Authorization", "Bearer test-admin"}});
  EXPECT_EQ(bad_limit.status, 400);
}

http::ClientResponse reload(const BasaltServer& s) {
  return http_request(s.api_url(), "POST", "/api/v1/admin/reload", "",
                      {{"Authorization", "Bearer test-admin"}});
}

// `basalt quarantine replay` of everything, as JSON.
json replay_all(const BasaltServer& s) {
  auto r = run_basalt({"quarantine", "replay", "--since", "2000-01-01", "--api", s.api_url(),
                       "--format", "json"},
                      {"BASALT_TOKEN=test-admin"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out, nullptr, false);
}

TEST_F(TrackingTest, ReplayAfterThePlanIsFixedStoresEachEventOnce) {
  BasaltServer server(project(), data());
  server.start();
  post(server, "app-key", "/v1/batch", R"({"batch":[
      {"type":"track","userId":"u1","event":"bonus","properties":{"coins":5}},
      {"type":"track","userId":"u1","event":"bonus","properties":{"coins":7},"messageId":"b-7"},
      {"type":"track","userId":"u1","event":"lvl_up","properties":{"level":2}}]})");
  post(server, "app-key", "/v1/track", R"({"userId":"u2","event":"bonus","properties":{"coins":1}})");
  server.wait_for_int("SELECT count(*) FROM quarantine", 4);

  std::string fixed = kPlan;
  fixed.replace(fixed.find("events:\n"), 8,
                "  - {name: coins, type: int, description: Coins, owner: game}\nevents:\n"
                "  - {name: bonus, description: A bonus., owner: game, required: [coins]}\n");
  write_project(project(), fixed);
  ASSERT_EQ(reload(server).status, 200);
  auto replay = [&] { return replay_all(server); };
  json first = replay();
  EXPECT_EQ(first["replayed"], 3) << first.dump();
  EXPECT_EQ(first["still_refused"], 1);  // lvl_up is still not in the plan
  server.wait_for_int("SELECT count(*) FROM events", 3);
  json second = replay();
  EXPECT_EQ(second["replayed"], 0) << second.dump();
  EXPECT_EQ(second["still_refused"], 1);
  server.wait_until_loaded();
  EXPECT_EQ(server.sql_int("SELECT count(*) FROM events"), 3);
  EXPECT_EQ(server.sql_int("SELECT sum(p_coins) FROM events"), 13);
  EXPECT_EQ(server.sql_int("SELECT count(*) FROM events WHERE message_id = 'b-7'"), 1);
  EXPECT_EQ(server.sql_int("SELECT count(*) FROM quarantine_replays"), 3);
  EXPECT_EQ(server.sql_int("SELECT count(*) FROM quarantine"), 4);  // nothing new refused
}

TEST_F(TrackingTest, ReplayOfAFannedOutEventStoresEachOfItsEventsOnce) {
  // The transform fails on "bundle" at first: the event is quarantined whole.
  fs::create_directories(project() / "transforms");
  std::ofstream(project() / "transforms" / "app.lua")
      << "function transform(e)\n"
         "  if e.event == 'bundle' then error('bundles are not supported yet') end\n"
         "  return e\n"
         "end\n";
  BasaltServer server(project(), data());
  server.start();
  json r = post(server, "app-key", "/v1/track",
                R"({"userId":"u1","event":"bundle","properties":{"levels":[3,4,5]}})");
  EXPECT_EQ(r["rejected"], 1) << r.dump();
  server.wait_for_int("SELECT count(*) FROM quarantine", 1);

  // Fixed: a bundle fans out into one level_up per level (none has a messageId).
  std::ofstream(project() / "transforms" / "app.lua")
      << "function transform(e)\n"
         "  if e.event ~= 'bundle' then return e end\n"
         "  local out = {}\n"
         "  for i, level in ipairs(e.properties.levels) do\n"
         "    out[i] = {type = 'track', userId = e.userId, event = 'level_up',\n"
         "              properties = {level = level}}\n"
         "  end\n"
         "  return out\n"
         "end\n";
  ASSERT_EQ(reload(server).status, 200);
  auto replay = [&] { return replay_all(server); };
  json first = replay();
  EXPECT_EQ(first["replayed"], 1) << first.dump();
  server.wait_for_int("SELECT count(*) FROM events", 3);
  EXPECT_EQ(replay()["replayed"], 0);
  server.wait_until_loaded();
  // Each fanned-out event is stored once, under its own stable messageId.
  std::string id = sql_csv(server, "SELECT quarantine_id FROM quarantine");
  id = id.substr(id.find('\n') + 1);
  id.pop_back();  // the line's end
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(sql_csv(server, "SELECT p_level, message_id FROM events ORDER BY p_level"),
            "p_level,message_id\n3,replay-" + id + "\n4,replay-" + id + "-1\n5,replay-" + id +
                "-2\n");
}

TEST_F(TrackingTest, TransformsRunBeforeThePlanAndUserAgentsAreParsed) {
  fs::create_directories(project() / "transforms");
  std::ofstream(project() / "transforms" / "app.lua")
      << "function transform(e)\n"
         "  if e.event == 'debug' then return nil end\n"
         "  if e.event == 'explode' then error('cannot explode') end\n"
         "  if e.properties and type(e.properties.currency) == 'string' then\n"
         "    e.properties.currency = e.properties.currency:upper()\n"
         "  end\n"
         "  return e\n"
         "end\n";
  BasaltServer server(project(), data());
  server.start();
  const std::string chrome =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36";
  auto r = http_request(server.ingest_url(), "POST", "/v1/batch", R"({"batch":[
      {"type":"track","userId":"u1","event":"pay","properties":{"amount":1,"currency":"usd"}},
      {"type":"track","userId":"u1","event":"debug"},
      {"type":"track","userId":"u1","event":"explode"}]})",
                        {{"Authorization", basic_auth("app-key")}, {"User-Agent", chrome}});
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["accepted"], 1) << r.body;
  ASSERT_EQ(body["errors"].size(), 1u);
  EXPECT_NE(body["errors"][0]["reason"].get<std::string>().find("cannot explode"),
            std::string::npos)
      << r.body;
  server.wait_for_int("SELECT count(*) FROM events", 1);
  EXPECT_EQ(sql_csv(server, "SELECT p_currency, browser, os_family FROM events"),
            "p_currency,browser,os_family\nUSD,Chrome,Windows\n");
  server.wait_for_int("SELECT count(*) FROM quarantine", 1);

  // validate reports a broken transform as file:line.
  std::ofstream(project() / "transforms" / "app.lua") << "function transform(e)\n  return e\n";
  auto v = run_basalt({"validate", project().string(), "--data", data().string()});
  EXPECT_EQ(v.exit_code, 2);
  EXPECT_NE(v.err.find("app.lua:"), std::string::npos) << v.err;
}

}  // namespace
}  // namespace basalt::testing
