// End to end across node roles: `basalt collect` → Kafka (librdkafka's mock cluster, hosted by
// this test process, whose bootstrap servers both basalt processes are given) → `basalt load`
// → ClickHouse (a real clickhouse-server) → the console API of `basalt up` on that ClickHouse.
// Every event the collector acknowledged is counted once in the warehouse.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <regex>
#include <thread>

#include "basalt_process.h"
#include "support/clickhouse_server.h"
#include "support/mock_kafka.h"
#include "support/server_process.h"

namespace basalt::testing {
namespace {

using namespace std::chrono_literals;

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Waits for "<marker>http://127.0.0.1:<port>" in the log and returns the port.
int wait_for_port(const std::filesystem::path& log, const std::string& marker) {
  int port = 0;
  wait_until(
      [&] {
        std::smatch m;
        std::string text = read_all(log);
        if (std::regex_search(text, m, std::regex(marker + " http://[0-9.]+:([0-9]+)"))) {
          port = std::stoi(m[1]);
        }
        return port != 0;
      },
      60s);
  return port;
}

// Sets environment variables for the basalt processes this test starts; unsets them after.
class ScopedEnv {
 public:
  void set(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), 1);
    names_.push_back(name);
  }
  ~ScopedEnv() {
    for (const auto& n : names_) ::unsetenv(n.c_str());
  }

 private:
  std::vector<std::string> names_;
};

TEST(Cluster, CollectToKafkaToLoadToClickHouseCountsWhatWasAcknowledged) {
  ClickHouseServer clickhouse;
  MockKafka kafka;
  kafka.create_topic("basalt-events");
  TempDir dir;
  std::filesystem::path project = dir.path() / "project";
  std::filesystem::create_directories(project);
  std::ofstream(project / "basalt.yaml") << BasaltServer::default_yaml();
  // A tracking plan: the loader node fills its typed columns from the values the collector
  // validated, carried in the stream records.
  std::filesystem::create_directories(project / "tracking");
  std::ofstream(project / "tracking" / "plan.yaml")
      << "properties:\n"
         "  - {name: n, type: int, description: the event's number, owner: tests}\n"
         "events:\n"
         "  - {name: level_up, description: a level, owner: tests, optional: [n]}\n"
         "user_attributes:\n"
         "  - {name: coins, type: int, description: coins, owner: tests, merge: increment}\n";
  // A model, so the console answers /api/v1/query from the same tables.
  std::filesystem::create_directories(project / "models");
  std::ofstream(project / "models" / "events.yaml")
      << "model: events\ntable: events\ntime: timestamp\nmeasures:\n"
         "  - {name: events, agg: count}\n"
         "  - {name: total_n, agg: sum, column: p_n}\n";

  std::string binary = basalt_binary().string();
  std::string warehouse_url =
      "clickhouse://default@127.0.0.1:" + std::to_string(clickhouse.http_port()) + "/e2e";
  ScopedEnv env;
  env.set("BASALT_KAFKA_BROKERS", kafka.bootstraps());
  env.set("BASALT_KAFKA_TOPIC", "basalt-events");
  env.set("BASALT_WAREHOUSE_URL", warehouse_url);

  ChildProcess collector, loader;
  std::filesystem::path collect_log = dir.path() / "collect.log";
  std::filesystem::path load_log = dir.path() / "load.log";
  collector.start({binary, "collect", project.string(), "--data", (dir.path() / "c1").string(),
                   "--ingest-port", "0"},
                  collect_log);
  loader.start({binary, "load", project.string(), "--from", "kafka", "--port", "0"}, load_log);
  int ingest_port = wait_for_port(collect_log, "ingest listening on");
  ASSERT_GT(ingest_port, 0) << read_all(collect_log);
  ASSERT_GT(wait_for_port(load_log, "metrics listening on"), 0) << read_all(load_log);
  // The loader node added the plan's typed columns before loading (the console is not up
  // yet); it fills them from the values the collector validated (stream records' "typed").
  auto columns = http_request(
      clickhouse.url(), "POST", "/",
      "SELECT name, type FROM system.columns WHERE database = 'e2e' AND name IN ('p_n', "
      "'a_coins') ORDER BY name FORMAT TabSeparated");
  EXPECT_EQ(columns.body, "a_coins\tNullable(Int64)\np_n\tNullable(Int64)\n") << read_all(load_log);
  EXPECT_NE(read_all(collect_log).find("stream sink kafka: kafka " + kafka.bootstraps()),
            std::string::npos)
      << read_all(collect_log);
  std::string ingest = "http://127.0.0.1:" + std::to_string(ingest_port);

  // Events from 20 users in batches; only what was answered 200 counts.
  int64_t acknowledged = 0;
  for (int b = 0; b < 30; ++b) {
    std::string body = R"({"batch":[)";
    for (int i = 0; i < 50; ++i) {
      int n = b * 50 + i;
      if (i) body += ",";
      body += R"({"type":"track","event":"level_up","userId":"u)" + std::to_string(n % 20) +
              R"(","messageId":"m-)" + std::to_string(n) + R"(","properties":{"n":)" +
              std::to_string(n) + "}}";
    }
    body += "]}";
    auto r = http_request(
        ingest, "POST", "/v1/batch", body,
        {{"Authorization", basic_auth("test-key")}, {"Content-Type", "application/json"}});
    if (r.status == 200) acknowledged += 50;
  }
  // Each user earns coins twice (an increment attribute).
  for (int round = 0; round < 2; ++round) {
    std::string body = R"({"batch":[)";
    for (int u = 0; u < 20; ++u) {
      if (u) body += ",";
      body += R"({"type":"identify","userId":"u)" + std::to_string(u) + R"(","messageId":"i-)" +
              std::to_string(round) + "-" + std::to_string(u) + R"(","traits":{"coins":)" +
              std::to_string(u + 1) + "}}";
    }
    body += "]}";
    auto r = http_request(
        ingest, "POST", "/v1/batch", body,
        {{"Authorization", basic_auth("test-key")}, {"Content-Type", "application/json"}});
    if (r.status == 200) acknowledged += 20;
  }
  EXPECT_EQ(acknowledged, 1540);
  auto ready = http_request(ingest, "GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_NE(ready.body.find(R"("name":"kafka")"), std::string::npos) << ready.body;

  // The console on the same ClickHouse answers the count.
  ::unsetenv("BASALT_KAFKA_BROKERS");
  BasaltServer console(dir.path() / "project", dir.path() / "console");
  console.start();
  EXPECT_NE(console.log().find("warehouse clickhouse"), std::string::npos) << console.log();
  int64_t stored = console.wait_for_int("SELECT count() FROM events", acknowledged, 90s);
  EXPECT_EQ(stored, acknowledged) << read_all(load_log);
  EXPECT_EQ(console.sql_int("SELECT uniqExact(message_id) FROM events"), acknowledged);
  // ClickHouse has no transactions: a batch's users rows land in their own insert after its
  // events, so they are waited for too.
  EXPECT_EQ(console.wait_for_int("SELECT count() FROM users FINAL", 20, 30s), 20);
  // Typed columns hold the validated values: n = 0..1499 once each, and each user's coins
  // incremented twice by u + 1.
  EXPECT_EQ(console.sql_int("SELECT sum(p_n) FROM events"), 1499 * 1500 / 2);
  EXPECT_EQ(console.wait_for_int("SELECT sum(a_coins) FROM users FINAL", 2 * 210, 30s), 2 * 210)
      << read_all(load_log);
  // The metrics layer on the loaded ClickHouse tables says the same (identify calls are rows
  // of events too).
  auto q =
      http_request(console.api_url(), "POST", "/api/v1/query",
                   R"({"model":"events","metrics":["events","total_n"],)"
                   R"("time":{"range":"last_7_days"}})",
                   {{"Authorization", "Bearer test-admin"}, {"Content-Type", "application/json"}});
  ASSERT_EQ(q.status, 200) << q.body;
  EXPECT_NE(
      q.body.find("[" + std::to_string(acknowledged) + "," + std::to_string(1499 * 1500 / 2) + "]"),
      std::string::npos)
      << q.body;

  // Stopping cleanly.
  EXPECT_EQ(collector.terminate(), 0) << read_all(collect_log);
  EXPECT_EQ(loader.terminate(), 0) << read_all(load_log);
  console.terminate();
}

