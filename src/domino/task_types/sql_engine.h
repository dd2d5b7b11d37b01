#pragma once
// Runs SQL for the sql and check task types on the engine a task names:
//   warehouse        the project's warehouse (handed to the scheduler)
//   duckdb:<file>    a DuckDB database file (relative to the project folder), opened per attempt
// postgres:<conn> and clickhouse:<url> are refused until those engines exist.

#include <filesystem>
#include <optional>
#include <string>

#include "common/status.h"

namespace basalt::warehouse {
class Warehouse;
}

namespace basalt::domino {

struct SqlOutcome {
  std::optional<std::string> first_value;  // first column of the first row, as text; nullopt: NULL or no row
  size_t rows = 0;
};

Status check_sql_engine(const std::string& engine);

// REQUIRES: check_sql_engine(engine) is ok. `warehouse` may be null (then "warehouse" fails).
Result<SqlOutcome> run_sql(const std::string& engine, const std::string& sql,
                           warehouse::Warehouse* warehouse,
                           const std::filesystem::path& project_dir);

}  // namespace basalt::domino
