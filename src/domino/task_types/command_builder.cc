#include "domino/task_types/command_builder.h"

namespace basalt::domino {

CommandBuilder::CommandBuilder(const TaskRunContext& context, const std::string& tool)
    : context_(context) {
  command_.argv = split_command(context.config.tool(tool));
}

CommandBuilder& CommandBuilder::literal(std::initializer_list<const char*> words) {
  for (const char* w : words) command_.argv.emplace_back(w);
  return *this;
}

CommandBuilder& CommandBuilder::field(const char* key, std::initializer_list<const char*> before) {
  if (error_ || !context_.task.fields.contains(key)) return *this;
  auto value = rendered_string(context_, key);
  if (!value) {
    error_ = value.status();
    return *this;
  }
  if (value->empty()) return *this;
  literal(before);
  command_.argv.push_back(*value);
  return *this;
}

CommandBuilder& CommandBuilder::list(const char* key) {
  if (error_) return *this;
  auto items = rendered_list(context_, key);
  if (!items) {
    error_ = items.status();
    return *this;
  }
  command_.argv.insert(command_.argv.end(), items->begin(), items->end());
  return *this;
}

Result<TaskPlan> CommandBuilder::plan() {
  if (error_) return *error_;
  return TaskPlan(std::move(command_));
}

}  // namespace basalt::domino
