// hive: `sql` (-e) or `file` (-f) through domino.tools.hive (e.g. "beeline -u jdbc:hive2://h:10000"),
// each of `hivevars` passed as --hivevar k=v.

#include "domino/task_types/task_types.h"

namespace basalt::domino {
namespace {

class HiveTaskType final : public TaskType {
 public:
  std::string_view name() const override { return "hive"; }
  std::vector<std::string> keys() const override { return {"sql", "file", "hivevars"}; }
  Status validate(const TaskSpec& t) const override {
    if (field_string(t, "sql").empty() == field_string(t, "file").empty()) {
      return invalid_argument("a hive task needs exactly one of sql: or file:");
    }
    if (t.fields.contains("hivevars") && !t.fields["hivevars"].is_object()) {
      return invalid_argument("hivevars must be a mapping");
    }
    return Status::ok();
  }
  Result<TaskPlan> plan(const TaskRunContext& c) const override {
    CommandPlan p;
    p.argv = split_command(c.config.tool("hive"));
    if (c.task.fields.contains("hivevars")) {
      for (const auto& [k, v] : c.task.fields["hivevars"].items()) {
        auto r = render_template(v.is_string() ? v.get<std::string>() : v.dump(), c.templates);
        if (!r) return r.status();
        p.argv.insert(p.argv.end(), {"--hivevar", k + "=" + *r});
      }
    }
    bool inline_sql = c.task.fields.contains("sql");
    auto body = rendered_string(c, inline_sql ? "sql" : "file");
    if (!body) return body.status();
    p.argv.insert(p.argv.end(), {inline_sql ? "-e" : "-f", *body});
    return TaskPlan(std::move(p));
  }
};

}  // namespace
std::unique_ptr<TaskType> make_hive_task_type() { return std::make_unique<HiveTaskType>(); }
}  // namespace basalt::domino
