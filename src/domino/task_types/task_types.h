#pragma once
// Factories of the built-in task types, one per file in this folder. Private to domino: only
// task_registry.cc includes this.

#include <memory>

#include "domino/task_type.h"

namespace basalt::domino {

std::unique_ptr<TaskType> make_shell_task_type();
std::unique_ptr<TaskType> make_sql_task_type();
std::unique_ptr<TaskType> make_check_task_type();
std::unique_ptr<TaskType> make_http_task_type();
std::unique_ptr<TaskType> make_php_task_type();
std::unique_ptr<TaskType> make_java_task_type();
std::unique_ptr<TaskType> make_python_task_type();
std::unique_ptr<TaskType> make_hive_task_type();
std::unique_ptr<TaskType> make_mapreduce_task_type();
std::unique_ptr<TaskType> make_spark_task_type();
std::unique_ptr<TaskType> make_dependency_task_type();


}  // namespace basalt::domino
