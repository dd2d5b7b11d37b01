// sql: runs `sql` on `engine` (default warehouse); see sql_engine.h.

#include <fmt/format.h>

#include "domino/task_types/sql_engine.h"
#include "domino/task_types/task_types.h"

namespace basalt::domino {
namespace {

class SqlTaskType final : public TaskType {
 public:
  std::string_view name() const override { return "sql"; }
  std::vector<std::string> keys() const override { return {"sql", "engine"}; }
  Status validate(const TaskSpec& t) const override { return validate_sql_task(t, name()); }
  Result<TaskPlan> plan(const TaskRunContext& c) const override {
    return plan_sql_task(c, [](const SqlOutcome& r, const LogWriter& log) {
      log(fmt::format("ok, {} row(s)\n", r.rows));
      return Status::ok();
    });
  }
};

}  // namespace
std::unique_ptr<TaskType> make_sql_task_type() { return std::make_unique<SqlTaskType>(); }
}  // namespace basalt::domino
