// `basalt dag …` as a user runs it: the real binary on a project folder, first with no server
// (the commands act on the metadata store and the warehouse file themselves), then through a
// running `basalt up` with --api/--token and BASALT_API/BASALT_TOKEN.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/basalt_process.h"

namespace basalt::testing {
namespace {

using nlohmann::json;

// A project with one daily DAG in New York (2026-03-08 is the spring-forward day) and a manual
// one with a sql task on the warehouse.
void write_project(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir / "dags");
  std::ofstream(dir / "basalt.yaml")
      << BasaltServer::default_yaml() << "domino: {parallelism: 4, tick_interval: 100ms}\n";
  std::ofstream(dir / "dags" / "daily.yaml")
      << "dag: daily\nschedule: '0 2 * * *'\ntimezone: America/New_York\nstart_date: 2026-03-01\n"
         "tasks:\n"
         "  - {id: hello, type: shell, command: 'echo hello {{ ds }}'}\n"
         "  - {id: after, type: shell, command: 'echo after', upstream: [hello]}\n";
  std::ofstream(dir / "dags" / "report.yaml")
      << "dag: report\ntasks:\n"
         "  - {id: build, type: sql, sql: 'CREATE OR REPLACE TABLE rpt_{{ ds_nodash }} AS SELECT "
         "42 AS answer'}\n"
         "  - {id: gate, type: check, sql: 'SELECT count(*) = 1 FROM rpt_{{ ds_nodash }}', "
         "upstream: [build]}\n";
}

json parse_out(const CommandResult& r) {
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out << r.err;
  return j;
}

TEST(DagCliTest, LocalCommandsWithoutAServer) {
  TempDir dir;
  const auto project = (dir.path() / "p").string();
  const auto data = (dir.path() / "data").string();
  write_project(project);
  std::vector<std::string> at = {"--project", project, "--data", data};
  auto cmd = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "dag");
    args.insert(args.end(), at.begin(), at.end());
    return run_basalt(args);
  };

  auto r = cmd({"list", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto list = parse_out(r);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["dag"], "daily");
  EXPECT_EQ(list[0]["timezone"], "America/New_York");

  // Across the DST change: the offset moves from -05:00 to -04:00.
  r = cmd({"preview", "daily", "--from", "2026-03-07", "--to", "2026-03-08", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_out(r), json::parse(R"([
    {"logical_date": "2026-03-07T02:00:00-05:00", "data_interval_start": "2026-03-07T02:00:00-05:00",
     "data_interval_end": "2026-03-08T03:00:00-04:00", "run_at": "2026-03-08T03:00:00-04:00"},
    {"logical_date": "2026-03-08T03:00:00-04:00", "data_interval_start": "2026-03-08T03:00:00-04:00",
     "data_interval_end": "2026-03-09T02:00:00-04:00", "run_at": "2026-03-09T02:00:00-04:00"}])"));

  r = cmd({"backfill", "daily", "--from", "2026-03-07", "--to", "2026-03-08", "--wait", "--format",
           "json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto runs = parse_out(r)["runs"];
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["state"], "success");
  EXPECT_EQ(runs[1]["state"], "success");

  r = cmd({"runs", "daily", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto listed = parse_out(r);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]["tasks"]["after"]["state"], "success");

  r = cmd({"logs", "daily", "2026-03-08", "hello"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("hello 2026-03-08"), std::string::npos) << r.out;

  r = cmd({"clear", "daily", "2026-03-08", "hello", "--downstream", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_out(r)["cleared"], json::parse(R"(["hello", "after"])"));
  r = cmd({"why", "daily", "2026-03-08", "after"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The cleared run is queued again, for a scheduler to pick up.
  EXPECT_NE(r.out.find("is queued and starts on the scheduler's next pass"), std::string::npos)
      << r.out;
  r = cmd({"mark", "daily", "2026-03-08", "hello", "failed", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_out(r)["state"], "failed");

  // Bad input: a precise message and a non-zero exit, nothing changed.
  r = cmd({"trigger", "nope"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no DAG 'nope'"), std::string::npos) << r.err;
  r = cmd({"trigger", "daily", "--param", "novalue"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--param takes KEY=VALUE"), std::string::npos) << r.err;
  r = cmd({"backfill", "daily", "--from", "2026-03-09", "--to", "2026-03-01"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("is empty"), std::string::npos) << r.err;

  // dag test of sql and check tasks opens the warehouse file itself (no server runs).
  r = cmd({"test", "report", "build", "2026-11-23"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = cmd({"test", "report", "gate", "2026-11-23"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto q = run_basalt({"sql", "--project", project, "--data", data, "--api", "http://127.0.0.1:1",
                       "--format", "csv", "SELECT answer FROM rpt_20261123"});
  EXPECT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(q.out, "answer\n42\n");
  r = cmd({"test", "report", "gate", "2026-11-24"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("rpt_20261124"), std::string::npos) << r.err;
}

TEST(DagCliTest, ThroughARunningServer) {
  TempDir dir;
  const auto project = dir.path() / "p";
  write_project(project);
  BasaltServer server(project, dir.path() / "data");
  server.start();
  const std::vector<std::string> api = {"--api", server.api_url(), "--token", "test-admin"};
  auto cmd = [&](std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), "dag");
    if (env.empty()) args.insert(args.end(), api.begin(), api.end());
    // A project folder that does not exist: through the API, nothing is read locally.
    args.insert(args.end(), {"--project", (dir.path() / "elsewhere").string()});
    return run_basalt(args, env);
  };

  auto r = cmd({"list", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto list = parse_out(r);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1]["dag"], "report");
  EXPECT_EQ(list[1]["tasks"], 2);

  r = cmd({"show", "daily"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("hello"), std::string::npos) << r.out;

  r = cmd({"preview", "daily", "--from", "2026-11-01", "--to", "2026-11-01", "--format", "json"},
          {"BASALT_API=" + server.api_url(), "BASALT_TOKEN=test-admin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_out(r)[0]["data_interval_end"], "2026-11-02T02:00:00-05:00");

  r = cmd({"trigger", "report", "--date", "2026-11-23", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string run_id = parse_out(r)["run_id"];
  EXPECT_EQ(run_id, "manual__2026-11-23T00:00:00+00:00");
  // The server's scheduler runs it on the warehouse it holds.
  std::string state;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    r = cmd({"runs", "report", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    state = parse_out(r)[0]["state"];
    if (state == "success" || state == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(state, "success");
  EXPECT_EQ(server.sql_int("SELECT answer FROM rpt_20261123"), 42);

  r = cmd({"logs", "report", run_id, "build"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("CREATE OR REPLACE TABLE rpt_20261123"), std::string::npos) << r.out;
  r = cmd({"why", "report", "2026-11-23", "gate", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_out(r)["task"], "gate");

  r = cmd({"pause", "daily", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_out(r)["paused"], true);
  r = cmd({"list", "--format", "json"});
  EXPECT_EQ(parse_out(r)[0]["paused"], true);
  r = cmd({"unpause", "daily"});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  r = cmd({"clear", "report", run_id, "gate", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_out(r)["cleared"], json::parse(R"(["gate"])"));

  // Errors from the server come back as messages with the HTTP status.
  r = cmd({"show", "nope"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no DAG 'nope' (HTTP 404"), std::string::npos) << r.err;
  r = run_basalt({"dag", "list", "--api", server.api_url(), "--token", "wrong"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("HTTP 401"), std::string::npos) << r.err;
  r = cmd({"backfill", "daily", "--from", "2026-11-01", "--to", "2026-11-02", "--wait"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--wait runs the backfill in this process"), std::string::npos) << r.err;
  r = cmd({"test", "daily", "hello"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("test runs in this process"), std::string::npos) << r.err;
  EXPECT_EQ(server.terminate(), 0);
}

}  // namespace
}  // namespace basalt::testing
