// A collector node (`basalt collect`) with the real binary and a real redis-server as its stream
// sink: it enforces the tracking plan per source (strict, lenient, off) with the reasons in the
// per-event errors, runs the Lua transforms, enriches user agents and GeoIP (in the forwarded
// records and POST /v1/validate), keeps every refused event in DATA_DIR/quarantine.jsonl (it has no
// warehouse), refuses an invalid project, and reloads the project on SIGHUP (a good plan is
// served, a bad one refused while the running one stays; the quarantine file is reopened).

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <thread>

#include "integration/basalt_process.h"
#include "support/redis_server.h"
#include "support/server_process.h"

namespace basalt::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

constexpr const char* kPlan = R"(properties:
  - {name: amount, type: float, description: Paid amount, owner: money, min: 0}
  - {name: currency, type: string, description: ISO code, owner: money, allowed: [USD, EUR]}
  - {name: level, type: int, description: Level reached, owner: game}
events:
  - {name: pay, description: The player paid., owner: money, required: [amount, currency]}
  - {name: level_up, description: A new level., owner: game, required: [level]}
enforcement:
  default: lenient
  sources:
    app: strict
    web: lenient
    raw: "off"
)";

constexpr const char* kTransform =
    "function transform(e)\n"
    "  if e.event == 'debug' then return nil end\n"
    "  if e.event == 'explode' then error('cannot explode') end\n"
    "  if e.properties and type(e.properties.currency) == 'string' then\n"
    "    e.properties.currency = e.properties.currency:upper()\n"
    "  end\n"
    "  return e\n"
    "end\n";

const std::string kChrome =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36";

class CollectNodeTest : public ::testing::Test {
 protected:
  CollectNodeTest() {
    fs::create_directories(project() / "tracking");
    fs::create_directories(project() / "transforms");
    std::ofstream(project() / "basalt.yaml")
        << "project: collected\n"
           "sources:\n"
           "  - {name: app, write_key: app-key}\n"
           "  - {name: web, write_key: web-key}\n"
           "  - {name: raw, write_key: raw-key}\n"
           "ingest: {trusted_proxies: [\"127.0.0.1\"]}\n"
           "enrich: {geoip_database: geo/test.mmdb}\n"
           "sinks:\n"
           "  - {name: redis, type: redis, url: \""
        << redis_.url() << "\", stream: \"ev:{source}\"}\n";
    std::ofstream(project() / "tracking" / "plan.yaml") << kPlan;
    std::ofstream(project() / "transforms" / "app.lua") << kTransform;
    fs::create_directories(project() / "geo");
    const std::string command = "perl '" BASALT_ENRICH_TEST_DIR "/make_test_mmdb.pl' '" +
                                (project() / "geo" / "test.mmdb").string() + "'";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  }

  fs::path project() const { return dir_.path() / "project"; }
  fs::path data() const { return dir_.path() / "data"; }
  fs::path log_path() const { return dir_.path() / "collect.log"; }
  std::string log() const { return read_all(log_path()); }

  // Starts `basalt collect` and returns its ingest URL ("" when it did not start).
  std::string start() {
    const size_t offset = log().size();  // the log is appended to across restarts
    collector_.start({basalt_binary().string(), "collect", project().string(), "--data",
                      data().string(), "--ingest-port", "0"},
                     log_path());
    int port = 0;
    wait_until(
        [&] {
          std::smatch m;
          std::string text = log().substr(offset);
          if (std::regex_search(text, m, std::regex("ingest listening on http://[0-9.]+:([0-9]+)")))
            port = std::stoi(m[1]);
          return port != 0;
        },
        60s);
    return port ? "http://127.0.0.1:" + std::to_string(port) : "";
  }

  json post(const std::string& url, const std::string& key, const std::string& path,
            const std::string& body,
            std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Authorization", basic_auth(key));
    auto r = http_request(url, "POST", path, body, headers);
    EXPECT_EQ(r.status, 200) << r.body << "\n" << log();
    return json::parse(r.body, nullptr, false);
  }

