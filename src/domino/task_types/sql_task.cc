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
  Status validate(const TaskSpec& t) const override {
    if (field_string(t, "sql").empty()) return invalid_argument("a sql task needs sql:");
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
      log(fmt::format("ok, {} row(s)\n", r->rows));
      return Status::ok();
    };
    return TaskPlan(std::move(p));
  }
};

}  // namespace
std::unique_ptr<TaskType> make_sql_task_type() { return std::make_unique<SqlTaskType>(); }
}  // namespace basalt::domino
