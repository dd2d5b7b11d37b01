#include "domino/task_types/sql_engine.h"

#include <duckdb.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>

#include <cstdlib>
#include <memory>
#include <variant>

#include "warehouse/warehouse.h"

namespace basalt::domino {

std::string redact_engine(const std::string& engine) {
  // postgres://user:secret@host/db → postgres://user:***@host/db; password=secret → password=***
  std::string out = engine;
  auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    auto at = out.find('@', scheme);
    auto colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (auto pos = out.find("password="); pos != std::string::npos;
       pos = out.find("password=", pos + 1)) {
    auto end = out.find_first_of(" &", pos);
    out.replace(pos + 9, (end == std::string::npos ? out.size() : end) - pos - 9, "***");
  }
  return out;
}

Status check_sql_engine(const std::string& engine) {
  if (engine == "warehouse" || (engine.rfind("duckdb:", 0) == 0 && engine.size() > 7)) {
    return Status::ok();
  }
  if (engine.rfind("postgres:", 0) == 0) {
    if (engine.size() > 9) return Status::ok();
    return invalid_argument(
        "engine postgres: needs a connection (postgres:postgres://user@host/db)");
  }
  if (engine.rfind("clickhouse:", 0) == 0) {
    return warehouse::clickhouse_options_from_url(engine.substr(11)).status();
  }
  return invalid_argument(fmt::format(
      "unknown engine '{}' (known: warehouse, duckdb:<file>, postgres:<conn>, clickhouse:<url>)",
      engine));
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

// Runs `sql` (one or more statements) on PostgreSQL. The outcome is that of the last statement
// returning rows (else the last one); `cancelled` turning true cancels the query on the server.
Result<SqlOutcome> run_on_postgres(const std::string& conninfo, const std::string& sql,
                                   const std::atomic<bool>& cancelled) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  auto error_text = [&] {
    std::string m = PQerrorMessage(conn.get());
    while (!m.empty() && m.back() == '\n') m.pop_back();
    return m;
  };
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return unavailable("cannot connect to PostgreSQL: " + error_text());
  }
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  if (!PQsendQuery(conn.get(), sql.c_str())) return unavailable("PostgreSQL: " + error_text());
  bool cancel_sent = false;
  while (PQisBusy(conn.get())) {
    if (cancelled && !cancel_sent) {
      std::unique_ptr<PGcancel, decltype(&PQfreeCancel)> c(PQgetCancel(conn.get()), &PQfreeCancel);
      char err[256];
      if (c) PQcancel(c.get(), err, sizeof err);
      cancel_sent = true;
    }
    pollfd pfd{PQsocket(conn.get()), POLLIN, 0};
    ::poll(&pfd, 1, 100);
    if (!PQconsumeInput(conn.get())) return unavailable("PostgreSQL: " + error_text());
  }
  SqlOutcome out;
  std::optional<Status> failure;
  bool have_rows = false;
  while (PGresult* r = PQgetResult(conn.get())) {
    std::unique_ptr<PGresult, decltype(&PQclear)> res(r, &PQclear);
    auto st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK) {
      out = SqlOutcome{};
      have_rows = true;
      out.rows = static_cast<size_t>(PQntuples(r));
      if (out.rows > 0 && PQnfields(r) > 0 && !PQgetisnull(r, 0, 0)) {
        std::string v(PQgetvalue(r, 0, 0), PQgetlength(r, 0, 0));
        // Booleans come back as t/f in text form.
        if (PQftype(r, 0) == 16) v = v == "t" ? "true" : "false";
        out.first_value = v;
      }
    } else if (st == PGRES_COMMAND_OK) {
      if (!have_rows) out.rows = static_cast<size_t>(std::strtoull(PQcmdTuples(r), nullptr, 10));
    } else if (!failure) {
      std::string m = PQresultErrorMessage(r);
      while (!m.empty() && m.back() == '\n') m.pop_back();
      failure = cancel_sent
                    ? Status(StatusCode::kDeadlineExceeded, "PostgreSQL query cancelled: " + m)
                    : invalid_argument("PostgreSQL: " + m);
    }
  }
  if (failure) return *failure;
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
                           const std::filesystem::path& project_dir,
                           const std::atomic<bool>& cancelled) {
  if (engine.rfind("postgres:", 0) == 0) return run_on_postgres(engine.substr(9), sql, cancelled);
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
  if (engine.rfind("postgres:", 0) == 0) {
    // postgres:NAME names a connection of domino.connections in basalt.yaml.
    auto named = c.config.connections.find(engine.substr(9));
    if (named != c.config.connections.end()) engine = "postgres:" + named->second;
  }
  InProcessPlan p;
  p.run = [engine, sql = *sql, w = c.warehouse, dir = c.project_dir, judge = std::move(judge)](
              const LogWriter& log, const std::atomic<bool>& cancelled) -> Status {
    log(fmt::format("[{}] {}\n", redact_engine(engine), sql));
    auto r = run_sql(engine, sql, w, dir, cancelled);
    if (!r) return r.status();
    return judge(*r, log);
  };
  return TaskPlan(std::move(p));
}

}  // namespace basalt::domino
