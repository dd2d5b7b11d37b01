#pragma once
// The DAG model: what a dags/*.yaml file declares, validated. Loading reports every problem as
// "file:line: message" (cycles, unknown upstreams, unknown task types, bad cron, bad templates).

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "domino/cron_schedule.h"
#include "domino/time_zone.h"

namespace basalt::domino {

class TaskRegistry;

enum class TriggerRule { kAllSuccess, kAllDone, kOneFailed, kOneSuccess };
enum class RetryBackoff { kFixed, kExponential };

const char* trigger_rule_name(TriggerRule rule);

struct TaskSpec {
  std::string id;
  std::string type;
  int line = 0;  // 1-based line of the task in its file
  std::vector<std::string> upstream;
  TriggerRule trigger_rule = TriggerRule::kAllSuccess;
  int retries = 0;
  std::chrono::seconds retry_delay{60};
  RetryBackoff retry_backoff = RetryBackoff::kFixed;
  std::chrono::seconds max_retry_delay{3600};
  std::chrono::seconds timeout{0};  // 0: none
  std::optional<std::chrono::seconds> sla;
  std::string pool = "default";
  int priority = 0;
  // The type's own keys (sql, command, url, ...) as JSON, and the line of each key.
  nlohmann::json fields = nlohmann::json::object();
  std::map<std::string, int> field_lines;

  // The delay before try number `next_try` (2 = first retry).
  std::chrono::seconds retry_delay_for(int next_try) const;
};

struct Dag {
  std::string id;
  std::string description;
  std::string owner;
  std::filesystem::path file;
  std::optional<CronSchedule> schedule;  // none: manual/triggered only
  TimeZone tz = TimeZone::utc();
  UnixSeconds start_date = 0;
  std::optional<UnixSeconds> end_date;
  bool catchup = false;
  int max_active_runs = 16;
  int max_active_tasks = 16;
  nlohmann::json params = nlohmann::json::object();
  std::string alert_webhook;  // alerts.webhook: POSTed on failure, retry exhaustion, SLA miss
  std::vector<TaskSpec> tasks;  // in topological order
  std::string hash;             // of the definition, hex; recorded with every run
  std::map<std::string, size_t> task_index;  // id → position in tasks (set by the loader)

  const TaskSpec* task(const std::string& id) const;
  // Direct downstream task ids of `id`.
  std::vector<std::string> downstream(const std::string& id) const;
};

// One data interval of a scheduled DAG (Airflow semantics): the run with logical date `start`
// covers [start, end) and becomes due at `end`.
struct DataInterval {
  UnixSeconds start = 0;
  UnixSeconds end = 0;
};

// The intervals whose logical date (start) lies in [from, to], at most `limit`.
std::vector<DataInterval> intervals_between(const Dag& dag, UnixSeconds from, UnixSeconds to,
                                            size_t limit = 100000);
// The interval that starts at `logical_date`, if the schedule fires there.
std::optional<DataInterval> interval_at(const Dag& dag, UnixSeconds logical_date);

struct DagSet {
  std::vector<Dag> dags;
  std::vector<std::string> errors;  // "file:line: message"
  const Dag* find(const std::string& id) const;
};

struct DagParse {
  std::optional<Dag> dag;           // set when there is no error
  std::vector<std::string> errors;  // "file:line: message"
};

// Parses one DAG file's text. `file` names it in errors.
DagParse parse_dag(const std::string& text, const std::filesystem::path& file,
                   const TaskRegistry& registry);

// Loads every dags/*.yaml (and .yml) of a project, sorted by file name. Duplicate DAG ids are
// errors. A file with errors contributes no DAG.
DagSet load_dags(const std::filesystem::path& dags_dir, const TaskRegistry& registry);

}  // namespace basalt::domino
