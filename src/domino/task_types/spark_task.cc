// spark: `spark-submit [--master M] [--class C] [--conf k=v]... APPLICATION args...` through
// domino.tools.spark.

#include "domino/task_types/task_types.h"

namespace basalt::domino {
namespace {

class SparkTaskType final : public TaskType {
 public:
  std::string_view name() const override { return "spark"; }
  std::vector<std::string> keys() const override { return {"application", "class", "master", "conf", "args"}; }
  Status validate(const TaskSpec& t) const override {
    if (field_string(t, "application").empty()) return invalid_argument("a spark task needs application:");
    if (t.fields.contains("conf") && !t.fields["conf"].is_object()) return invalid_argument("conf must be a mapping");
    return Status::ok();
  }
  Result<TaskPlan> plan(const TaskRunContext& c) const override {
    CommandPlan p;
    p.argv = split_command(c.config.tool("spark"));
    for (const char* key : {"master", "class"}) {
      if (!c.task.fields.contains(key)) continue;
      auto v = rendered_string(c, key);
      if (!v) return v.status();
      p.argv.insert(p.argv.end(), {std::string("--") + key, *v});
    }
    if (c.task.fields.contains("conf")) {
      for (const auto& [k, v] : c.task.fields["conf"].items()) {
        auto r = render_template(v.is_string() ? v.get<std::string>() : v.dump(), c.templates);
        if (!r) return r.status();
        p.argv.insert(p.argv.end(), {"--conf", k + "=" + *r});
      }
    }
    auto app = rendered_string(c, "application");
    if (!app) return app.status();
    p.argv.push_back(*app);
    auto args = rendered_list(c, "args");
    if (!args) return args.status();
    p.argv.insert(p.argv.end(), args->begin(), args->end());
    return TaskPlan(std::move(p));
  }
};

}  // namespace
std::unique_ptr<TaskType> make_spark_task_type() { return std::make_unique<SparkTaskType>(); }
}  // namespace basalt::domino
