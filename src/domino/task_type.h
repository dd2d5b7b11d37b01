#pragma once
// TaskType: what one kind of task (shell, sql, hive, ...) needs to be validated and run. Each
// type is one small class in task_types/; TaskRegistry lists them, filled in explicitly by
// make_default_task_registry() (task_registry.cc), the one place a new type is added.
//
// A type does not run anything itself: plan() turns a task and its rendered templates into
//  - a CommandPlan (a process the executor starts in its own process group, output to the log),
//  - an InProcessPlan (a function the executor calls on a worker thread: SQL, HTTP), or
//  - a DependencyPlan (a condition on another DAG's task the scheduler checks without holding
//    a worker slot).

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "domino/dag.h"
#include "domino/domino_config.h"
#include "domino/template.h"

namespace basalt::warehouse {
class Warehouse;
}

namespace basalt::domino {

struct CommandPlan {
  std::vector<std::string> argv;  // argv[0] is looked up on PATH
  std::map<std::string, std::string> env;  // added to the scheduler's environment
  std::filesystem::path cwd;               // empty: the project folder
};

// Appends text to the attempt's log. Thread-safe for one plan.
using LogWriter = std::function<void(std::string_view)>;

struct InProcessPlan {
  // Runs to completion on a worker thread; an error fails the attempt. `cancelled` turns true
  // when the attempt times out; long work should check it.
  std::function<Status(const LogWriter& log, const std::atomic<bool>& cancelled)> run;
};

struct DependencyPlan {
  std::string dag;
  std::string task;
  std::vector<std::string> dates;  // ds values (YYYY-MM-DD) of the upstream DAG's runs
  bool all_runs_of_day = false;    // every run whose logical date falls on each date
};

using TaskPlan = std::variant<CommandPlan, InProcessPlan, DependencyPlan>;

struct TaskRunContext {
  const Dag& dag;
  const TaskSpec& task;
  TemplateContext templates;
  const DominoConfig& config;
  warehouse::Warehouse* warehouse = nullptr;  // the project's warehouse; null when none
  std::filesystem::path project_dir;
};

class TaskType {
 public:
  virtual ~TaskType() = default;
  virtual std::string_view name() const = 0;
  // The type's own keys, for "unknown key" errors.
  virtual std::vector<std::string> keys() const = 0;
  // Checks the type's fields (required keys, value shapes). Templates are checked by the loader.
  virtual Status validate(const TaskSpec& task) const = 0;
  virtual Result<TaskPlan> plan(const TaskRunContext& context) const = 0;
};

class TaskRegistry {
 public:
  void add(std::unique_ptr<TaskType> type);
  const TaskType* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::vector<std::unique_ptr<TaskType>> types_;
};

// Every built-in type: shell sql http php java python hive mapreduce spark dependency check.
TaskRegistry make_default_task_registry();

// Helpers for task types.
// The string at `key` of the task's fields, or "" when absent.
std::string field_string(const TaskSpec& task, const char* key);
// A list of strings at `key` (a YAML sequence, or one string), rendered.
Result<std::vector<std::string>> rendered_list(const TaskRunContext& context, const char* key);
Result<std::string> rendered_string(const TaskRunContext& context, const char* key);
// Splits a configured command ("/usr/bin/beeline -u jdbc:hive2://h:10000") on blanks, with
// '...' and "..." quoting.
std::vector<std::string> split_command(const std::string& command);

}  // namespace basalt::domino
