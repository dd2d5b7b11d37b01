#pragma once
// The query compiler: a parsed Query on a ModelSet → one SQL statement in a Dialect, with its
// bound parameters, and the shape of its answer. Request values only ever become bound
// parameters; names become SQL only after they are found in the model (and then as the
// model's own validated identifiers and snippets).
//
// Derived metrics are computed from the measures aggregated first (ratios of sums, never sums
// of ratios); joins are many_to_one or one_to_one (the loader refuses others), so a join never
// multiplies the rows a measure aggregates.
//
// Thread safety: compile() is a pure function of its arguments.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "domino/time_zone.h"
#include "semantic/dialect.h"
#include "semantic/model.h"
#include "semantic/query.h"
#include "semantic/time_range.h"
#include "warehouse/warehouse.h"

namespace basalt::semantic {

struct CompileContext {
  const Dialect* dialect = nullptr;
  std::string timezone = "UTC";  // IANA name, bound as a parameter
  const domino::TimeZone* tz = nullptr;
  int64_t now_us = 0;          // for relative ranges
  uint64_t max_rows = 100000;  // the row cap; a larger "limit" is refused
  // The warehouse's rollups, when the compiler may answer from them (null: read the models'
  // tables only). A metrics or retention query on the events table reads them only when the
  // answer is the same as from the events (rollup_applies in compiler.cc lists the rules).
  const warehouse::RollupInfo* rollups = nullptr;
};

struct ColumnMeta {
  std::string name;
  std::string kind;    // time, dimension, metric, compare, change, value
  std::string format;  // number, currency, percent, or "" for dimensions
  std::string description;
};

struct CompiledQuery {
  QueryType type = QueryType::kMetrics;
  std::string model;
  std::string sql;
  std::vector<warehouse::Value> params;
  std::vector<ColumnMeta> columns;  // of the final answer (after reshape)
  bool has_range = false;
  LocalRange range;  // the queried local range when has_range
  // Funnel: step labels; whether the first SQL column is the breakdown.
  std::vector<std::string> steps;
  bool breakdown = false;
  // Distribution: the bucket boundaries.
  std::vector<double> buckets;
  // What the statement reads, for cache invalidation: tables, and the event-time span
  // [scope_start_us, scope_end_us) of the model's rows it can see (unbounded when no range).
  std::vector<std::string> tables;
  bool from_rollup = false;  // the statement reads the rollups instead of the events
  int64_t scope_start_us = INT64_MIN;
  int64_t scope_end_us = INT64_MAX;
};

// kInvalidArgument for unknown models, dimensions, metrics, bad combinations (e.g. a comparison
// without a time range); the message names the field and lists what is known.
Result<CompiledQuery> compile(const Query& query, const ModelSet& models,
                              const CompileContext& ctx);

// The answer rows from the warehouse result of `compiled.sql`: unchanged for metrics and
// retention; funnels become one row per step, distributions one row per bucket.
warehouse::QueryResult reshape(const CompiledQuery& compiled, warehouse::QueryResult result);

}  // namespace basalt::semantic