TEST(Cluster, ADeadBlockSinkPastTheDiskBudgetMakesIngestAnswer503) {
  TempDir dir;
  std::filesystem::path project = dir.path() / "project";
  std::filesystem::create_directories(project);
  int dead_port = free_port();  // nothing listens there
  std::ofstream(project / "basalt.yaml")
      << BasaltServer::default_yaml() << "wal: {segment_size: 64KB, disk_budget: 256KB}\n"
      << "sinks: [{type: redis, url: 'redis://127.0.0.1:" << dead_port << "/0'}]\n";
  BasaltServer server(project, dir.path() / "data");
  server.start();
  EXPECT_NE(
      server.log().find("stream sink redis: redis redis://127.0.0.1:" + std::to_string(dead_port)),
      std::string::npos)
      << server.log();
  std::string body = R"({"batch":[)";
  for (int i = 0; i < 90; ++i) {
    if (i) body += ",";
    body += R"({"type":"track","event":"e","userId":"u","properties":{"pad":")" +
            std::string(1000, 'x') + R"("}})";
  }
  body += "]}";
  http::ClientResponse refused;
  int accepted = 0;
  for (int i = 0; i < 200; ++i) {
    auto r = http_request(server.ingest_url(), "POST", "/v1/batch", body,
                          {{"Authorization", basic_auth("test-key")}});
    if (r.status == 200) {
      ++accepted;
      continue;
    }
    refused = r;
    break;
  }
  ASSERT_EQ(refused.status, 503) << "never refused after " << accepted << " batches";
  EXPECT_GT(accepted, 0);
  EXPECT_EQ(refused.header("Retry-After"), "1");
  EXPECT_NE(refused.body.find("disk budget"), std::string::npos) << refused.body;
  auto ready = http_request(server.ingest_url(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << "a lagging sink does not make the node unready";
  EXPECT_NE(ready.body.find(R"("connected":false)"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("cannot connect to redis"), std::string::npos) << ready.body;
  auto metrics = http_request(server.ingest_url(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("basalt_sink_lag_events{sink=\"redis\"}"), std::string::npos);
  // Every acknowledged event is in the warehouse: the loader is not held up by the sink.
  EXPECT_EQ(server.wait_for_int("SELECT count(*) FROM events", accepted * 90), accepted * 90);
  server.terminate();
}

TEST(Cluster, CollectRefusesToRunWithoutASink) {
  TempDir dir;
  std::filesystem::path project = dir.path() / "project";
  std::filesystem::create_directories(project);
  std::ofstream(project / "basalt.yaml") << BasaltServer::default_yaml();
  auto r = run_basalt({"collect", project.string(), "--data", (dir.path() / "d").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("needs at least one stream sink"), std::string::npos) << r.err;
  auto l = run_basalt({"load", project.string(), "--from", "files"});
  EXPECT_EQ(l.exit_code, 2);
  EXPECT_NE(l.err.find("--from files is not supported"), std::string::npos) << l.err;
}

}  // namespace
}  // namespace basalt::testing
