// java: `jar` (java -jar JAR args) or `class` with `classpath` (java -cp CP CLASS args), with
// optional `jvm_args`, through domino.tools.java.

#include "domino/task_types/command_builder.h"
#include "domino/task_types/task_types.h"

namespace basalt::domino {
namespace {

class JavaTaskType final : public TaskType {
 public:
  std::string_view name() const override { return "java"; }
  std::vector<std::string> keys() const override {
    return {"jar", "class", "classpath", "args", "jvm_args"};
  }
  Status validate(const TaskSpec& t) const override {
    if (field_string(t, "jar").empty() == field_string(t, "class").empty()) {
      return invalid_argument("a java task needs exactly one of jar: or class:");
    }
    return Status::ok();
  }
  Result<TaskPlan> plan(const TaskRunContext& c) const override {
    CommandBuilder b(c, "java");
    b.list("jvm_args");
    if (c.task.fields.contains("jar")) {
      b.field("jar", {"-jar"});
    } else {
      b.field("classpath", {"-cp"}).field("class");
    }
    return b.list("args").plan();
  }
};

}  // namespace
std::unique_ptr<TaskType> make_java_task_type() { return std::make_unique<JavaTaskType>(); }
}  // namespace basalt::domino
