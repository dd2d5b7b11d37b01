#pragma once
// A query request of the query API, parsed and checked from its JSON form (docs/query_api.md):
// a metrics query, or an analysis (funnel, retention, distribution, activity) on a model.
// Parsing checks shapes and spellings only; names are checked against the model by the
// compiler. Nothing of a request ever becomes SQL text except through the compiler's
// validated identifiers and bound parameters.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "semantic/dialect.h"
#include "warehouse/warehouse.h"

namespace basalt::semantic {

enum class FilterOp {
  kEq,
  kNe,
  kIn,
  kNotIn,
  kGt,
  kGe,
  kLt,
  kLe,
  kBetween,
  kContains,
  kStartsWith,
  kIsNull,
  kIsNotNull,
};
const char* filter_op_name(FilterOp op);

struct Filter {
  std::string field;  // a dimension name, or a metric name when on_metric
  bool on_metric = false;
  FilterOp op = FilterOp::kEq;
  std::vector<warehouse::Value> values;
};

enum class Compare { kNone, kPreviousPeriod, kSamePeriodLastWeek, kSamePeriodLastYear };

struct TimeSpec {
  // Either an explicit range of local times "YYYY-MM-DD[THH:MM[:SS]]" (a date end includes its
  // whole day; a time end is exclusive) or a relative range name.
  std::string start, end;
  std::string relative;  // today, yesterday, last_N_days, this_week, last_week, this_month, …
  std::optional<Grain> grain;
};

struct OrderBy {
  std::string field;
  bool desc = false;
};

struct FunnelStep {
  std::string event;  // shorthand for a filter on the dimension "event"
  std::vector<Filter> filters;
};

enum class QueryType { kMetrics, kFunnel, kRetention, kDistribution, kActivity };

struct Query {
  QueryType type = QueryType::kMetrics;
  std::string model;
  std::vector<std::string> metrics;
  std::vector<std::string> dimensions;
  std::optional<TimeSpec> time;
  std::vector<Filter> filters;
  Compare compare = Compare::kNone;
  std::vector<OrderBy> order;
  std::optional<uint64_t> limit;

  // funnel
  std::vector<FunnelStep> steps;
  int64_t window_seconds = 86400;
  std::string breakdown;  // a dimension
  // retention
  FunnelStep start, returning;
  Grain period = Grain::kDay;
  int periods = 7;
  // distribution: a measure per user, bucketed by boundaries
  std::string measure;
  std::vector<double> buckets;
};

// Parses the request body (only the query's members; "format", "async" and "timeout_ms" are the
// API's). kInvalidArgument names the member and what it must be.
Result<Query> parse_query(const nlohmann::json& body);

// The query's canonical JSON, the same for requests that differ only in member order or
// whitespace: the result cache's key.
std::string normalised_query(const nlohmann::json& body);

}  // namespace basalt::semantic
