// java: `jar` (java -jar JAR args) or `class` with `classpath` (java -cp CP CLASS args), with
// optional `jvm_args`, through domino.tools.java.

#include "domino/task_types/task_types.h"

namespace basalt::domino {
namespace {

class JavaTaskType final : public TaskType {
 public:
  std::string_view name() const override { return "java"; }
  std::vector<std::string> keys() const override { return {"jar", "class", "classpath", "args", "jvm_args"}; }
  Status validate(const TaskSpec& t) const override {
    if (field_string(t, "jar").empty() == field_string(t, "class").empty()) {
      return invalid_argument("a java task needs exactly one of jar: or class:");
    }
    return Status::ok();
  }
  Result<TaskPlan> plan(const TaskRunContext& c) const override {
    CommandPlan p;
    p.argv = split_command(c.config.tool("java"));
    auto jvm = rendered_list(c, "jvm_args");
    if (!jvm) return jvm.status();
    p.argv.insert(p.argv.end(), jvm->begin(), jvm->end());
    if (c.task.fields.contains("jar")) {
      auto jar = rendered_string(c, "jar");
      if (!jar) return jar.status();
      p.argv.insert(p.argv.end(), {"-jar", *jar});
    } else {
      auto cp = rendered_string(c, "classpath");
      if (!cp) return cp.status();
      if (!cp->empty()) p.argv.insert(p.argv.end(), {"-cp", *cp});
      auto cls = rendered_string(c, "class");
      if (!cls) return cls.status();
      p.argv.push_back(*cls);
    }
    auto args = rendered_list(c, "args");
    if (!args) return args.status();
    p.argv.insert(p.argv.end(), args->begin(), args->end());
    return TaskPlan(std::move(p));
  }
};

}  // namespace
std::unique_ptr<TaskType> make_java_task_type() { return std::make_unique<JavaTaskType>(); }
}  // namespace basalt::domino
