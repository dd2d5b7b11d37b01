// python: `script` with `args`, or inline `code`, through domino.tools.python.

#include "domino/task_types/task_types.h"

namespace basalt::domino {
namespace {

class PythonTaskType final : public TaskType {
 public:
  std::string_view name() const override { return "python"; }
  std::vector<std::string> keys() const override { return {"script", "code", "args"}; }
  Status validate(const TaskSpec& t) const override {
    if (field_string(t, "script").empty() == field_string(t, "code").empty()) {
      return invalid_argument("a python task needs exactly one of script: or code:");
    }
    return Status::ok();
  }
  Result<TaskPlan> plan(const TaskRunContext& c) const override {
    CommandPlan p;
    p.argv = split_command(c.config.tool("python"));
    bool inline_code = c.task.fields.contains("code");
    auto body = rendered_string(c, inline_code ? "code" : "script");
    if (!body) return body.status();
    if (inline_code) p.argv.push_back("-c");
    p.argv.push_back(*body);
    auto args = rendered_list(c, "args");
    if (!args) return args.status();
    p.argv.insert(p.argv.end(), args->begin(), args->end());
    return TaskPlan(std::move(p));
  }
};

}  // namespace
std::unique_ptr<TaskType> make_python_task_type() { return std::make_unique<PythonTaskType>(); }
}  // namespace basalt::domino
