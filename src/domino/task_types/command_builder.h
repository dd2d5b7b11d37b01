#pragma once
// Builds the command line of a task type that runs a configured tool with rendered fields:
//   CommandBuilder b(context, "hadoop");     // argv = domino.tools.hadoop, split
//   b.literal({"jar"}).field("jar").field("class").list("args");
//   return b.plan();
// field() and list() render the task's field through its templates and append it (a field
// absent or rendering empty adds nothing); the first error is kept and returned by plan().

#include <initializer_list>
#include <optional>
#include <string>

#include "domino/task_type.h"

namespace basalt::domino {

class CommandBuilder {
 public:
  CommandBuilder(const TaskRunContext& context, const std::string& tool);

  CommandBuilder& literal(std::initializer_list<const char*> words);
  // `before…` then the rendered value of string field `key`, when it is set and non-empty.
  CommandBuilder& field(const char* key, std::initializer_list<const char*> before = {});
  // Each rendered item of list field `key`.
  CommandBuilder& list(const char* key);
  // The command, or the first rendering error.
  Result<TaskPlan> plan();

 private:
  const TaskRunContext& context_;
  CommandPlan command_;
  std::optional<Status> error_;
};

}  // namespace basalt::domino
