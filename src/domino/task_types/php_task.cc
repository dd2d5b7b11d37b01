// php: `script` with `args`, through domino.tools.php.

#include "domino/task_types/task_types.h"

namespace basalt::domino {
namespace {

class PhpTaskType final : public TaskType {
 public:
  std::string_view name() const override { return "php"; }
  std::vector<std::string> keys() const override { return {"script", "args"}; }
  Status validate(const TaskSpec& t) const override {
    if (field_string(t, "script").empty()) return invalid_argument("a php task needs script:");
    return Status::ok();
  }
  Result<TaskPlan> plan(const TaskRunContext& c) const override {
    auto script = rendered_string(c, "script");
    if (!script) return script.status();
    auto args = rendered_list(c, "args");
    if (!args) return args.status();
    CommandPlan p;
    p.argv = split_command(c.config.tool("php"));
    p.argv.push_back(*script);
    p.argv.insert(p.argv.end(), args->begin(), args->end());
    return TaskPlan(std::move(p));
  }
};

}  // namespace
std::unique_ptr<TaskType> make_php_task_type() { return std::make_unique<PhpTaskType>(); }
}  // namespace basalt::domino
