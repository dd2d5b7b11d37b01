// Task types against real programs: php, java, python, DuckDB files; hive, mapreduce and spark
// against a recording stand-in put on PATH, which writes the command line it receives.

#include <cstdlib>
#include <thread>

#include "domino/task_types/sql_engine.h"
#include "recording_http_server.h"
#include "scheduler_fixture.h"
#include "support/postgres_server.h"

namespace basalt::domino {
namespace {

class TaskTypesTest : public SchedulerFixture {
 protected:
  void SetUp() override {
    SchedulerFixture::SetUp();
    auto bin = dir_ / "bin";
    std::filesystem::create_directories(bin);
    for (const char* name : {"beeline", "hadoop", "spark-submit"}) {
      write(bin / name,
            "#!/bin/sh\nout=\"$(basename \"$0\").args\"\n: > \"$out\"\n"
            "for a in \"$0\" \"$@\"; do printf '%s\\n' \"$a\" >> \"$out\"; done\n");
      std::filesystem::permissions(bin / name, std::filesystem::perms::owner_all);
    }
    const char* path = std::getenv("PATH");
    setenv("PATH", (bin.string() + ":" + (path ? path : "")).c_str(), 1);
  }

  // Runs a one-task DAG and returns the run.
  DagRun run_one(const std::string& task_yaml, DominoConfig config = {}, std::string params = "") {
    auto& s = make(std::move(config));
    s.set_dags({dag("dag: one\n" + params + "tasks:\n  - " + task_yaml + "\n")});
    auto run = s.trigger("one", from_civil(2026, 11, 23, 2), {});
    EXPECT_TRUE(run.is_ok());
    EXPECT_TRUE(run_until([&] { return run_done(*run); }));
    return *run;
  }
  std::string log_of(const DagRun& run) {
    return read(store_->attempts(run.id, ti(run, "t").task_id)->back().log_path);
  }
};

TEST_F(TaskTypesTest, Php) {
  write(project() / "job.php",
        "<?php echo 'php says ', $argv[1], ' ', $argv[2], \"\\n\"; exit($argv[2] == 'fail' ? 2 : "
        "0);");
  auto run = run_one("{id: t, type: php, script: job.php, args: ['{{ ds }}', ok]}");
  EXPECT_EQ(state(run, "t"), TaskState::kSuccess) << log_of(run);
  EXPECT_NE(log_of(run).find("php says 2026-11-23 ok"), std::string::npos) << log_of(run);
}

TEST_F(TaskTypesTest, PhpFailureIsAFailedTask) {
  write(project() / "job.php", "<?php exit($argv[1] == 'fail' ? 2 : 0);");
  auto run = run_one("{id: t, type: php, script: job.php, args: [fail]}");
  EXPECT_EQ(state(run, "t"), TaskState::kFailed);
  EXPECT_EQ(ti(run, "t").message, "exit code 2");
}

TEST_F(TaskTypesTest, Java) {
  // The JDK's source launcher runs a .java file directly.
  write(project() / "Job.java",
        "public class Job { public static void main(String[] a) {"
        " System.out.println(\"java says \" + a[0]); } }");
  auto run = run_one("{id: t, type: java, class: Job.java, args: ['{{ ds_nodash }}']}");
  EXPECT_EQ(state(run, "t"), TaskState::kSuccess) << log_of(run);
  EXPECT_NE(log_of(run).find("java says 20261123"), std::string::npos) << log_of(run);
}

TEST_F(TaskTypesTest, Python) {
  auto run = run_one(
      "{id: t, type: python, code: 'import sys; print(\"py\", sys.argv[1])', args: ['{{ next_ds "
      "}}']}");
  EXPECT_EQ(state(run, "t"), TaskState::kSuccess) << log_of(run);
  EXPECT_NE(log_of(run).find("py 2026-11-24"), std::string::npos);
}

TEST_F(TaskTypesTest, SqlAndCheckOnADuckDbFile) {
  auto& s = make();
  s.set_dags(
      {dag("dag: q\nparams: {min: 2}\ntasks:\n"
           "  - id: build\n    type: sql\n    engine: duckdb:w.duckdb\n    sql: |\n"
           "      CREATE TABLE r_{{ ds_nodash }} AS SELECT * FROM range(5) t(x);\n"
           "      INSERT INTO r_{{ ds_nodash }} VALUES ({{ params.min }});\n"
           "  - {id: enough, type: check, engine: 'duckdb:w.duckdb', upstream: [build],\n"
           "     sql: 'SELECT count(*) >= 6 FROM r_{{ ds_nodash }}'}\n"
           "  - {id: too_many, type: check, engine: 'duckdb:w.duckdb', upstream: [enough],\n"
           "     sql: 'SELECT count(*) > 100 FROM r_{{ ds_nodash }}'}\n")});
  auto run = s.trigger("q", from_civil(2026, 11, 23, 2), {});
  ASSERT_TRUE(run_until([&] { return run_done(*run); }));
  EXPECT_EQ(state(*run, "build"), TaskState::kSuccess) << ti(*run, "build").message;
  EXPECT_EQ(state(*run, "enough"), TaskState::kSuccess) << ti(*run, "enough").message;
  EXPECT_EQ(state(*run, "too_many"), TaskState::kFailed);
  EXPECT_EQ(ti(*run, "too_many").message, "check failed: the query returned false");
}

TEST_F(TaskTypesTest, SqlAndCheckOnPostgres) {
  auto pg = testing::PostgresServer::start();
  ASSERT_TRUE(pg.is_ok()) << pg.status().message();
  ASSERT_TRUE((*pg)->create_database("etl").is_ok());
  DominoConfig config;
  config.connections["reporting"] = (*pg)->url("etl");
  config.tools["shell"] = "/bin/sh";
  auto& s = make(config);
  const std::string url = (*pg)->url("etl");
  s.set_dags(
      {dag("dag: q\nparams: {min: 2}\ntasks:\n"
           "  - id: build\n    type: sql\n    engine: 'postgres:" +
           url +
           "'\n    sql: |\n"
           "      CREATE TABLE r_{{ ds_nodash }} AS SELECT x FROM generate_series(1, 5) x;\n"
           "      INSERT INTO r_{{ ds_nodash }} VALUES ({{ params.min }});\n"
           "  - {id: enough, type: check, engine: 'postgres:reporting', upstream: [build],\n"
           "     sql: 'SELECT count(*) >= 6 FROM r_{{ ds_nodash }}'}\n"
           "  - {id: too_many, type: check, engine: 'postgres:reporting', upstream: [enough],\n"
           "     sql: 'SELECT count(*) > 100 FROM r_{{ ds_nodash }}'}\n"
           "  - {id: broken, type: sql, engine: 'postgres:reporting', upstream: [build],\n"
           "     sql: 'SELECT * FROM no_such_table'}\n"
           "  - {id: slow, type: sql, engine: 'postgres:reporting', timeout: 1s,\n"
           "     sql: 'SELECT pg_sleep(30)'}\n")});
  auto run = s.trigger("q", from_civil(2026, 11, 23, 2), {});
  // The clock is the fixture's: it moves 50 ms a pass, so `slow` times out after 20 passes.
  ASSERT_TRUE(run_until(
      [&] {
        clock_.advance_us(50'000);
        return run_done(*run);
      },
      std::chrono::seconds(30)));
  EXPECT_EQ(state(*run, "build"), TaskState::kSuccess) << ti(*run, "build").message;
  EXPECT_EQ(state(*run, "enough"), TaskState::kSuccess) << ti(*run, "enough").message;
  EXPECT_EQ(state(*run, "too_many"), TaskState::kFailed);
  EXPECT_EQ(ti(*run, "too_many").message, "check failed: the query returned false");
  EXPECT_EQ(state(*run, "broken"), TaskState::kFailed);
  EXPECT_NE(ti(*run, "broken").message.find("relation \"no_such_table\" does not exist"),
            std::string::npos)
      << ti(*run, "broken").message;
  EXPECT_EQ(state(*run, "slow"), TaskState::kFailed);
  EXPECT_EQ(ti(*run, "slow").message, "timed out after 1s");
  // The timed-out query was cancelled on the server, not left running.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = (*pg)
               ->execute(
                   "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_stat_activity WHERE query LIKE "
                   "'SELECT pg_sleep(30)%') THEN RAISE 'still running'; END IF; END $$")
               .is_ok();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(gone);
  // The log names the engine without a password.
  std::string log = read(store_->attempts(run->id, "build")->front().log_path);
  EXPECT_NE(log.find("[postgres:postgres://basalt@127.0.0.1:"), std::string::npos) << log;
}

TEST_F(TaskTypesTest, PostgresEnginePasswordsAreNotLogged) {
  EXPECT_EQ(redact_engine("postgres:postgres://etl:s3cret@db:5432/x"),
            "postgres:postgres://etl:***@db:5432/x");
  EXPECT_EQ(redact_engine("postgres:host=db password=s3cret user=etl"),
            "postgres:host=db password=*** user=etl");
  EXPECT_EQ(redact_engine("duckdb:w.duckdb"), "duckdb:w.duckdb");
  auto broken =
      parse_dag("dag: b\ntasks:\n  - {id: t, type: sql, engine: 'postgres:', sql: 'SELECT 1'}\n",
                "b.yaml", registry_);
  ASSERT_FALSE(broken.errors.empty());
  EXPECT_NE(broken.errors[0].find("engine postgres: needs a connection"), std::string::npos)
      << broken.errors[0];
}

TEST_F(TaskTypesTest, HttpTaskSendsTheRenderedRequest) {
  RecordingHttpServer server(200, "accepted");
  auto run = run_one("{id: t, type: http, url: '" + server.url() +
                     "/hook/{{ ds }}', method: POST,\n"
                     "     headers: {X-Run: '{{ run_id }}'}, body: {date: '{{ ds }}', n: 3}}");
  EXPECT_EQ(state(run, "t"), TaskState::kSuccess) << ti(run, "t").message;
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/hook/2026-11-23");
  EXPECT_NE(requests[0].head.find("X-Run: manual__2026-11-23T02:00:00+00:00"), std::string::npos)
      << requests[0].head;
  EXPECT_NE(requests[0].head.find("Content-Type: application/json"), std::string::npos)
      << requests[0].head;
  EXPECT_EQ(nlohmann::json::parse(requests[0].body),
            nlohmann::json::parse(R"({"date": "2026-11-23", "n": 3})"));
  EXPECT_NE(log_of(run).find("HTTP 200\naccepted"), std::string::npos) << log_of(run);
}

TEST_F(TaskTypesTest, HttpTaskFailsOnAnErrorStatusUnlessExpected) {
  RecordingHttpServer server(503, "busy");
  auto run = run_one("{id: t, type: http, url: '" + server.url() + "/x'}");
  EXPECT_EQ(state(run, "t"), TaskState::kFailed);
  EXPECT_EQ(ti(run, "t").message, "HTTP 503 from " + server.url());
  EXPECT_EQ(server.requests().back().method, "GET");
}

TEST_F(TaskTypesTest, HttpTaskWithAnExpectedStatus) {
  RecordingHttpServer server(503, "busy");
  auto run = run_one("{id: t, type: http, url: '" + server.url() + "/y', expect_status: 503}");
  EXPECT_EQ(state(run, "t"), TaskState::kSuccess) << ti(run, "t").message;
}

TEST_F(TaskTypesTest, AlertWebhookOnTaskFailureAndFailedRun) {
  RecordingHttpServer hook;
  auto run = run_one("{id: t, type: shell, command: 'exit 4'}", {},
                     "alerts: {webhook: '" + hook.url() + "/alerts'}\n");
  EXPECT_EQ(state(run, "t"), TaskState::kFailed);
  ASSERT_TRUE(hook.wait_for(2));
  auto requests = hook.requests();
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/alerts");
  auto first = nlohmann::json::parse(requests[0].body);
  EXPECT_EQ(first["dag"], "one");
  EXPECT_EQ(
      first["text"],
      "task one.t of run manual__2026-11-23T02:00:00+00:00 failed after 1 attempt(s): exit code 4");
  EXPECT_EQ(nlohmann::json::parse(requests[1].body)["text"],
            "run manual__2026-11-23T02:00:00+00:00 of DAG one failed");
}

TEST_F(TaskTypesTest, SqlOnTheWarehouseWithoutOneFails) {
  auto run = run_one("{id: t, type: sql, sql: 'SELECT 1'}");
  EXPECT_EQ(state(run, "t"), TaskState::kFailed);
  EXPECT_EQ(ti(run, "t").message, "no warehouse is open in this process");
}

TEST_F(TaskTypesTest, HiveCommandLine) {
  DominoConfig config;
  config.tools["hive"] = "beeline -u 'jdbc:hive2://hive:10000/default' --silent=true";
  auto run = run_one(
      "{id: t, type: hive, hivevars: {day: '{{ ds }}', n: 3},"
      " sql: 'INSERT OVERWRITE TABLE x PARTITION (d=\"${hivevar:day}\") SELECT 1'}",
      config);
  EXPECT_EQ(state(run, "t"), TaskState::kSuccess) << log_of(run);
  std::string args = read(project() / "beeline.args");
  EXPECT_EQ(
      args.substr(args.find('\n') + 1),
      "-u\njdbc:hive2://hive:10000/default\n--silent=true\n--hivevar\nday=2026-11-23\n"
      "--hivevar\nn=3\n-e\nINSERT OVERWRITE TABLE x PARTITION (d=\"${hivevar:day}\") SELECT 1\n");
  EXPECT_NE(args.find((dir_ / "bin" / "beeline").string()), std::string::npos);  // found on PATH
}

TEST_F(TaskTypesTest, HiveFileCommandLine) {
  auto run = run_one("{id: t, type: hive, file: 'q/{{ ds_nodash }}.hql'}");
  std::string args = read(project() / "beeline.args");
  EXPECT_EQ(args.substr(args.find('\n') + 1), "-f\nq/20261123.hql\n");
}

TEST_F(TaskTypesTest, MapReduceCommandLine) {
  auto run = run_one(
      "{id: t, type: mapreduce, jar: wc.jar, class: org.x.WordCount,"
      " args: ['/in/{{ ds }}', '/out/{{ ds }}']}");
  EXPECT_EQ(state(run, "t"), TaskState::kSuccess) << log_of(run);
  std::string args = read(project() / "hadoop.args");
  EXPECT_EQ(args.substr(args.find('\n') + 1),
            "jar\nwc.jar\norg.x.WordCount\n/in/2026-11-23\n/out/2026-11-23\n");
}

TEST_F(TaskTypesTest, SparkCommandLine) {
  DominoConfig config;
  config.tools["spark"] = "spark-submit --deploy-mode cluster";
  auto run = run_one(
      "{id: t, type: spark, application: app.py, master: yarn, class: Main,"
      " conf: {spark.executor.memory: 4g}, args: ['{{ run_id }}']}",
      config);
  EXPECT_EQ(state(run, "t"), TaskState::kSuccess) << log_of(run);
  std::string args = read(project() / "spark-submit.args");
  EXPECT_EQ(args.substr(args.find('\n') + 1),
            "--deploy-mode\ncluster\n--master\nyarn\n--class\nMain\n--conf\n"
            "spark.executor.memory=4g\napp.py\nmanual__2026-11-23T02:00:00+00:00\n");
}

TEST_F(TaskTypesTest, ShellSeesEnvAndParamsFromTheTrigger) {
  auto& s = make();
  s.set_dags(
      {dag("dag: one\nparams: {who: nobody}\ntasks:\n"
           "  - {id: t, type: shell, command: 'echo \"$GREETING {{ params.who }}\"',"
           " env: {GREETING: 'hi {{ dag }}.{{ task }}'}}\n")});
  auto run = s.trigger("one", std::nullopt, {{"who", "ops"}});
  ASSERT_TRUE(run_until([&] { return run_done(*run); }));
  EXPECT_NE(read(store_->attempts(run->id, "t")->back().log_path).find("hi one.t ops"),
            std::string::npos);
}

TEST_F(TaskTypesTest, MissingProgramFailsTheAttempt) {
  DominoConfig config;
  config.tools["php"] = "no-such-php-binary";
  auto run = run_one("{id: t, type: php, script: x.php}", config);
  EXPECT_EQ(state(run, "t"), TaskState::kFailed);
  EXPECT_NE(ti(run, "t").message.find("cannot run no-such-php-binary"), std::string::npos);
}

}  // namespace
}  // namespace basalt::domino
