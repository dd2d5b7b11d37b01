// dependency: waits, without holding a worker slot, until task `task` of DAG `dag` succeeded
// for the mapped logical date(s). `mapping`: same_date (default), previous_day,
// all_hours_of_day (every run of that DAG whose logical date falls on ds), or {offset: -1d}.
// The task's `timeout` bounds the wait.

#include <fmt/format.h>

#include "common/config.h"
#include "domino/task_types/task_types.h"

namespace basalt::domino {
namespace {

Result<int> offset_days(const nlohmann::json& mapping) {
  if (mapping.is_null() || mapping == "same_date") return 0;
  if (mapping == "previous_day") return -1;
  if (mapping == "all_hours_of_day") return 0;
  if (mapping.is_object() && mapping.contains("offset") && mapping["offset"].is_string()) {
    std::string s = mapping["offset"].get<std::string>();
    bool negative = !s.empty() && s[0] == '-';
    auto d = parse_duration(negative ? s.substr(1) : s);
    if (!d || d->count() % (86400ll * 1000000) != 0) {
      return invalid_argument(fmt::format("mapping offset '{}' must be whole days, like -1d", s));
    }
    int days = static_cast<int>(d->count() / (86400ll * 1000000));
    return negative ? -days : days;
  }
  return invalid_argument("mapping must be same_date, previous_day, all_hours_of_day or {offset: -Nd}");
}

class DependencyTaskType final : public TaskType {
 public:
  std::string_view name() const override { return "dependency"; }
  std::vector<std::string> keys() const override { return {"dag", "task", "mapping"}; }
  Status validate(const TaskSpec& t) const override {
    if (field_string(t, "dag").empty() || field_string(t, "task").empty()) {
      return invalid_argument("a dependency task needs dag: and task:");
    }
    auto m = offset_days(t.fields.contains("mapping") ? t.fields["mapping"] : nlohmann::json());
    return m.status();
  }
  Result<TaskPlan> plan(const TaskRunContext& c) const override {
    const nlohmann::json mapping = c.task.fields.contains("mapping") ? c.task.fields["mapping"] : nlohmann::json();
    auto days = offset_days(mapping);
    if (!days) return days.status();
    auto ds = c.templates.vars.find("ds");
    if (ds == c.templates.vars.end()) return internal_error("ds is not set");
    auto date = ds_add(ds->second, *days);
    if (!date) return date.status();
    DependencyPlan p;
    p.dag = field_string(c.task, "dag");
    p.task = field_string(c.task, "task");
    p.dates = {*date};
    p.all_runs_of_day = mapping == "all_hours_of_day";
    return TaskPlan(std::move(p));
  }
};

}  // namespace
std::unique_ptr<TaskType> make_dependency_task_type() { return std::make_unique<DependencyTaskType>(); }
}  // namespace basalt::domino
