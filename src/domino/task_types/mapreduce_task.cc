// mapreduce: `hadoop jar JAR [CLASS] args...` through domino.tools.hadoop.

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
    CommandPlan p;
    p.argv = split_command(c.config.tool("hadoop"));
    auto jar = rendered_string(c, "jar");
    if (!jar) return jar.status();
    p.argv.insert(p.argv.end(), {"jar", *jar});
    if (c.task.fields.contains("class")) {
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
std::unique_ptr<TaskType> make_mapreduce_task_type() { return std::make_unique<MapReduceTaskType>(); }
}  // namespace basalt::domino
