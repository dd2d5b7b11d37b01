#include "domino/task_types/sql_engine.h"

#include <duckdb.h>
#include <fmt/format.h>

#include <variant>

#include "warehouse/warehouse.h"

namespace basalt::domino {

Status check_sql_engine(const std::string& engine) {
  if (engine == "warehouse" || (engine.rfind("duckdb:", 0) == 0 && engine.size() > 7)) {
    return Status::ok();
  }
  if (engine.rfind("clickhouse:", 0) == 0) {
    return warehouse::clickhouse_options_from_url(engine.substr(11)).status();
  }
  if (engine.rfind("postgres:", 0) == 0) {
    return invalid_argument(fmt::format("engine '{}' is not supported yet", engine));
  }
  return invalid_argument(fmt::format(
      "unknown engine '{}' (known: warehouse, duckdb:<file>, clickhouse:<url>)", engine));
}

namespace {

Result<SqlOutcome> run_on_duckdb_file(const std::filesystem::path& file, const std::string& sql) {
  duckdb_database db = nullptr;
  char* open_error = nullptr;
  if (duckdb_open_ext(file.c_str(), &db, nullptr, &open_error) == DuckDBError) {
    std::string m = open_error ? open_error : "unknown error";
    duckdb_free(open_error);
    return unavailable(fmt::format("cannot open DuckDB file {}: {}", file.string(), m));
  }
  duckdb_connection con = nullptr;
  if (duckdb_connect(db, &con) == DuckDBError) {
    duckdb_close(&db);
    return unavailable("cannot connect to DuckDB file " + file.string());
  }
  duckdb_result result;
  Result<SqlOutcome> out = SqlOutcome{};
  if (duckdb_query(con, sql.c_str(), &result) == DuckDBError) {
    out = invalid_argument(duckdb_result_error(&result));
  } else {
    SqlOutcome o;
    o.rows = duckdb_row_count(&result);
    if (o.rows > 0 && duckdb_column_count(&result) > 0 && !duckdb_value_is_null(&result, 0, 0)) {
      char* v = duckdb_value_varchar(&result, 0, 0);
      o.first_value = v ? v : "";
      duckdb_free(v);
    }
    out = o;
  }
  duckdb_destroy_result(&result);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  return out;
}

std::optional<std::string> value_text(const warehouse::Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return std::nullopt;
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
  return std::get<std::string>(v);
}

}  // namespace

Result<SqlOutcome> run_sql(const std::string& engine, const std::string& sql,
                           warehouse::Warehouse* warehouse,
                           const std::filesystem::path& project_dir) {
  std::unique_ptr<warehouse::Warehouse> clickhouse;  // clickhouse:<url>, opened per attempt
  if (engine.rfind("clickhouse:", 0) == 0) {
    auto options = warehouse::clickhouse_options_from_url(engine.substr(11));
    if (!options) return options.status();
    auto opened = warehouse::make_warehouse(*options);
    if (!opened) return opened.status();
    clickhouse = std::move(*opened);
    warehouse = clickhouse.get();
  }
  if (engine == "warehouse" || clickhouse) {
    if (!warehouse) return failed_precondition("no warehouse is open in this process");
    warehouse::QueryOptions options;
    options.max_rows = 1;
    options.timeout = std::chrono::hours(24);
    auto r = warehouse->query(sql, options);
    if (!r) return r.status();
    SqlOutcome o;
    o.rows = r->rows.size();
    if (!r->rows.empty() && !r->rows[0].empty()) o.first_value = value_text(r->rows[0][0]);
    return o;
  }
  std::filesystem::path file = engine.substr(7);
  if (file.is_relative()) file = project_dir / file;
  return run_on_duckdb_file(file, sql);
}

Status validate_sql_task(const TaskSpec& task, std::string_view type_name) {
  if (field_string(task, "sql").empty()) {
    return invalid_argument(fmt::format("a {} task needs sql:", type_name));
  }
  std::string engine = field_string(task, "engine");
  return check_sql_engine(engine.empty() ? "warehouse" : engine);
}

Result<TaskPlan> plan_sql_task(const TaskRunContext& c, SqlJudge judge) {
  auto sql = rendered_string(c, "sql");
  if (!sql) return sql.status();
  std::string engine = field_string(c.task, "engine");
  if (engine.empty()) engine = "warehouse";
  InProcessPlan p;
  p.run = [engine, sql = *sql, w = c.warehouse, dir = c.project_dir, judge = std::move(judge)](
              const LogWriter& log, const std::atomic<bool>&) -> Status {
    log(fmt::format("[{}] {}\n", engine, sql));
    auto r = run_sql(engine, sql, w, dir);
    if (!r) return r.status();
    return judge(*r, log);
  };
  return TaskPlan(std::move(p));
}

}  // namespace basalt::domino