  // The records forwarded to the Redis stream of `source`, as JSON.
  std::vector<json> forwarded(const std::string& source) {
    std::vector<json> out;
    for (const auto& line : redis_.command({"XRANGE", "ev:" + source, "-", "+"})) {
      if (!line.empty() && line.front() == '{') out.push_back(json::parse(line));
    }
    return out;
  }

  // The lines of the quarantine file (a line torn by a kill -9 is skipped, as readers do).
  std::vector<json> quarantined() {
    std::vector<json> out;
    std::ifstream in(data() / "quarantine.jsonl");
    for (std::string line; std::getline(in, line);) {
      json j = json::parse(line, nullptr, false);
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
  }

  RedisServer redis_;
  TempDir dir_;
  ChildProcess collector_;
};

TEST_F(CollectNodeTest, EnforcesThePlanRunsTransformsAndKeepsWhatItRefuses) {
  const std::string url = start();
  ASSERT_FALSE(url.empty()) << log();
  EXPECT_NE(log().find("refused events kept in"), std::string::npos) << log();
  EXPECT_NE(log().find("stream sink redis"), std::string::npos) << log();

  // strict: undeclared events and bad values are refused with their reason; the transform
  // ran first (currency upper-cased, "debug" dropped, "explode" failing).
  json r = post(url, "app-key", "/v1/batch", R"({"batch":[
      {"type":"track","userId":"u1","event":"pay","properties":{"amount":4.5,"currency":"usd"}},
      {"type":"track","userId":"u1","event":"pay","properties":{"amount":"abc","currency":"USD"}},
      {"type":"track","userId":"u1","event":"lvl_up","properties":{"level":2}},
      {"type":"track","userId":"u1","event":"debug"},
      {"type":"track","userId":"u1","event":"explode"}]})",
                {{"User-Agent", kChrome}, {"X-Forwarded-For", "198.51.100.7"}});
  EXPECT_EQ(r["accepted"], 1) << r.dump();
  EXPECT_EQ(r["rejected"], 3) << r.dump();
  ASSERT_EQ(r["errors"].size(), 3u) << r.dump();
  EXPECT_EQ(r["errors"][0]["index"], 1);
  EXPECT_EQ(r["errors"][0]["reason"], R"(property "amount" expected float, got string "abc")");
  EXPECT_EQ(r["errors"][1]["reason"],
            R"(event "lvl_up" is not in the tracking plan (did you mean "level_up"?))");
  EXPECT_NE(r["errors"][2]["reason"].get<std::string>().find("cannot explode"),
            std::string::npos);
  // lenient: accepted with a warning; off: anything goes.
  r = post(url, "web-key", "/v1/track", R"({"userId":"w1","event":"wander","properties":{"x":1}})");
  EXPECT_EQ(r["accepted"], 1) << r.dump();
  EXPECT_EQ(r["warnings"].size(), 1u) << r.dump();
  r = post(url, "raw-key", "/v1/track", R"({"userId":"r1","event":"anything"})");
  EXPECT_EQ(r, json::parse(R"({"success":true})"));

  // The sinks received what was accepted, transformed.
  ASSERT_TRUE(wait_until([&] { return forwarded("app").size() == 1; }, 30s)) << log();
  json pay = forwarded("app")[0];
  EXPECT_EQ(pay["event"], "pay");
  EXPECT_EQ(pay["properties"]["currency"], "USD");
  // ...and enriched at collection, so a loader stores what the collector saw.
  EXPECT_EQ(pay["browser"], "Chrome") << pay.dump();
  EXPECT_EQ(pay["os_family"], "Windows");
  EXPECT_EQ(pay["ip"], "198.51.100.7");
  EXPECT_EQ(pay["country"], "DE");
  EXPECT_EQ(pay["city"], "Munich");
  EXPECT_TRUE(wait_until([&] { return forwarded("web").size() == 1; }, 30s));
  EXPECT_TRUE(wait_until([&] { return forwarded("raw").size() == 1; }, 30s));

  // Every refused event is in the quarantine file, whole, with its reason.
  ASSERT_TRUE(wait_until([&] { return quarantined().size() == 3; }, 30s)) << log();
  std::vector<json> q = quarantined();
  EXPECT_EQ(q[0]["source"], "app");
  EXPECT_EQ(q[0]["reason"], R"(property "amount" expected float, got string "abc")");
  EXPECT_NE(q[0]["raw"].get<std::string>().find(R"("amount":"abc")"), std::string::npos);
  EXPECT_EQ(q[1]["reason"],
            R"(event "lvl_up" is not in the tracking plan (did you mean "level_up"?))");
  EXPECT_FALSE(q[2]["quarantine_id"].get<std::string>().empty());
  EXPECT_NE(q[0]["quarantine_id"], q[1]["quarantine_id"]);

  // /v1/validate on the collector: the enriched event (user agent, GeoIP through the trusted
  // proxy's X-Forwarded-For), nothing written.
  r = post(url, "app-key", "/v1/validate",
           R"({"batch":[{"type":"track","userId":"u9","event":"pay",)"
           R"("properties":{"amount":1,"currency":"eur"}}]})",
           {{"User-Agent", kChrome}, {"X-Forwarded-For", "203.0.113.7"}});
  ASSERT_EQ(r["results"].size(), 1u) << r.dump();
  json e = r["results"][0]["event"];
  EXPECT_EQ(e["browser"], "Chrome") << r.dump();
  EXPECT_EQ(e["osFamily"], "Windows");
  EXPECT_EQ(e["country"], "US");
  EXPECT_EQ(e["region"], "California");
  EXPECT_EQ(e["city"], "San Francisco");
  EXPECT_EQ(e["properties"]["currency"], "EUR");
  EXPECT_EQ(e["columns"]["p_amount"], 1.0);

  // A clean stop writes out what the WAL holds; a restart writes nothing twice.
  EXPECT_EQ(collector_.terminate(), 0) << log();
  EXPECT_EQ(quarantined().size(), 3u);
  std::string again = start();
  ASSERT_FALSE(again.empty()) << log();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(quarantined().size(), 3u);
  EXPECT_EQ(forwarded("app").size(), 1u);

  // A refused event acknowledged just before a kill -9 is written after the restart: it was
  // in the WAL, and the journal's offset had not passed it.
  r = post(again, "app-key", "/v1/track", R"({"userId":"u2","event":"lvl_up"})");
  EXPECT_EQ(r["rejected"], 1) << r.dump();
  collector_.kill9();
  ASSERT_FALSE(start().empty()) << log();
  ASSERT_TRUE(wait_until([&] { return quarantined().size() >= 4; }, 30s)) << log();
  // (As the transform returned it, naming its type.)
  EXPECT_EQ(json::parse(quarantined().back()["raw"].get<std::string>()),
            json::parse(R"({"type":"track","userId":"u2","event":"lvl_up"})"));
  EXPECT_EQ(collector_.terminate(), 0) << log();
}

