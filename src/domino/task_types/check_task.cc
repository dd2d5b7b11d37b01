// check: a data-quality gate. `sql` must return one value that is true (true, t, 1, or any
// non-zero number); anything else, NULL or no row fails the task.

#include <fmt/format.h>

#include "domino/task_types/sql_engine.h"
#include "domino/task_types/task_types.h"

namespace basalt::domino {
namespace {

bool truthy(const std::string& v) {
  if (v == "true" || v == "t" || v == "TRUE" || v == "True") return true;
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  return !v.empty() && end == v.c_str() + v.size() && d != 0;
}

class CheckTaskType final : public TaskType {
 public:
  std::string_view name() const override { return "check"; }
  std::vector<std::string> keys() const override { return {"sql", "engine"}; }
  Status validate(const TaskSpec& t) const override {
    if (field_string(t, "sql").empty()) return invalid_argument("a check task needs sql:");
    std::string engine = field_string(t, "engine");
    return check_sql_engine(engine.empty() ? "warehouse" : engine);
  }
  Result<TaskPlan> plan(const TaskRunContext& c) const override {
    auto sql = rendered_string(c, "sql");
    if (!sql) return sql.status();
    std::string engine = field_string(c.task, "engine");
    if (engine.empty()) engine = "warehouse";
    InProcessPlan p;
    p.run = [engine, sql = *sql, w = c.warehouse, dir = c.project_dir](
                const LogWriter& log, const std::atomic<bool>&) -> Status {
      log(fmt::format("[{}] {}\n", engine, sql));
      auto r = run_sql(engine, sql, w, dir);
      if (!r) return r.status();
      std::string shown = r->first_value.value_or("NULL");
      log(fmt::format("check returned {}\n", r->rows == 0 ? "no row" : shown));
      if (r->rows == 0 || !r->first_value || !truthy(*r->first_value)) {
        return failed_precondition(fmt::format("check failed: the query returned {}",
                                               r->rows == 0 ? "no row" : shown));
      }
      return Status::ok();
    };
    return TaskPlan(std::move(p));
  }
};

}  // namespace
std::unique_ptr<TaskType> make_check_task_type() { return std::make_unique<CheckTaskType>(); }
}  // namespace basalt::domino
