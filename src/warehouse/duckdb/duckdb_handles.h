#pragma once
// Owning wrappers for DuckDB C API handles, so every exit path releases them. Private to
// warehouse/duckdb.

#include <duckdb.h>

#include <string>
#include <utility>

#include "common/status.h"

namespace basalt::warehouse::duck {

// Owns one handle of type T released by Release(&handle). T is a pointer-like handle
// (duckdb_prepared_statement, duckdb_appender, …) that is null when nothing is owned.
template <typename T, auto Release>
class Owned {
 public:
  Owned() = default;
  explicit Owned(T h) : h_(h) {}
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  Owned(Owned&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Owned& operator=(Owned&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  ~Owned() { reset(); }

  void reset() {
    if (h_) Release(&h_);
    h_ = nullptr;
  }
  T get() const { return h_; }
  // For C functions that fill a handle: the previous one is released first.
  T* out() {
    reset();
    return &h_;
  }

 private:
  T h_ = nullptr;
};

using Database = Owned<duckdb_database, duckdb_close>;
using Connection = Owned<duckdb_connection, duckdb_disconnect>;
using Prepared = Owned<duckdb_prepared_statement, duckdb_destroy_prepare>;
using Appender = Owned<duckdb_appender, duckdb_appender_destroy>;
using DataChunk = Owned<duckdb_data_chunk, duckdb_destroy_data_chunk>;
using LogicalType = Owned<duckdb_logical_type, duckdb_destroy_logical_type>;
using Config = Owned<duckdb_config, duckdb_destroy_config>;

// A duckdb_result, destroyed with it (it must be destroyed even when the query failed).
class QueryResult {
 public:
  QueryResult() = default;
  QueryResult(const QueryResult&) = delete;
  QueryResult& operator=(const QueryResult&) = delete;
  ~QueryResult() { duckdb_destroy_result(&r_); }
  duckdb_result* get() { return &r_; }

 private:
  duckdb_result r_{};
};

// The Status for a failed result: the engine's message with a code chosen by its error type.
Status status_of(duckdb_result* result);
// The code for an engine error type: refused SQL → kInvalidArgument, interrupt →
// kDeadlineExceeded, I/O → kUnavailable, internal/fatal → kInternal.
StatusCode code_of(duckdb_error_type type);

// Runs `sql` (any number of statements) on `conn`; the engine's error on failure.
Status exec(duckdb_connection conn, const std::string& sql);

}  // namespace basalt::warehouse::duck
