#pragma once
// MetadataStore: Domino's durable state — DAGs (paused flag, definition hashes), DAG runs, task
// instances and their attempts. SQLite now (sqlite_metadata_store.h); PostgreSQL later, with
// several schedulers claiming work, so the interface speaks in whole rows and small queries.
//
// Times: logical dates and intervals in Unix seconds; event times (created, started, ended,
// next try) in Unix microseconds, names ending in _us.
//
// Thread safety: implementations are safe to call from any thread.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "domino/time_zone.h"

namespace basalt::domino {

enum class RunState { kQueued, kRunning, kSuccess, kFailed };
enum class RunType { kScheduled, kManual, kBackfill };
// scheduled → queued → running → success | failed | up_for_retry | skipped | upstream_failed;
// kNone: not considered yet (upstreams not done).
enum class TaskState {
  kNone,
  kScheduled,
  kQueued,
  kRunning,
  kSuccess,
  kFailed,
  kUpForRetry,
  kSkipped,
  kUpstreamFailed,
};

const char* run_state_name(RunState s);
const char* run_type_name(RunType t);
const char* task_state_name(TaskState s);
std::optional<RunState> parse_run_state(const std::string& s);
std::optional<TaskState> parse_task_state(const std::string& s);
// success, failed, skipped, upstream_failed.
bool is_finished(TaskState s);

struct DagRun {
  int64_t id = 0;  // assigned by create_run
  std::string dag_id;
  std::string run_id;  // "scheduled__2026-11-23T02:00:00+08:00", unique per DAG
  RunType type = RunType::kScheduled;
  RunState state = RunState::kQueued;
  UnixSeconds logical_date = 0;
  UnixSeconds interval_start = 0;
  UnixSeconds interval_end = 0;
  std::string dag_hash;
  nlohmann::json params = nlohmann::json::object();  // trigger-time overrides
  int64_t created_us = 0, started_us = 0, ended_us = 0;
  // The scheduler driving the run while it is active, and until when (see claim_runs);
  // "" for a run nobody has claimed yet.
  std::string owner;
  int64_t lease_until_us = 0;
};

struct TaskInstance {
  int64_t run = 0;  // DagRun::id
  std::string task_id;
  TaskState state = TaskState::kNone;
  int try_number = 0;       // attempts started so far
  int64_t next_try_us = 0;  // up_for_retry: not before this
  int64_t pid = 0;          // running process (its process group id)
  std::string pid_token;    // the process's start time, so a reused pid is not mistaken for it
  std::string host;
  int64_t started_us = 0, ended_us = 0;
  std::string message;  // why it failed, or what it waits for
};

struct TaskAttempt {
  int64_t run = 0;
  std::string task_id;
  int try_number = 0;
  TaskState state = TaskState::kRunning;
  int64_t started_us = 0, ended_us = 0;
  int64_t pid = 0;
  int exit_code = -1;
  std::string log_path;
  std::string message;
};

struct DagVersion {
  std::string hash;
  int64_t first_seen_us = 0;
};

struct RunFilter {
  std::string dag_id;  // empty: all
  std::optional<RunState> state;
  std::optional<UnixSeconds> from;  // logical date ≥
  std::optional<UnixSeconds> to;    // logical date ≤
  size_t limit = 100;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // Runs `fn` (which calls this store) as one transaction: committed when it returns ok,
  // rolled back otherwise. Other threads' calls wait until it ends.
  virtual Status transaction(const std::function<Status()>& fn) = 0;

  // A number that changes whenever a write is committed, through this object or by another
  // connection or process. A cache of the store's state (the scheduler's active runs) reads it
  // at the end of its own transaction and again before its next one: a different number means
  // someone else changed the state, and the cache is reloaded. Numbers are comparable only
  // between calls on the same store object.
  virtual Result<uint64_t> version() = 0;

  // Records that `dag_id` is defined with `hash`; a new hash adds a version.
  virtual Status record_dag(const std::string& dag_id, const std::string& hash, int64_t now_us) = 0;
  virtual Result<std::vector<DagVersion>> dag_versions(const std::string& dag_id) = 0;
  virtual Result<bool> is_paused(const std::string& dag_id) = 0;
  virtual Status set_paused(const std::string& dag_id, bool paused) = 0;

  // kAlreadyExists when the DAG already has a run with this run_id. Returns it with its id.
  virtual Result<DagRun> create_run(const DagRun& run) = 0;
  virtual Status update_run(const DagRun& run) = 0;
  virtual Result<std::optional<DagRun>> find_run(const std::string& dag_id,
                                                 const std::string& run_id) = 0;
  virtual Result<std::optional<DagRun>> run_by_id(int64_t id) = 0;
  // Newest logical date first.
  virtual Result<std::vector<DagRun>> list_runs(const RunFilter& filter) = 0;
  // Queued and running runs, oldest first.
  virtual Result<std::vector<DagRun>> active_runs() = 0;
  // Sharing work between schedulers on one store: an active run is driven only by the
  // scheduler holding its lease. Renews the leases `owner` holds to `lease_until_us`, and takes
  // up to `limit` more active runs that nobody holds or whose lease ended before `now_us`,
  // skipping those another scheduler is claiming at this moment (FOR UPDATE SKIP LOCKED on
  // PostgreSQL). Returns the ids of every active run `owner` holds, ascending.
  virtual Result<std::vector<int64_t>> claim_runs(const std::string& owner, int64_t now_us,
                                                  int64_t lease_until_us, size_t limit) = 0;
  // The latest logical date of a scheduled run of the DAG.
  virtual Result<std::optional<UnixSeconds>> last_scheduled_date(const std::string& dag_id) = 0;

  virtual Result<std::vector<TaskInstance>> task_instances(int64_t run) = 0;
  virtual Status save_task_instance(const TaskInstance& ti) = 0;
  // Every task instance in state running, across runs.
  virtual Result<std::vector<TaskInstance>> running_task_instances() = 0;
  // The state of `task_id` in each run of `dag_id` whose logical date is in [from, to).
  virtual Result<std::vector<std::pair<DagRun, TaskState>>> task_states_between(
      const std::string& dag_id, const std::string& task_id, UnixSeconds from, UnixSeconds to) = 0;

  virtual Status save_attempt(const TaskAttempt& attempt) = 0;
  virtual Result<std::vector<TaskAttempt>> attempts(int64_t run, const std::string& task_id) = 0;
};

// Opens (creating if needed) the SQLite database at `path` in WAL mode.
Result<std::unique_ptr<MetadataStore>> open_sqlite_metadata_store(
    const std::filesystem::path& path);
// Connects to PostgreSQL (a libpq URL or key=value string) and creates the tables if needed.
Result<std::unique_ptr<MetadataStore>> open_postgres_metadata_store(const std::string& conninfo);
// The store named by `domino.store`: "" → DATA_DIR/domino.db; "postgres://…" or
// "postgresql://…" → PostgreSQL; "sqlite:PATH" or a path → that SQLite file (relative to
// `data_dir`).
Result<std::unique_ptr<MetadataStore>> open_metadata_store(const std::string& spec,
                                                           const std::filesystem::path& data_dir);

}  // namespace basalt::domino
