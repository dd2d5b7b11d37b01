#include <fmt/format.h>

#include "domino/task_type.h"
#include "domino/task_types/task_types.h"

namespace basalt::domino {

void TaskRegistry::add(std::unique_ptr<TaskType> type) { types_.push_back(std::move(type)); }

const TaskType* TaskRegistry::find(std::string_view name) const {
  for (const auto& t : types_) if (t->name() == name) return t.get();
  return nullptr;
}

std::vector<std::string> TaskRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& t : types_) out.emplace_back(t->name());
  return out;
}

TaskRegistry make_default_task_registry() {
  TaskRegistry r;
  r.add(make_shell_task_type());
  r.add(make_sql_task_type());
  r.add(make_check_task_type());
  r.add(make_http_task_type());
  r.add(make_php_task_type());
  r.add(make_java_task_type());
  r.add(make_python_task_type());
  r.add(make_hive_task_type());
  r.add(make_mapreduce_task_type());
  r.add(make_spark_task_type());
  r.add(make_dependency_task_type());
  return r;
}

std::string field_string(const TaskSpec& task, const char* key) {
  if (!task.fields.contains(key)) return "";
  const auto& v = task.fields[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

Result<std::string> rendered_string(const TaskRunContext& context, const char* key) {
  return render_template(field_string(context.task, key), context.templates);
}

Result<std::vector<std::string>> rendered_list(const TaskRunContext& context, const char* key) {
  std::vector<std::string> out;
  if (!context.task.fields.contains(key)) return out;
  const auto& v = context.task.fields[key];
  auto one = [&](const nlohmann::json& x) -> Status {
    auto r = render_template(x.is_string() ? x.get<std::string>() : x.dump(), context.templates);
    if (!r) return r.status();
    out.push_back(*r);
    return Status::ok();
  };
  if (v.is_array()) {
    for (const auto& x : v) BASALT_RETURN_IF_ERROR(one(x));
  } else {
    BASALT_RETURN_IF_ERROR(one(v));
  }
  return out;
}

std::vector<std::string> split_command(const std::string& command) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : command) {
    if (quote) {
      if (c == quote) quote = 0; else cur += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(std::move(cur));
  return out;
}

}  // namespace basalt::domino
