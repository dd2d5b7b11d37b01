#include "semantic/duckdb_dialect.h"

#include <fmt/format.h>

namespace basalt::semantic {

const char* grain_name(Grain g) {
  switch (g) {
    case Grain::kMinute:
      return "minute";
    case Grain::kHour:
      return "hour";
    case Grain::kDay:
      return "day";
    case Grain::kWeek:
      return "week";
    case Grain::kMonth:
      return "month";
    case Grain::kQuarter:
      return "quarter";
    case Grain::kYear:
      return "year";
  }
  return "day";
}

// Every engine is listed here, explicitly.
std::unique_ptr<Dialect> make_dialect(const std::string& engine) {
  if (engine == "duckdb") return std::make_unique<DuckDbDialect>();
  return nullptr;
}

std::string DuckDbDialect::quote(const std::string& name) const { return "\"" + name + "\""; }

std::string DuckDbDialect::placeholder(size_t index) const { return fmt::format("${}", index + 1); }

std::string DuckDbDialect::aggregate(Aggregation agg, const std::string& e,
                                     const std::string& filter, double p) const {
  std::string call;
  switch (agg) {
    case Aggregation::kCount:
      call = e.empty() ? "count(*)" : "count(" + e + ")";
      break;
    case Aggregation::kCountDistinct:
      call = "count(DISTINCT " + e + ")";
      break;
    case Aggregation::kApproxCountDistinct:
      call = "approx_count_distinct(" + e + ")";
      break;
    case Aggregation::kSum:
      call = "sum(" + e + ")";
      break;
    case Aggregation::kAvg:
      call = "avg(" + e + ")";
      break;
    case Aggregation::kMin:
      call = "min(" + e + ")";
      break;
    case Aggregation::kMax:
      call = "max(" + e + ")";
      break;
    case Aggregation::kMedian:
      call = "median(" + e + ")";
      break;
    case Aggregation::kPercentile:
      call = fmt::format("quantile_cont({}, {})", e, p);
      break;
  }
  if (!filter.empty()) call += " FILTER (WHERE " + filter + ")";
  return call;
}

std::string DuckDbDialect::local_time(const std::string& instant, const std::string& tz) const {
  return fmt::format("timezone({}, {})", tz, instant);
}

// Microseconds since the epoch as a naive TIMESTAMP: no ICU call per row.
std::string DuckDbDialect::utc_time(const std::string& instant) const {
  return fmt::format("make_timestamp(epoch_us({}))", instant);
}

std::string DuckDbDialect::instant_of_local(const std::string& local, const std::string& tz) const {
  return fmt::format("timezone({}, CAST({} AS TIMESTAMP))", tz, local);
}

std::string DuckDbDialect::truncate(Grain grain, const std::string& local) const {
  return fmt::format("date_trunc('{}', {})", grain_name(grain), local);
}

std::string DuckDbDialect::format_period(Grain grain, const std::string& local) const {
  bool short_grain = grain == Grain::kMinute || grain == Grain::kHour;
  return fmt::format("strftime({}, '{}')", local, short_grain ? "%Y-%m-%dT%H:%M" : "%Y-%m-%d");
}

std::string DuckDbDialect::shift_local(const std::string& local, const Shift& s) const {
  std::string out = local;
  auto add = [&](int64_t n, const char* unit) {
    if (n == 0) return;
    out = fmt::format("({} {} INTERVAL {} {})", out, n < 0 ? "-" : "+", n < 0 ? -n : n, unit);
  };
  add(s.months, "MONTH");
  add(s.days, "DAY");
  add(s.seconds, "SECOND");
  return out;
}

std::string DuckDbDialect::periods_between(Grain grain, const std::string& from,
                                           const std::string& to) const {
  return fmt::format("date_diff('{}', {}, {})", grain_name(grain), from, to);
}

std::string DuckDbDialect::seconds_between(const std::string& from, const std::string& to) const {
  return fmt::format("(epoch_us({}) - epoch_us({})) / 1000000.0", to, from);
}

std::string DuckDbDialect::add_seconds(const std::string& instant, int64_t seconds) const {
  return fmt::format("({} + INTERVAL {} SECOND)", instant, seconds);
}

std::string DuckDbDialect::divide(const std::string& a, const std::string& b) const {
  return fmt::format("(CAST({} AS DOUBLE) / NULLIF(CAST({} AS DOUBLE), 0))", a, b);
}

std::string DuckDbDialect::value_at_min(const std::string& value, const std::string& order) const {
  return fmt::format("arg_min({}, {})", value, order);
}

std::string DuckDbDialect::sum_of_counts(const std::string& partial) const {
  return fmt::format("CAST(coalesce(sum({}), 0) AS BIGINT)", partial);
}

std::string DuckDbDialect::instant_list(const std::string& instant,
                                        const std::string& filter) const {
  return fmt::format("list({}) FILTER (WHERE {})", instant, filter);
}

// A lambda over the list; its parameter shadows any column of the same name, and the bounds
// are columns of the row (DuckDB's lambdas capture them).
std::string DuckDbDialect::first_in_list_after(const std::string& list, const std::string& after,
                                               const std::string& until) const {
  return fmt::format("list_min(list_filter({}, lambda x: x > {} AND x <= {}))", list, after, until);
}

std::string DuckDbDialect::contains(const std::string& text, const std::string& part) const {
  return fmt::format("contains(CAST({} AS VARCHAR), {})", text, part);
}

std::string DuckDbDialect::starts_with(const std::string& text, const std::string& prefix) const {
  return fmt::format("starts_with(CAST({} AS VARCHAR), {})", text, prefix);
}

std::string DuckDbDialect::same(const std::string& a, const std::string& b) const {
  return fmt::format("{} IS NOT DISTINCT FROM {}", a, b);
}

}  // namespace basalt::semantic
