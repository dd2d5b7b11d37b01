#pragma once
// Runs SQL for the sql and check task types on the engine a task names:
//   warehouse        the project's warehouse (handed to the scheduler)
//   duckdb:<file>    a DuckDB database file (relative to the project folder), opened per attempt
//   postgres:<conn>  PostgreSQL through libpq: a URL (postgres://user@host/db), a key=value
//                    string, or the name of a connection in domino.connections; connected per
//                    attempt, cancelled on the server when the attempt times out
//   clickhouse:<url> a ClickHouse server, clickhouse://user:password@host:8123/database (or
//                    http://…), connected per attempt

#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "domino/task_type.h"

namespace basalt::warehouse {
class Warehouse;
}

namespace basalt::domino {

struct SqlOutcome {
  std::optional<std::string>
      first_value;  // first column of the first row, as text; nullopt: NULL or no row
  size_t rows = 0;
};

Status check_sql_engine(const std::string& engine);

// REQUIRES: check_sql_engine(engine) is ok. `warehouse` may be null (then "warehouse" fails).
// `cancelled` turning true cancels a PostgreSQL query.
Result<SqlOutcome> run_sql(const std::string& engine, const std::string& sql,
                           warehouse::Warehouse* warehouse,
                           const std::filesystem::path& project_dir,
                           const std::atomic<bool>& cancelled);
// The engine text with any password replaced by ***, for logs.
std::string redact_engine(const std::string& engine);

// What the sql and check task types share: `validate` needs a non-empty `sql:` and a known
// `engine:` (default warehouse); `plan` renders the SQL, logs it, runs it and hands the outcome
// to `judge`, whose Status is the attempt's result.
using SqlJudge = std::function<Status(const SqlOutcome& outcome, const LogWriter& log)>;
Status validate_sql_task(const TaskSpec& task, std::string_view type_name);
Result<TaskPlan> plan_sql_task(const TaskRunContext& context, SqlJudge judge);

}  // namespace basalt::domino
