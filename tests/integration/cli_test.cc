// The `basalt` command line: version, help, sql through the server and on the file, shutdown.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "integration/basalt_process.h"

namespace basalt::testing {
namespace {

using nlohmann::json;

TEST(CliTest, VersionAndHelp) {
  auto r = run_basalt({"version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("basalt 0."), std::string::npos) << r.out;
  r = run_basalt({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* sub : {"up", "sql", "gen", "version"}) {
    EXPECT_NE(r.out.find(sub), std::string::npos) << "help does not mention " << sub;
  }
  r = run_basalt({"bogus"});
  EXPECT_NE(r.exit_code, 0);
}

TEST(CliTest, UpRefusesABadProject) {
  TempDir dir;
  std::ofstream(dir.path() / "basalt.yaml") << "project: x\ningest: {port: many}\n";
  auto r = run_basalt({"up", dir.path().string(), "--data", (dir.path() / "d").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("basalt.yaml:2: ingest.port"), std::string::npos) << r.err;
}

TEST(CliTest, SqlThroughTheServerAndOnTheFileAfterShutdown) {
  TempDir dir;
  BasaltServer server(dir.path() / "project", dir.path() / "data");
  server.start();
  auto r = http_request(server.ingest_url(), "POST", "/v1/batch",
                        R"({"batch":[{"type":"track","event":"a","userId":"u1"},
                                     {"type":"track","event":"b","userId":"u2"}]})",
                        {{"Authorization", basic_auth("test-key")}});
  ASSERT_EQ(r.status, 200) << r.body;
  server.wait_for_int("SELECT count(*) FROM events", 2);

  const std::string token_env = "BASALT_TOKEN=test-admin";
  auto q = run_basalt({"sql", "--api", server.api_url(), "--format", "csv",
                       "SELECT event, user_id FROM events ORDER BY event"},
                      {token_env});
  EXPECT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(q.out, "event,user_id\na,u1\nb,u2\n");

  q = run_basalt({"sql", "--api", server.api_url(), "--format", "json",
                  "SELECT count(*) AS n FROM events"},
                 {token_env});
  EXPECT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(json::parse(q.out), json::parse(R"([{"n":2}])"));

  q = run_basalt({"sql", "--api", server.api_url(), "SELECT event FROM events ORDER BY 1"},
                 {token_env});
  EXPECT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.out.find("event"), std::string::npos);
  EXPECT_NE(q.out.find("(2 rows)"), std::string::npos) << q.out;

  // A syntax error: DuckDB's message, one line, non-zero exit.
  q = run_basalt({"sql", "--api", server.api_url(), "SELEC 1"}, {token_env});
  EXPECT_NE(q.exit_code, 0);
  EXPECT_NE(q.err.find("syntax error"), std::string::npos) << q.err;

  // A wrong token is refused.
  q = run_basalt({"sql", "--api", server.api_url(), "--token", "nope", "SELECT 1"});
  EXPECT_NE(q.exit_code, 0);
  EXPECT_NE(q.err.find("401"), std::string::npos) << q.err;

  // SIGTERM: a clean stop with everything acknowledged loaded.
  EXPECT_EQ(server.terminate(), 0) << server.log();

  // No server: the file is opened read-only.
  q = run_basalt({"sql", "--api", server.api_url(), "--data", (dir.path() / "data").string(),
                  "--format", "csv", "SELECT count(*) AS n FROM events"});
  EXPECT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(q.out, "n\n2\n");

  // No server and no file: the URL tried is named.
  q = run_basalt({"sql", "--api", "http://127.0.0.1:9", "--data",
                  (dir.path() / "nothing").string(), "SELECT 1"});
  EXPECT_NE(q.exit_code, 0);
  EXPECT_NE(q.err.find("http://127.0.0.1:9"), std::string::npos) << q.err;
}

TEST(CliTest, GenPostsARealisticHistoryThatIsStoredWhole) {
  TempDir dir;
  BasaltServer server(dir.path() / "project", dir.path() / "data");
  server.start();
  auto g = run_basalt({"gen", "--users", "50", "--days", "3", "--seed", "7", "--batch-size",
                       "50", "--post", server.ingest_url(), "--write-key", "test-key"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  // "basalt gen: <bodies> bodies, <events> events, …"
  auto pos = g.err.find(" bodies, ");
  ASSERT_NE(pos, std::string::npos) << g.err;
  int64_t events = std::atoll(g.err.c_str() + pos + 9);
  ASSERT_GT(events, 100);
  server.wait_until_loaded();
  EXPECT_EQ(server.sql_int("SELECT count(*) FROM events"), events);
  EXPECT_EQ(server.sql_int("SELECT count(*) FROM quarantine"), 0);
  EXPECT_GT(server.sql_int("SELECT count(*) FROM users"), 0);
  // The history keeps its days: skew correction does not pull it to the time it was posted.
  EXPECT_GT(server.sql_int("SELECT count(*) FROM events WHERE timestamp < now() - INTERVAL 1 DAY"),
            0);
  EXPECT_EQ(server.sql_int("SELECT count(*) FROM events WHERE timestamp > now()"), 0);
  EXPECT_GT(server.sql_int("SELECT count(*) FROM events WHERE event = 'pay' AND "
                           "CAST(properties->>'amount' AS DOUBLE) > 0") +
                server.sql_int("SELECT count(*) FROM events WHERE event = 'level_up'"),
            0);

  // The same seed posted again: every message is a retry, and nothing is stored twice.
  g = run_basalt({"gen", "--users", "50", "--days", "3", "--seed", "7", "--batch-size", "50",
                  "--post", server.ingest_url(), "--write-key", "test-key"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  server.wait_until_loaded();
  EXPECT_EQ(server.sql_int("SELECT count(*) FROM events"), events);
}

}  // namespace
}  // namespace basalt::testing
