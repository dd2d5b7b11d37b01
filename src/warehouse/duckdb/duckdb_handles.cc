#include "warehouse/duckdb/duckdb_handles.h"

namespace basalt::warehouse::duck {

StatusCode code_of(duckdb_error_type type) {
  switch (type) {
    case DUCKDB_ERROR_INTERRUPT:
      return StatusCode::kDeadlineExceeded;
    case DUCKDB_ERROR_IO:
    case DUCKDB_ERROR_CONNECTION:
    case DUCKDB_ERROR_HTTP:
      return StatusCode::kUnavailable;
    case DUCKDB_ERROR_OUT_OF_MEMORY:
      return StatusCode::kResourceExhausted;
    case DUCKDB_ERROR_INTERNAL:
    case DUCKDB_ERROR_FATAL:
      return StatusCode::kInternal;
    case DUCKDB_ERROR_TRANSACTION:
      return StatusCode::kFailedPrecondition;
    default:
      return StatusCode::kInvalidArgument;
  }
}

Status status_of(duckdb_result* result) {
  const char* msg = duckdb_result_error(result);
  return {code_of(duckdb_result_error_type(result)), msg ? msg : "unknown DuckDB error"};
}

Status exec(duckdb_connection conn, const std::string& sql) {
  QueryResult r;
  if (duckdb_query(conn, sql.c_str(), r.get()) == DuckDBError) return status_of(r.get());
  return Status::ok();
}

}  // namespace basalt::warehouse::duck
