// shell: `command` run by the configured shell (domino.tools.shell, default /bin/sh) with -c.

#include "domino/task_types/task_types.h"

namespace basalt::domino {
namespace {

class ShellTaskType final : public TaskType {
 public:
  std::string_view name() const override { return "shell"; }
  std::vector<std::string> keys() const override { return {"command", "env"}; }
  Status validate(const TaskSpec& t) const override {
    if (field_string(t, "command").empty()) return invalid_argument("a shell task needs command:");
    if (t.fields.contains("env") && !t.fields["env"].is_object()) return invalid_argument("env must be a mapping");
    return Status::ok();
  }
  Result<TaskPlan> plan(const TaskRunContext& c) const override {
    auto command = rendered_string(c, "command");
    if (!command) return command.status();
    CommandPlan p;
    p.argv = split_command(c.config.tool("shell"));
    p.argv.push_back("-c");
    p.argv.push_back(*command);
    if (c.task.fields.contains("env")) {
      for (const auto& [k, v] : c.task.fields["env"].items()) {
        auto r = render_template(v.is_string() ? v.get<std::string>() : v.dump(), c.templates);
        if (!r) return r.status();
        p.env[k] = *r;
      }
    }
    return TaskPlan(std::move(p));
  }
};

}  // namespace
std::unique_ptr<TaskType> make_shell_task_type() { return std::make_unique<ShellTaskType>(); }
}  // namespace basalt::domino
