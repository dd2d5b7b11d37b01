#include "domino/dag.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "domino/task_type.h"

namespace basalt::domino {
namespace {

const char* kIssueDag = R"(dag: daily_revenue
description: Revenue by channel, for the finance report
owner: data-team
schedule: "0 2 * * *"
timezone: Asia/Shanghai
start_date: 2026-01-01
catchup: false
max_active_runs: 1
params: {min_amount: 0}
defaults: {retries: 2, retry_delay: 1m, retry_backoff: exponential, timeout: 1h, pool: default, priority: 0}
tasks:
  - id: wait_events
    type: dependency
    dag: hourly_ingest_check
    task: done
    mapping: all_hours_of_day
  - id: revenue
    type: sql
    engine: warehouse
    upstream: [wait_events]
    sql: |
      CREATE OR REPLACE TABLE rpt_revenue_{{ ds_nodash }} AS
      SELECT channel, sum(amount) FROM t WHERE date = '{{ ds }}' AND amount > {{ params.min_amount }}
  - id: notify
    type: http
    upstream: [revenue]
    url: https://example.invalid/hook
    method: POST
    body: {date: "{{ ds }}"}
)";

class DagTest : public ::testing::Test {
 protected:
  DagParse parse(const std::string& text) { return parse_dag(text, "dags/x.yaml", registry_); }
  std::string first_error(const std::string& text) {
    auto p = parse(text);
    EXPECT_FALSE(p.dag.has_value());
    return p.errors.empty() ? "" : p.errors[0];
  }
  TaskRegistry registry_ = make_default_task_registry();
};

TEST_F(DagTest, ParsesTheIssueExample) {
  auto p = parse(kIssueDag);
  ASSERT_TRUE(p.dag.has_value()) << (p.errors.empty() ? "" : p.errors[0]);
  const Dag& d = *p.dag;
  EXPECT_EQ(d.id, "daily_revenue");
  EXPECT_EQ(d.tz.name(), "Asia/Shanghai");
  EXPECT_EQ(d.max_active_runs, 1);
  EXPECT_FALSE(d.catchup);
  ASSERT_EQ(d.tasks.size(), 3u);
  EXPECT_EQ(d.tasks[0].id, "wait_events");
  EXPECT_EQ(d.tasks[1].retries, 2);
  EXPECT_EQ(d.tasks[1].retry_backoff, RetryBackoff::kExponential);
  EXPECT_EQ(d.tasks[1].timeout, std::chrono::hours(1));
  EXPECT_EQ(d.tasks[1].retry_delay_for(2), std::chrono::minutes(1));
  EXPECT_EQ(d.tasks[1].retry_delay_for(3), std::chrono::minutes(2));
  EXPECT_EQ(d.tasks[1].line, 17);
  EXPECT_EQ(d.params["min_amount"], 0);
  EXPECT_EQ(d.downstream("revenue"), std::vector<std::string>{"notify"});
  EXPECT_EQ(d.hash.size(), 16u);
  // The first interval starts at the first fire on or after start_date and ends at the next.
  auto iv = intervals_between(d, d.start_date, d.start_date + 2 * 86400);
  ASSERT_EQ(iv.size(), 2u);
  EXPECT_EQ(format_iso8601(iv[0].start, d.tz), "2026-01-01T02:00:00+08:00");
  EXPECT_EQ(format_iso8601(iv[0].end, d.tz), "2026-01-02T02:00:00+08:00");
}

TEST_F(DagTest, HashChangesWithTheDefinitionOnly) {
  auto a = parse(kIssueDag);
  auto b = parse(std::string(kIssueDag) + "\n# a comment\n");
  auto c = parse(std::string(kIssueDag).replace(std::string(kIssueDag).find("0 2 * * *"), 9, "0 3 * * *"));
  ASSERT_TRUE(a.dag && b.dag && c.dag);
  EXPECT_EQ(a.dag->hash, b.dag->hash);
  EXPECT_NE(a.dag->hash, c.dag->hash);
}

TEST_F(DagTest, ReportsErrorsWithFileAndLine) {
  const std::string head = "dag: d\nschedule: \"0 2 * * *\"\nstart_date: 2026-01-01\ntasks:\n";
  EXPECT_EQ(first_error(head +
                        "  - {id: a, type: shell, command: x, upstream: [b]}\n"
                        "  - {id: b, type: shell, command: x, upstream: [a]}\n"),
            "dags/x.yaml:5: cycle: a -> b -> a");
  EXPECT_EQ(first_error(head + "  - {id: a, type: shell, command: x, upstream: [zz]}\n"),
            "dags/x.yaml:5: task 'a': unknown upstream 'zz'");
  EXPECT_EQ(first_error(head + "  - id: a\n    type: cobol\n"),
            "dags/x.yaml:6: unknown task type 'cobol' (known: shell, sql, check, http, php, java, "
            "python, hive, mapreduce, spark, dependency)");
  EXPECT_EQ(first_error("dag: d\nschedule: \"0 25 * * *\"\nstart_date: 2026-01-01\ntasks:\n"
                        "  - {id: a, type: shell, command: x}\n"),
            "dags/x.yaml:2: bad cron '0 25 * * *': hour field: 25 is out of range 0-23");
  EXPECT_EQ(first_error(head + "  - id: a\n    type: shell\n    command: |\n      echo 1\n"
                               "      echo {{ dsx }}\n"),
            "dags/x.yaml:9: in command: unknown template name 'dsx' (known: dag, data_interval_end, "
            "data_interval_start, ds, ds_nodash, logical_date, next_ds, prev_ds, run_id, task, ts, "
            "ts_nodash, params.<key>, macros.ds_add(ds, N))");
  EXPECT_EQ(first_error(head + "  - id: a\n    type: shell\n    command: \"{{ params.x }}\"\n"),
            "dags/x.yaml:7: in command: unknown parameter 'x' (declare it under params:)");
  EXPECT_EQ(first_error(head + "  - id: a\n    type: shell\n    comand: x\n"),
            "dags/x.yaml:7: unknown key 'comand' for a shell task");
  EXPECT_EQ(first_error(head + "  - id: a\n    type: shell\n"),
            "dags/x.yaml:5: task 'a': a shell task needs command:");
  EXPECT_EQ(first_error("dag: d\ntimezone: Mars/Base\ntasks:\n  - {id: a, type: shell, command: x}\n"),
            "dags/x.yaml:2: unknown time zone 'Mars/Base' (no /usr/share/zoneinfo/Mars/Base file)");
  EXPECT_EQ(first_error(head + "  - {id: a, type: shell, command: x, trigger_rule: most}\n"),
            "dags/x.yaml:5: unknown trigger_rule 'most' (known: all_success, all_done, one_failed, "
            "one_success)");
}

TEST_F(DagTest, OrdersTasksUpstreamFirst) {
  auto p = parse("dag: d\ntasks:\n  - {id: c, type: shell, command: x, upstream: [b]}\n"
                 "  - {id: b, type: shell, command: x, upstream: [a]}\n"
                 "  - {id: a, type: shell, command: x}\n");
  ASSERT_TRUE(p.dag.has_value());
  EXPECT_EQ(p.dag->tasks[0].id, "a");
  EXPECT_EQ(p.dag->tasks[2].id, "c");
  EXPECT_FALSE(p.dag->schedule.has_value());
}

TEST_F(DagTest, LoadsAFolderAndRefusesDuplicateIds) {
  auto dir = std::filesystem::temp_directory_path() / ("domino_dags_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "a.yaml") << "dag: one\ntasks:\n  - {id: t, type: shell, command: x}\n";
  std::ofstream(dir / "b.yaml") << "dag: one\ntasks:\n  - {id: t, type: shell, command: x}\n";
  std::ofstream(dir / "c.yml") << "dag: two\ntasks:\n  - {id: t, type: nope}\n";
  std::ofstream(dir / "notes.txt") << "ignored";
  auto set = load_dags(dir, registry_);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(set.dags.size(), 1u);
  ASSERT_EQ(set.errors.size(), 2u);
  EXPECT_NE(set.errors[0].find("b.yaml:1: DAG 'one' is also defined in"), std::string::npos);
  EXPECT_NE(set.errors[1].find("c.yml:3: unknown task type 'nope'"), std::string::npos);
}

}  // namespace
}  // namespace basalt::domino
