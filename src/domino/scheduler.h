#pragma once
// The Domino scheduler: turns schedules into DAG runs, walks each run's task graph with trigger
// rules, starts ready task instances within the concurrency limits, watches them (timeouts,
// retries), and records everything in the MetadataStore.
//
// One pass is tick(); start() runs passes on a background thread until stop(). Time comes from
// the injected Clock, so tests drive scheduling logic with a ManualClock; processes are real.
//
// Ordering of ready tasks: higher priority first; within a priority, scheduled and manual runs
// before backfill runs; then older logical dates; then the DAG's task order.
// Limits: DominoConfig::parallelism (task instances holding a worker slot), pools
// (DominoConfig::pools; a task names its pool), per DAG max_active_runs (runs in state running)
// and max_active_tasks. Dependency tasks hold no slot.
//
// Several schedulers may share one store (PostgreSQL): each drives only the runs it holds a
// lease on (MetadataStore::claim_runs), taking at most `claim_batch` new runs a claim, and
// takes over the runs of a scheduler whose lease ran out. Limits are per scheduler.
//
// Restart: recover() fails running instances whose process is gone (retried per policy); an
// instance whose process still runs (same pid and start time) stays running and is watched
// until it exits, then counts as failed, so nothing runs twice at the same time.
//
// Thread safety: every public method may be called from any thread; a mutex serialises them.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "domino/dag.h"
#include "domino/domino_config.h"
#include "domino/metadata_store.h"
#include "domino/task_type.h"

namespace basalt::warehouse {
class Warehouse;
}

namespace basalt::domino {

struct SchedulerOptions {
  std::filesystem::path project_dir;  // tasks run here; dags/ is read from here
  std::filesystem::path data_dir;     // logs/ go here
  DominoConfig config;
  const Clock* clock = &SystemClock::instance();
  warehouse::Warehouse* warehouse = nullptr;  // for sql/check tasks on engine "warehouse"
  bool create_scheduled_runs = true;  // false: only run what exists (backfill in the foreground)
  // This scheduler's name in run leases (MetadataStore::claim_runs); "" → the host name. Two
  // schedulers sharing a store need different names; a restarted one keeps its name, so it
  // takes its runs back at once.
  std::string scheduler_id;
  std::chrono::milliseconds lease{30'000};  // a run's lease; renewed every third of it
  size_t claim_batch = 1000;  // new runs taken per claim (fresh before backfill, oldest first)
};

// The template variables of one task instance.
TemplateContext template_context(const Dag& dag, const DagRun& run, const std::string& task_id);
// "scheduled__2026-11-23T02:00:00+08:00", "manual__…", "backfill__…".
std::string make_run_id(RunType type, UnixSeconds logical_date, const TimeZone& tz);

class Scheduler {
 public:
  Scheduler(SchedulerOptions options, MetadataStore& store, const TaskRegistry& registry);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Replaces the DAG definitions (records each hash). Runs of DAGs no longer defined stay as
  // they are.
  void set_dags(std::vector<Dag> dags);
  // Loads project_dir/dags; returns the DAG errors (file:line) and keeps the valid DAGs.
  std::vector<std::string> reload_dags();

  Status recover();
  Status tick();
  // Runs recover(), then tick() on a background thread whenever wait() returns: passes are
  // event-driven, with at least one every config.tick_interval (to see writes by other
  // processes). REQUIRES: not started.
  Status start();
  // Stops the loop; kills the process groups of running tasks and records them as failed
  // (retried per policy after the next start). Idempotent.
  void stop();

  // Operations (also available on the store directly for a CLI without a server).
  Result<DagRun> trigger(const std::string& dag_id, std::optional<UnixSeconds> logical_date,
                         const nlohmann::json& params);
  // Creates backfill runs for the intervals with logical dates in [from, to]; existing runs
  // are kept, or cleared when failed and `rerun_failed`. Returns the runs created or cleared.
  Result<std::vector<DagRun>> backfill(const std::string& dag_id, UnixSeconds from, UnixSeconds to,
                                       bool rerun_failed);
  // The current definition of a DAG, or null; all DAGs sorted by id.
  std::shared_ptr<const Dag> find_dag(const std::string& id) const;
  std::vector<std::shared_ptr<const Dag>> all_dags() const;
  // Number of task instances currently executing (processes, threads) and waiting dependency
  // tasks.
  size_t executing() const;
  // True when there is no queued or running run.
  Result<bool> idle();
  // Blocks until something a pass should handle happens (a task process exits or an in-process
  // task ends, an operation or stop() is called, a timer of a retry, timeout or schedule is
  // due) or `max` has passed. Output of running tasks is moved to their logs meanwhile.
  void wait(std::chrono::milliseconds max);

 private:
  struct Execution;
  struct ActiveRun;
  class Waker;

  Status refresh(int64_t now_us);
  Status reload(int64_t now_us);
  Result<std::set<int64_t>> claim(int64_t now_us);
  Status create_due_runs(int64_t now_us);
  Status promote_queued_runs(int64_t now_us);
  Status evaluate(ActiveRun& r, bool check_dependencies, int64_t now_us);
  Status finish_executions(int64_t now_us);
  Status start_ready(int64_t now_us);
  Status start_instance(ActiveRun& r, TaskInstance& ti, int64_t now_us);
  Status complete(Execution& e, bool ok, int exit_code, const std::string& message, int64_t now_us);
  Status check_dependency(const Dag& dag, const DagRun& run, TaskInstance& ti, int64_t now_us);
  Result<bool> paused(const std::string& dag_id);
  // The next pass should run by `us` (clock time) at the latest.
  void wake_at(int64_t us) { next_wake_us_ = std::min(next_wake_us_, us); }
  void alert(const Dag& dag, const std::string& text);
  const Dag* dag(const std::string& id) const;
  void loop();

  SchedulerOptions options_;
  MetadataStore& store_;
  const TaskRegistry& registry_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Dag>> dags_;  // protected by mu_
  std::vector<std::unique_ptr<Execution>> executions_;      // protected by mu_
  // The queued and running runs with their task instances, by DagRun::id: the store is the
  // durable record, written through in each pass's transaction; this copy is reloaded when the
  // store's version() shows a write by someone else. Protected by mu_.
  std::map<int64_t, ActiveRun> active_;
  std::optional<uint64_t> store_version_;  // protected by mu_; nullopt: reload
  std::map<std::string, bool> paused_;     // protected by mu_; cache of is_paused
  std::map<std::string, int64_t> due_us_;  // protected by mu_; next scheduled run due
  int64_t next_wake_us_ = 0;               // protected by mu_
  int64_t next_dependency_check_us_ = 0;   // protected by mu_
  int64_t next_claim_us_ = 0;              // protected by mu_
  std::string owner_;                      // scheduler_id or the host name
  std::shared_ptr<Waker> waker_;
  std::thread thread_;
  std::mutex wake_mu_;
  bool stopping_ = false;  // protected by wake_mu_
};

}  // namespace basalt::domino