TEST_F(CollectNodeTest, SighupReloadsAGoodPlanAndRefusesABadOne) {
  const std::string url = start();
  ASSERT_FALSE(url.empty()) << log();
  const std::string bonus = R"({"userId":"u1","event":"bonus","properties":{"coins":3}})";
  EXPECT_EQ(post(url, "app-key", "/v1/track", bonus)["rejected"], 1);
  // The quarantine file is rotated: moved away, then SIGHUP (with the reload below).
  ASSERT_TRUE(wait_until([&] { return quarantined().size() == 1; }, 30s)) << log();
  fs::rename(data() / "quarantine.jsonl", data() / "quarantine.jsonl.1");

  // A good plan: bonus declared.
  std::string fixed = kPlan;
  fixed.replace(fixed.find("events:\n"), 8,
                "  - {name: coins, type: int, description: Coins, owner: game}\nevents:\n"
                "  - {name: bonus, description: A bonus., owner: game, required: [coins]}\n");
  std::ofstream(project() / "tracking" / "plan.yaml") << fixed;
  ::kill(collector_.pid(), SIGHUP);
  EXPECT_TRUE(wait_until(
      [&] {
        auto r = http_request(url, "POST", "/v1/track", bonus,
                              {{"Authorization", basic_auth("app-key")}});
        return r.status == 200 && r.body == R"({"success":true})";
      },
      30s))
      << log();

  // A bad plan: refused with its errors, the running plan stays.
  std::string broken = fixed;
  broken.replace(broken.find("required: [coins]"), 17, "required: [coinz]");
  std::ofstream(project() / "tracking" / "plan.yaml") << broken;
  ::kill(collector_.pid(), SIGHUP);
  EXPECT_TRUE(wait_until([&] { return log().find("reload refused") != std::string::npos; }, 30s))
      << log();
  EXPECT_NE(log().find("coinz"), std::string::npos) << log();
  EXPECT_EQ(post(url, "app-key", "/v1/track", bonus), json::parse(R"({"success":true})"));

  // What is refused after the rotation is in the new file; the old one keeps its lines. (The
  // bonus events sent while the first reload ran were refused too, into either file.)
  EXPECT_EQ(post(url, "app-key", "/v1/track", R"({"userId":"u1","event":"lvl_up"})")["rejected"],
            1);
  auto has_lvl_up = [](const std::string& text) {
    return text.find("lvl_up") != std::string::npos;
  };
  EXPECT_TRUE(wait_until([&] { return has_lvl_up(read_all(data() / "quarantine.jsonl")); }, 30s))
      << log();
  const std::string old = read_all(data() / "quarantine.jsonl.1");
  EXPECT_FALSE(has_lvl_up(old)) << old;
  EXPECT_NE(old.find("bonus"), std::string::npos) << old;
  EXPECT_EQ(collector_.terminate(), 0) << log();
}

