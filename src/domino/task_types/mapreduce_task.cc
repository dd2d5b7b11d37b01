// mapreduce: `hadoop jar JAR [CLASS] args...` through domino.tools.hadoop.

#include "domino/task_types/command_builder.h"
#include "domino/task_types/task_types.h"

namespace basalt::domino {
namespace {

class MapReduceTaskType final : public TaskType {
 public:
  std::string_view name() const override { return "mapreduce"; }
  std::vector<std::string> keys() const override { return {"jar", "class", "args"}; }
  Status validate(const TaskSpec& t) const override {
    if (field_string(t, "jar").empty()) return invalid_argument("a mapreduce task needs jar:");
    return Status::ok();
  }
  Result<TaskPlan> plan(const TaskRunContext& c) const override {
    return CommandBuilder(c, "hadoop")
        .literal({"jar"})
        .field("jar")
        .field("class")
        .list("args")
        .plan();
  }
};

}  // namespace
std::unique_ptr<TaskType> make_mapreduce_task_type() {
  return std::make_unique<MapReduceTaskType>();
}
}  // namespace basalt::domino
