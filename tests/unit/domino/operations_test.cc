#include "domino/operations.h"

#include "scheduler_fixture.h"

namespace basalt::domino {
namespace {

using OperationsTest = SchedulerFixture;

TEST_F(OperationsTest, WhyClearAndMark) {
  DominoConfig config;
  config.pools["one"] = 1;
  auto& s = make(config);
  Dag d = dag("dag: w\nschedule: '0 2 * * *'\nstart_date: 2026-11-01\ntasks:\n"
              "  - {id: a, type: shell, command: 'sleep 0.3', pool: one}\n"
              "  - {id: b, type: shell, command: 'echo b >> out', upstream: [a]}\n"
              "  - {id: c, type: shell, command: 'true', pool: one}\n"
              "  - {id: f, type: shell, command: 'exit 1', upstream: [b], retries: 1, retry_delay: 1h}\n");
  s.set_dags({d});
  auto run = s.trigger("w", from_civil(2026, 11, 22, 2), {});
  auto why = [&](const std::string& task) {
    auto r = explain_task(*store_, d, config, *(*store_->run_by_id(run->id)), task, clock_.now_us());
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return r.is_ok() ? *r : "";
  };
  EXPECT_EQ(why("a"), "run manual__2026-11-22T02:00:00+00:00 is queued and starts on the scheduler's next pass");
  ASSERT_TRUE(s.tick().is_ok());
  EXPECT_EQ(why("a").substr(0, 28), "a is running (attempt 1, pro");
  EXPECT_EQ(why("b"), "b waits: upstream a is running (trigger rule all_success)");
  EXPECT_EQ(why("c"), "c is queued: pool one full (1/1, held by w.a)");
  ASSERT_TRUE(run_until([&] { return state(*run, "f") == TaskState::kUpForRetry; }));
  EXPECT_EQ(why("f"), "f is waiting for retry until 2026-11-23T13:00:00+00:00 (attempt 1 failed: exit code 1)");

  // By the date too; mark f failed ends the run.
  auto resolved = resolve_run(*store_, d, "2026-11-22");
  ASSERT_TRUE(resolved.is_ok());
  EXPECT_EQ(resolved->id, run->id);
  EXPECT_EQ(resolve_run(*store_, d, "2026-11-21").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(mark_task(*store_, d, *resolved, "f", TaskState::kFailed).is_ok());
  ASSERT_TRUE(run_until([&] { return run_done(*run); }));
  EXPECT_EQ(run_state(*run), RunState::kFailed);

  // Clearing b with its downstream reruns b and f; the run is open again.
  auto cleared = clear_task(*store_, d, *(*store_->run_by_id(run->id)), "b", true);
  ASSERT_TRUE(cleared.is_ok());
  EXPECT_EQ(*cleared, (std::vector<std::string>{"b", "f"}));
  EXPECT_EQ(run_state(*run), RunState::kQueued);
  ASSERT_TRUE(mark_task(*store_, d, *(*store_->run_by_id(run->id)), "f", TaskState::kSuccess).is_ok());
  ASSERT_TRUE(run_until([&] { return run_done(*run); }));
  EXPECT_EQ(run_state(*run), RunState::kSuccess);
  EXPECT_EQ(read(project() / "out"), "b\nb\n");
  EXPECT_EQ(why("b"), "b is success");

  ASSERT_TRUE(store_->set_paused("w", true).is_ok());
  auto later = s.trigger("w", from_civil(2026, 11, 23, 2), {});
  ASSERT_TRUE(s.tick().is_ok());
  auto r2 = explain_task(*store_, d, config, *later, "a", clock_.now_us());
  EXPECT_EQ(*r2, "DAG w is paused");
}

TEST_F(OperationsTest, ClearRefusesRunningTasks) {
  auto& s = make();
  Dag d = dag("dag: x\ntasks:\n  - {id: a, type: shell, command: 'sleep 5'}\n");
  s.set_dags({d});
  auto run = s.trigger("x", std::nullopt, {});
  ASSERT_TRUE(s.tick().is_ok());
  auto r = clear_task(*store_, d, *run, "a", false);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(clear_task(*store_, d, *run, "zz", false).status().code(), StatusCode::kNotFound);
}

TEST(TemplateContext, EveryVariableOfAScheduledRun) {
  auto registry = make_default_task_registry();
  auto p = parse_dag("dag: t\nschedule: '0 2 * * *'\ntimezone: America/New_York\nstart_date: 2026-01-01\n"
                     "params: {x: 1}\ntasks:\n  - {id: a, type: shell, command: 'true'}\n",
                     "t.yaml", registry);
  ASSERT_TRUE(p.dag.has_value());
  const Dag& d = *p.dag;
  DagRun run;
  // The run of 2026-03-08 (spring forward): 02:00 does not exist and shifts to 03:00 EDT.
  auto iv = intervals_between(d, *parse_time("2026-03-08", d.tz), *parse_time("2026-03-08T23:00", d.tz));
  ASSERT_EQ(iv.size(), 1u);
  run.logical_date = run.interval_start = iv[0].start;
  run.interval_end = iv[0].end;
  run.run_id = make_run_id(RunType::kScheduled, run.logical_date, d.tz);
  run.params = {{"y", "two"}};
  auto c = template_context(d, run, "a");
  EXPECT_EQ(c.vars["ds"], "2026-03-08");
  EXPECT_EQ(c.vars["ds_nodash"], "20260308");
  EXPECT_EQ(c.vars["ts"], "2026-03-08T03:00:00-04:00");
  EXPECT_EQ(c.vars["ts_nodash"], "20260308T030000");
  EXPECT_EQ(c.vars["data_interval_start"], "2026-03-08T03:00:00-04:00");
  EXPECT_EQ(c.vars["data_interval_end"], "2026-03-09T02:00:00-04:00");
  EXPECT_EQ(c.vars["prev_ds"], "2026-03-07");
  EXPECT_EQ(c.vars["next_ds"], "2026-03-09");
  EXPECT_EQ(c.vars["run_id"], "scheduled__2026-03-08T03:00:00-04:00");
  EXPECT_EQ(c.vars["dag"], "t");
  EXPECT_EQ(c.vars["task"], "a");
  EXPECT_EQ(c.params["x"], 1);
  EXPECT_EQ(c.params["y"], "two");
  EXPECT_EQ(*render_template("{{ macros.ds_add(ds, -7) }}", c), "2026-03-01");
}

}  // namespace
}  // namespace basalt::domino