// `basalt quarantine list|replay --data DIR` on a collector's folder: the list from its
// quarantine.jsonl; a replay (the collector stopped, its folder locked meanwhile) through the
// project's current plan and transforms into the WAL, whose events the collector forwards at
// its next start; a replayed event is recorded and never replayed again.
TEST_F(CollectNodeTest, QuarantineListAndReplayOnTheDataFolder) {
  const std::string url = start();
  ASSERT_FALSE(url.empty()) << log();
  json r = post(url, "app-key", "/v1/batch", R"({"batch":[
      {"type":"track","userId":"u1","event":"bonus","properties":{"coins":3}},
      {"type":"track","userId":"u1","event":"pay","properties":{"amount":"abc","currency":"USD"}}]})");
  EXPECT_EQ(r["rejected"], 2) << r.dump();
  r = post(url, "web-key", "/v1/track",
           R"({"userId":"w1","event":"pay","properties":{"amount":-1}})");
  ASSERT_TRUE(wait_until([&] { return quarantined().size() == 2; }, 30s)) << log();
  std::this_thread::sleep_for(300ms);  // a lenient source's event is not quarantined
  ASSERT_EQ(quarantined().size(), 2u);
  const std::string dir = data().string();

  // list: newest first, filters, the console API's shape; no server is asked.
  auto listed = run_basalt({"quarantine", "list", "--data", dir, "--format", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  json events = json::parse(listed.out)["events"];
  ASSERT_EQ(events.size(), 2u) << listed.out;
  for (const auto& e : events) {
    EXPECT_EQ(e["source"], "app");
    EXPECT_FALSE(e["quarantine_id"].get<std::string>().empty());
    EXPECT_TRUE(e["replayed_at_us"].is_null());
    EXPECT_TRUE(e["call_type"].is_null());  // batch items
  }
  EXPECT_GE(events[0]["received_at_us"].get<int64_t>(), events[1]["received_at_us"].get<int64_t>());
  listed = run_basalt({"quarantine", "list", "--data", dir, "--reason", "EXPECTED FLOAT"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("amount"), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find("bonus"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("(1 events)"), std::string::npos) << listed.out;

  // replay needs the collector stopped: its folder is locked while it runs.
  auto replayed = run_basalt({"quarantine", "replay", "--data", dir, "--project",
                              project().string(), "--since", "2000-01-01"});
  EXPECT_NE(replayed.exit_code, 0) << replayed.out;
  EXPECT_NE(replayed.err.find("stop the collector"), std::string::npos) << replayed.err;
  // A dry run only reads the files.
  replayed = run_basalt(
      {"quarantine", "replay", "--data", dir, "--since", "1h", "--dry-run", "--format", "json"});
  ASSERT_EQ(replayed.exit_code, 0) << replayed.err;
  EXPECT_EQ(json::parse(replayed.out)["results"].size(), 2u) << replayed.out;
  EXPECT_EQ(collector_.terminate(), 0) << log();

  // The plan now declares "bonus": that event passes, the bad amount still does not.
  std::string fixed = kPlan;
  fixed.replace(fixed.find("events:\n"), 8,
                "  - {name: coins, type: int, description: Coins, owner: game}\nevents:\n"
                "  - {name: bonus, description: A bonus., owner: game, required: [coins]}\n");
  std::ofstream(project() / "tracking" / "plan.yaml") << fixed;
  replayed = run_basalt({"quarantine", "replay", "--data", dir, "--project", project().string(),
                         "--since", "2000-01-01", "--format", "json"});
  ASSERT_EQ(replayed.exit_code, 0) << replayed.err;
  json out = json::parse(replayed.out);
  EXPECT_EQ(out["replayed"], 1) << replayed.out;
  EXPECT_EQ(out["events_stored"], 1) << replayed.out;
  EXPECT_EQ(out["still_refused"], 1) << replayed.out;
  // Nothing is replayed twice; the list shows when it was.
  replayed = run_basalt({"quarantine", "replay", "--data", dir, "--project", project().string(),
                         "--since", "2000-01-01", "--format", "json"});
  ASSERT_EQ(replayed.exit_code, 0) << replayed.err;
  EXPECT_EQ(json::parse(replayed.out)["replayed"], 0) << replayed.out;
  EXPECT_EQ(json::parse(replayed.out)["still_refused"], 1) << replayed.out;
  listed = run_basalt({"quarantine", "list", "--data", dir, "--format", "json"});
  int replayed_rows = 0;
  const json after = json::parse(listed.out);
  for (const auto& e : after["events"]) replayed_rows += e["replayed_at_us"].is_number() ? 1 : 0;
  EXPECT_EQ(replayed_rows, 1) << listed.out;
  EXPECT_EQ(quarantined().size(), 2u);  // a replay refusing again writes no new line

  // The collector forwards the replayed event from its WAL at its next start.
  ASSERT_FALSE(start().empty()) << log();
  ASSERT_TRUE(wait_until([&] { return forwarded("app").size() == 1; }, 30s)) << log();
  json bonus = forwarded("app")[0];
  EXPECT_EQ(bonus["event"], "bonus") << bonus.dump();
  EXPECT_EQ(collector_.terminate(), 0) << log();
}

TEST_F(CollectNodeTest, RefusesAnInvalidProjectAsUpDoes) {
  std::ofstream(project() / "tracking" / "plan.yaml")
      << "events:\n  - {name: pay, description: Paid., owner: money, required: [amount]}\n";
  auto r = run_basalt({"collect", project().string(), "--data", data().string(),
                       "--ingest-port", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("plan.yaml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not starting"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace basalt::testing
