#include <signal.h>

#include <set>
#include <sstream>

#include "domino/task_process.h"
#include "scheduler_fixture.h"
#include "support/postgres_server.h"

namespace basalt::domino {
namespace {

using SchedulerTest = SchedulerFixture;
constexpr int64_t kUs = 1'000'000;

TEST_F(SchedulerTest, RunsAChainInOrderWithLogs) {
  auto& s = make();
  s.set_dags({dag(
      "dag: chain\ntasks:\n"
      "  - {id: c, type: shell, command: 'echo c >> order', upstream: [b]}\n"
      "  - {id: b, type: shell, command: 'echo b >> order; echo to-stderr >&2', upstream: [a]}\n"
      "  - {id: a, type: shell, command: 'echo a >> order; echo ds={{ ds }} run={{ run_id "
      "}}'}\n")});
  auto run = s.trigger("chain", from_civil(2026, 11, 23), {});
  ASSERT_TRUE(run.is_ok()) << run.status().message();
  ASSERT_TRUE(run_until([&] { return run_done(*run); }));
  EXPECT_EQ(run_state(*run), RunState::kSuccess);
  EXPECT_EQ(read(project() / "order"), "a\nb\nc\n");
  auto attempts = store_->attempts(run->id, "a");
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ(attempts->front().exit_code, 0);
  std::string log = read(attempts->front().log_path);
  EXPECT_NE(log.find("ds=2026-11-23 run=manual__2026-11-23T00:00:00+00:00"), std::string::npos)
      << log;
  EXPECT_NE(read(store_->attempts(run->id, "b")->front().log_path).find("to-stderr"),
            std::string::npos);
}

TEST_F(SchedulerTest, TriggerRules) {
  auto& s = make();
  s.set_dags(
      {dag("dag: rules\ntasks:\n"
           "  - {id: bad, type: shell, command: 'exit 3'}\n"
           "  - {id: good, type: shell, command: 'true'}\n"
           "  - {id: after_bad, type: shell, command: 'true', upstream: [bad]}\n"
           "  - {id: after_after, type: shell, command: 'true', upstream: [after_bad]}\n"
           "  - {id: on_failure, type: shell, command: 'true', upstream: [bad, good], "
           "trigger_rule: one_failed}\n"
           "  - {id: no_failure, type: shell, command: 'true', upstream: [good], trigger_rule: "
           "one_failed}\n"
           "  - {id: cleanup, type: shell, command: 'true', upstream: [bad, good], trigger_rule: "
           "all_done}\n"
           "  - {id: any_ok, type: shell, command: 'true', upstream: [bad, good], trigger_rule: "
           "one_success}\n")});
  auto run = s.trigger("rules", std::nullopt, {});
  ASSERT_TRUE(run_until([&] { return run_done(*run); }));
  EXPECT_EQ(state(*run, "bad"), TaskState::kFailed);
  EXPECT_EQ(ti(*run, "bad").message, "exit code 3");
  EXPECT_EQ(state(*run, "after_bad"), TaskState::kUpstreamFailed);
  EXPECT_EQ(state(*run, "after_after"), TaskState::kUpstreamFailed);
  EXPECT_EQ(state(*run, "on_failure"), TaskState::kSuccess);
  EXPECT_EQ(state(*run, "no_failure"), TaskState::kSkipped);
  EXPECT_EQ(state(*run, "cleanup"), TaskState::kSuccess);
  EXPECT_EQ(state(*run, "any_ok"), TaskState::kSuccess);
  EXPECT_EQ(run_state(*run), RunState::kFailed);  // the leaf after_after failed upstream
}

TEST_F(SchedulerTest, RetriesWithExponentialBackoff) {
  auto& s = make();
  // Fails twice, then succeeds.
  s.set_dags(
      {dag("dag: flaky\ntasks:\n"
           "  - id: t\n    type: shell\n    retries: 3\n    retry_delay: 10s\n"
           "    retry_backoff: exponential\n"
           "    command: 'echo x >> tries; test $(wc -l < tries) -ge 3'\n")});
  auto run = s.trigger("flaky", std::nullopt, {});
  const int64_t t0 = clock_.now_us();
  ASSERT_TRUE(run_until([&] { return state(*run, "t") == TaskState::kUpForRetry; }));
  EXPECT_EQ(ti(*run, "t").next_try_us, t0 + 10 * kUs);
  // Not before the delay.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(s.tick().is_ok());
  EXPECT_EQ(state(*run, "t"), TaskState::kUpForRetry);
  clock_.advance_us(10 * kUs);
  ASSERT_TRUE(run_until(
      [&] { return state(*run, "t") == TaskState::kUpForRetry && ti(*run, "t").try_number == 2; }));
  EXPECT_EQ(ti(*run, "t").next_try_us, t0 + 30 * kUs);  // 10s, then 20s
  clock_.advance_us(20 * kUs);
  ASSERT_TRUE(run_until([&] { return run_done(*run); }));
  EXPECT_EQ(state(*run, "t"), TaskState::kSuccess);
  EXPECT_EQ(store_->attempts(run->id, "t")->size(), 3u);
}

TEST_F(SchedulerTest, TimeoutKillsTheWholeProcessGroup) {
  DominoConfig config;
  config.kill_grace = std::chrono::milliseconds(100);
  auto& s = make(config);
  DagRun run;
  pid_t child = time_out_a_task_with_a_child(s, "sleep 30 & echo $! > child.pid; wait", &run);
  ASSERT_GT(child, 0);
  EXPECT_EQ(state(run, "t"), TaskState::kFailed);
  EXPECT_EQ(ti(run, "t").message, "timed out after 5s; process group killed");
  // The background sleep was in the group: it is gone too (or a zombie of init).
  EXPECT_TRUE(ends_within(child, std::chrono::seconds(10)));
}

TEST_F(SchedulerTest, TimeoutKillsAChildThatIgnoresSigterm) {
  DominoConfig config;
  config.kill_grace = std::chrono::seconds(3600);  // on the manual clock: never, in this test
  auto& s = make(config);
  DagRun run;
  // The shell dies of the SIGTERM; its child ignores it and is killed as the shell is reaped.
  pid_t child = time_out_a_task_with_a_child(
      s, "sh -c \"trap \\\"\\\" TERM; sleep 30\" & echo $! > child.pid; wait", &run);
  ASSERT_GT(child, 0);
  EXPECT_EQ(ti(run, "t").message, "timed out after 5s; process group killed");
  EXPECT_TRUE(ends_within(child, std::chrono::seconds(10)));
}

TEST_F(SchedulerTest, PoolsAndPrioritiesAndWhy) {
  DominoConfig config;
  config.pools["serial"] = 1;
  auto& s = make(config);
  s.set_dags(
      {dag("dag: p\ndefaults: {pool: serial}\ntasks:\n"
           "  - {id: low, type: shell, priority: 1, command: 'echo low >> order; sleep 0.2'}\n"
           "  - {id: high, type: shell, priority: 5, command: 'echo high >> order; sleep 0.2'}\n"
           "  - {id: mid, type: shell, priority: 3, command: 'echo mid >> order; sleep 0.2'}\n")});
  auto run = s.trigger("p", std::nullopt, {});
  ASSERT_TRUE(run_until([&] { return state(*run, "high") == TaskState::kRunning; }));
  EXPECT_EQ(state(*run, "mid"), TaskState::kQueued);
  EXPECT_EQ(ti(*run, "mid").message, "pool serial full (1/1, held by p.high)");
  ASSERT_TRUE(run_until([&] { return run_done(*run); }));
  EXPECT_EQ(read(project() / "order"), "high\nmid\nlow\n");
}

TEST_F(SchedulerTest, FreshRunsGoBeforeBackfillsAndParallelismHolds) {
  DominoConfig config;
  config.parallelism = 1;
  auto& s = make(config);
  s.set_dags(
      {dag("dag: daily\nschedule: '0 2 * * *'\nstart_date: 2026-11-01\nmax_active_runs: 5\n"
           "tasks:\n  - {id: t, type: shell, command: 'echo {{ run_id }} >> order'}\n")});
  auto back = s.backfill("daily", from_civil(2026, 11, 10), from_civil(2026, 11, 11, 23), false);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_EQ(back->size(), 2u);
  auto fresh = s.trigger("daily", from_civil(2026, 11, 22, 2), {});
  ASSERT_TRUE(run_until(
      [&] { return run_done(*fresh) && run_done(back->at(0)) && run_done(back->at(1)); }));
  EXPECT_EQ(read(project() / "order"),
            "manual__2026-11-22T02:00:00+00:00\nbackfill__2026-11-10T02:00:00+00:00\n"
            "backfill__2026-11-11T02:00:00+00:00\n");
  // A second backfill over the same dates creates nothing.
  EXPECT_TRUE(
      s.backfill("daily", from_civil(2026, 11, 10), from_civil(2026, 11, 11, 23), false)->empty());
}

TEST_F(SchedulerTest, MaxActiveRunsAndCatchup) {
  auto& s = make({}, /*scheduled_runs=*/true);
  // Now is 2026-11-23T12:00Z: with catch-up the runs of the 20th, 21st, 22nd are due.
  s.set_dags({dag("dag: cu\nschedule: '0 2 * * *'\nstart_date: 2026-11-20\ncatchup: true\n"
                  "max_active_runs: 1\ntasks:\n  - {id: t, type: shell, command: 'sleep 0.1'}\n"),
              dag("dag: nocu\nschedule: '0 2 * * *'\nstart_date: 2026-11-20\n"
                  "tasks:\n  - {id: t, type: shell, command: 'true'}\n")});
  ASSERT_TRUE(s.tick().is_ok());
  RunFilter f;
  f.dag_id = "cu";
  auto runs = store_->list_runs(f);
  ASSERT_EQ(runs->size(), 3u);
  int running = 0;
  for (const auto& r : *runs) running += r.state == RunState::kRunning;
  EXPECT_EQ(running, 1);
  EXPECT_EQ(runs->back().state, RunState::kRunning);  // the oldest first
  f.dag_id = "nocu";
  auto latest = store_->list_runs(f);
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ(latest->front().run_id, "scheduled__2026-11-22T02:00:00+00:00");
  EXPECT_EQ(latest->front().interval_end, from_civil(2026, 11, 23, 2));
  // A day later exactly one more run of each.
  clock_.advance_us(86400 * kUs);
  ASSERT_TRUE(s.tick().is_ok());
  f.dag_id = "nocu";
  EXPECT_EQ(store_->list_runs(f)->size(), 2u);
}

TEST_F(SchedulerTest, PausedDagsGetNoRunsStarted) {
  auto& s = make({}, true);
  s.set_dags(
      {dag("dag: p\nschedule: '0 2 * * *'\nstart_date: 2026-11-20\n"
           "tasks:\n  - {id: t, type: shell, command: 'true'}\n")});
  ASSERT_TRUE(store_->set_paused("p", true).is_ok());
  auto run = s.trigger("p", std::nullopt, {});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(s.tick().is_ok());
  RunFilter f;
  f.dag_id = "p";
  EXPECT_EQ(store_->list_runs(f)->size(), 1u);  // the trigger only: no scheduled run
  EXPECT_EQ(run_state(*run), RunState::kQueued);
  ASSERT_TRUE(store_->set_paused("p", false).is_ok());
  ASSERT_TRUE(run_until([&] { return run_done(*run); }));
}

TEST_F(SchedulerTest, CrossDagDependencyAllHoursOfDay) {
  auto& s = make();
  s.set_dags(
      {dag("dag: hourly\nschedule: '@hourly'\nstart_date: 2026-11-01\ntimezone: Asia/Shanghai\n"
           "tasks:\n  - {id: done, type: shell, command: 'true'}\n"),
       dag("dag: daily\ntimezone: Asia/Shanghai\ntasks:\n"
           "  - {id: wait, type: dependency, dag: hourly, task: done, mapping: all_hours_of_day, "
           "timeout: 1h}\n"
           "  - {id: after, type: shell, command: 'true', upstream: [wait]}\n")});
  auto tz = TimeZone::load("Asia/Shanghai").value();
  // 23 of the 24 hourly runs of 2026-11-22 (Shanghai) succeeded.
  UnixSeconds day = *parse_time("2026-11-22", tz);
  for (int h = 0; h < 24; ++h) {
    DagRun r;
    r.dag_id = "hourly";
    r.run_id = "h" + std::to_string(h);
    r.logical_date = r.interval_start = day + h * 3600;
    r.interval_end = r.interval_start + 3600;
    r.state = RunState::kSuccess;
    auto created = store_->create_run(r);
    TaskInstance t;
    t.run = created->id;
    t.task_id = "done";
    t.state = h == 23 ? TaskState::kRunning : TaskState::kSuccess;
    ASSERT_TRUE(store_->save_task_instance(t).is_ok());
  }
  auto run = s.trigger("daily", day, {});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(s.tick().is_ok());
  EXPECT_EQ(state(*run, "wait"), TaskState::kRunning);
  EXPECT_EQ(
      ti(*run, "wait").message,
      "dependency on DAG hourly task done for date 2026-11-22 not met (23 of 24 run(s) succeeded)");
  EXPECT_EQ(s.executing(), 0u);  // waiting holds no worker slot
  auto last = *store_->find_run("hourly", "h23");
  TaskInstance t = ti(*last, "done");
  t.state = TaskState::kSuccess;
  ASSERT_TRUE(store_->save_task_instance(t).is_ok());
  ASSERT_TRUE(run_until([&] { return run_done(*run); }));
  EXPECT_EQ(run_state(*run), RunState::kSuccess);
}

TEST_F(SchedulerTest, DependencyTimesOut) {
  auto& s = make();
  s.set_dags(
      {dag("dag: d\ntasks:\n"
           "  - {id: wait, type: dependency, dag: nothing, task: x, mapping: previous_day, "
           "timeout: 30m}\n")});
  auto run = s.trigger("d", from_civil(2026, 11, 23), {});
  ASSERT_TRUE(s.tick().is_ok());
  EXPECT_NE(ti(*run, "wait").message.find("for date 2026-11-22 not met"), std::string::npos);
  clock_.advance_us(31 * 60 * kUs);
  ASSERT_TRUE(s.tick().is_ok());
  EXPECT_EQ(state(*run, "wait"), TaskState::kFailed);
  ASSERT_TRUE(s.tick().is_ok());
  EXPECT_EQ(run_state(*run), RunState::kFailed);
}

TEST_F(SchedulerTest, RestartFailsVanishedProcessesAndWatchesLiveOnes) {
  Dag d = dag(
      "dag: r\ntasks:\n  - {id: gone, type: shell, command: 'true', retries: 1, retry_delay: 1m}\n"
      "  - {id: alive, type: shell, command: 'true'}\n");
  auto& s = make();
  s.set_dags({d});
  // A run as a crashed scheduler left it: both tasks "running".
  DagRun r;
  r.dag_id = "r";
  r.run_id = "manual__x";
  r.state = RunState::kRunning;
  r.dag_hash = d.hash;
  auto run = store_->create_run(r);
  CommandPlan sleeper;
  sleeper.argv = {"sleep", "0.5"};
  auto log = AttemptLog::open(data() / "sleeper.log", 1000);
  auto live = TaskProcess::start(sleeper, project(), *log);
  ASSERT_TRUE(live.is_ok());
  TaskInstance gone;
  gone.run = run->id;
  gone.task_id = "gone";
  gone.state = TaskState::kRunning;
  gone.try_number = 1;
  gone.pid = 999999;  // above the default pid_max: no such process
  gone.pid_token = "12345";
  ASSERT_TRUE(store_->save_task_instance(gone).is_ok());
  TaskInstance alive = gone;
  alive.task_id = "alive";
  alive.pid = (*live)->pid();
  alive.pid_token = process_start_token((*live)->pid());
  ASSERT_TRUE(store_->save_task_instance(alive).is_ok());

  ASSERT_TRUE(s.recover().is_ok());
  EXPECT_EQ(state(*run, "gone"), TaskState::kUpForRetry);
  EXPECT_EQ(ti(*run, "gone").message, "the task's process was gone after a scheduler restart");
  EXPECT_EQ(state(*run, "alive"), TaskState::kRunning);
  EXPECT_EQ(s.executing(), 1u);
  ASSERT_TRUE(s.tick().is_ok());
  EXPECT_EQ(state(*run, "alive"), TaskState::kRunning);  // not started a second time
  // Our test process reaps the sleeper; the scheduler then sees it gone.
  ASSERT_TRUE(run_until([&] {
    (*live)->poll();
    return state(*run, "alive") == TaskState::kFailed;
  }));
  EXPECT_NE(ti(*run, "alive").message.find("result is unknown"), std::string::npos);
}

TEST_F(SchedulerTest, ClearedTaskRerunsAndRunHashIsRecorded) {
  auto& s = make();
  Dag d = dag("dag: c\ntasks:\n  - {id: t, type: shell, command: 'echo x >> out'}\n");
  s.set_dags({d});
  auto run = s.trigger("c", std::nullopt, {});
  EXPECT_EQ(run->dag_hash, d.hash);
  ASSERT_TRUE(run_until([&] { return run_done(*run); }));
  EXPECT_EQ(store_->dag_versions("c")->size(), 1u);
}

TEST_F(SchedulerTest, LogsAreCapped) {
  DominoConfig config;
  config.log_max_bytes = 1000;
  auto& s = make(config);
  s.set_dags({dag(
      "dag: big\ntasks:\n  - {id: t, type: shell, command: 'yes 0123456789 | head -c 100000'}\n")});
  auto run = s.trigger("big", std::nullopt, {});
  ASSERT_TRUE(run_until([&] { return run_done(*run); }));
  EXPECT_EQ(run_state(*run), RunState::kSuccess);
  std::string log = read(store_->attempts(run->id, "t")->front().log_path);
  EXPECT_LT(log.size(), 1200u);
  EXPECT_NE(log.find("[domino: log truncated at 1000 bytes]"), std::string::npos);
}

// The started loop, on the real clock: passes come from events and timers, not from polling.
class SchedulerLoopTest : public SchedulerFixture {
 protected:
  Scheduler& start(std::chrono::milliseconds tick_interval, MetadataStore* store = nullptr) {
    SchedulerOptions o;
    o.project_dir = project();
    o.data_dir = data();
    o.config.tick_interval = tick_interval;
    scheduler_ = std::make_unique<Scheduler>(o, store ? *store : *store_, registry_);
    return *scheduler_;
  }
  // Waits (without ticking: the loop does) until `done` holds; false after `limit`.
  static bool eventually(const std::function<bool()>& done,
                         std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  }
};

TEST_F(SchedulerLoopTest, ProcessExitsAndTriggersWakeTheLoop) {
  // With a pass only every 60 s, a chain can only finish in time if each exit wakes the loop.
  auto& s = start(std::chrono::seconds(60));
  s.set_dags({dag(
      "dag: chain\ntasks:\n  - {id: a, type: shell, command: 'sleep 0.2; echo a >> order'}\n"
      "  - {id: b, type: shell, command: 'echo b >> order', upstream: [a]}\n"
      "  - {id: c, type: http, url: 'http://127.0.0.1:1/', upstream: [b], trigger_rule: all_done}\n"
      "  - {id: d, type: shell, command: 'echo d >> order', upstream: [c], trigger_rule: "
      "all_done}\n")});
  ASSERT_TRUE(s.start().is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the first pass is over
  auto run = s.trigger("chain", std::nullopt, {});
  ASSERT_TRUE(run.is_ok());
  ASSERT_TRUE(eventually([&] { return run_done(*run); }));
  EXPECT_EQ(read(project() / "order"), "a\nb\nd\n");
  EXPECT_EQ(state(*run, "c"), TaskState::kFailed);  // an in-process task's end wakes it too
}

TEST_F(SchedulerLoopTest, RetryTimerWakesTheLoop) {
  auto& s = start(std::chrono::seconds(60));
  s.set_dags(
      {dag("dag: flaky\ntasks:\n  - id: t\n    type: shell\n    retries: 1\n    retry_delay: 1s\n"
           "    command: 'echo x >> tries; test $(wc -l < tries) -ge 2'\n")});
  ASSERT_TRUE(s.start().is_ok());
  auto run = s.trigger("flaky", std::nullopt, {});
  ASSERT_TRUE(eventually([&] { return run_done(*run); }, std::chrono::seconds(8)));
  EXPECT_EQ(run_state(*run), RunState::kSuccess);
  EXPECT_EQ(ti(*run, "t").try_number, 2);
}

TEST_F(SchedulerLoopTest, SeesWritesOfOtherProcessesAndOperations) {
  auto& s = start(std::chrono::milliseconds(100));
  Dag d = dag("dag: w\ntasks:\n  - {id: t, type: shell, command: 'echo {{ run_id }} >> out'}\n");
  s.set_dags({d});
  ASSERT_TRUE(s.start().is_ok());
  // Another connection (as `basalt dag trigger` without a server) creates a run.
  auto other = open_sqlite_metadata_store(data() / "domino.db");
  ASSERT_TRUE(other.is_ok());
  DagRun r;
  r.dag_id = "w";
  r.run_id = "manual__from_cli";
  r.dag_hash = d.hash;
  auto run = (*other)->create_run(r);
  ASSERT_TRUE(run.is_ok());
  ASSERT_TRUE(eventually([&] { return run_done(*run); }));
  EXPECT_EQ(read(project() / "out"), "manual__from_cli\n");
  // A clear through this process's store object (as the API does) reruns the task.
  TaskInstance t = ti(*run, "t");
  t.state = TaskState::kNone;
  t.try_number = 0;
  DagRun again = *(*store_->run_by_id(run->id));
  again.state = RunState::kQueued;
  ASSERT_TRUE(store_
                  ->transaction([&]() -> Status {
                    BASALT_RETURN_IF_ERROR(store_->save_task_instance(t));
                    return store_->update_run(again);
                  })
                  .is_ok());
  ASSERT_TRUE(eventually(
      [&] { return read(project() / "out") == "manual__from_cli\nmanual__from_cli\n"; }));
  ASSERT_TRUE(eventually([&] { return run_done(*run); }));
}

TEST_F(SchedulerLoopTest, TwoSchedulersShareAPostgresStoreAndRunEachTaskOnce) {
  auto pg = testing::PostgresServer::start();
  ASSERT_TRUE(pg.is_ok()) << pg.status().message();
  auto store_a = open_postgres_metadata_store((*pg)->url());
  auto store_b = open_postgres_metadata_store((*pg)->url());
  ASSERT_TRUE(store_a.is_ok()) << store_a.status().message();
  ASSERT_TRUE(store_b.is_ok()) << store_b.status().message();
  auto make_one = [&](MetadataStore& store, const std::string& id) {
    SchedulerOptions o;
    o.project_dir = project();
    o.data_dir = data();
    o.clock = &clock_;
    o.create_scheduled_runs = false;
    o.scheduler_id = id;
    o.claim_batch = 3;
    return std::make_unique<Scheduler>(o, store, registry_);
  };
  auto a = make_one(**store_a, "a");
  auto b = make_one(**store_b, "b");
  Dag d =
      dag("dag: daily\nschedule: '@daily'\nstart_date: 2026-11-01\nmax_active_runs: 6\ntasks:\n"
          "  - {id: t, type: shell, command: 'echo {{ ds }} >> out'}\n"
          "  - {id: u, type: shell, command: 'echo {{ ds }}u >> out', upstream: [t]}\n");
  a->set_dags({d});
  b->set_dags({d});
  auto runs = a->backfill("daily", from_civil(2026, 11, 10), from_civil(2026, 11, 15), false);
  ASSERT_TRUE(runs.is_ok()) << runs.status().message();
  ASSERT_EQ(runs->size(), 6u);
  ASSERT_TRUE(a->recover().is_ok());  // a claims the first 3
  ASSERT_TRUE(b->recover().is_ok());  // b the other 3
  auto done = [&] {
    for (const auto& r : *runs) {
      auto s = (*(*store_a)->run_by_id(r.id))->state;
      if (s != RunState::kSuccess && s != RunState::kFailed) return false;
    }
    return true;
  };
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done() && std::chrono::steady_clock::now() < end) {
    ASSERT_TRUE(a->tick().is_ok());
    ASSERT_TRUE(b->tick().is_ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(done());
  std::map<std::string, int> owners;
  for (const auto& r : *runs) {
    auto now = *(*store_a)->run_by_id(r.id);
    EXPECT_EQ(now->state, RunState::kSuccess);
    ++owners[now->owner];
    EXPECT_EQ((*store_a)->attempts(r.id, "t")->size(), 1u);  // started once, by its owner
  }
  EXPECT_EQ(owners["a"], 3);
  EXPECT_EQ(owners["b"], 3);
  // Each task ran exactly once: 12 lines, no repeats.
  std::string out = read(project() / "out");
  std::istringstream lines(out);
  std::set<std::string> seen;
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count)
    EXPECT_TRUE(seen.insert(line).second) << line;
  EXPECT_EQ(count, 12) << out;
  a.reset();
  b.reset();
}

}  // namespace
}  // namespace basalt::domino
