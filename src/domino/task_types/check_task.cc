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
  Status validate(const TaskSpec& t) const override { return validate_sql_task(t, name()); }
  Result<TaskPlan> plan(const TaskRunContext& c) const override {
    return plan_sql_task(c, [](const SqlOutcome& r, const LogWriter& log) -> Status {
      std::string shown = r.rows == 0 ? "no row" : r.first_value.value_or("NULL");
      log(fmt::format("check returned {}\n", shown));
      if (r.rows == 0 || !r.first_value || !truthy(*r.first_value)) {
        return failed_precondition(fmt::format("check failed: the query returned {}", shown));
      }
      return Status::ok();
    });
  }
};

}  // namespace
std::unique_ptr<TaskType> make_check_task_type() { return std::make_unique<CheckTaskType>(); }
}  // namespace basalt::domino
