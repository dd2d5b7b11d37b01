#include "semantic/duckdb_dialect.h"

#include <fmt/format.h>

namespace basalt::semantic {

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

std::string DuckDbDialect::tagged_instant(const std::string& instant,
                                          const std::string& tag) const {
  return fmt::format("(epoch_us({}) * {} + {})", instant, kInstantTags, tag);
}

std::string DuckDbDialect::first_tagged_in_list(const std::string& list, int tag,
                                                const std::string& lo,
                                                const std::string& hi) const {
  return fmt::format("list_min(list_filter({}, lambda x: x % {} = {} AND x > {} AND x <= {}))",
                     list, kInstantTags, tag, lo, hi);
}

// The warehouse registers basalt_funnel_chain in every DuckDB database it opens
// (warehouse/duckdb/funnel_chain.h): one sorted walk of the list instead of a pass per step.
std::string DuckDbDialect::tagged_chain(const std::string& list, const std::string& first,
                                        const std::string& deadline, size_t steps) const {
  return fmt::format("basalt_funnel_chain({}, {}, {}, {})", list, first, deadline, steps);
}

std::string DuckDbDialect::contains(const std::string& text, const std::string& part) const {
  return fmt::format("contains(CAST({} AS VARCHAR), {})", text, part);
}

std::string DuckDbDialect::starts_with(const std::string& text, const std::string& prefix) const {
  return fmt::format("starts_with(CAST({} AS VARCHAR), {})", text, prefix);
}

std::string DuckDbDialect::in_list(const std::string& lhs, const std::vector<std::string>& values,
                                   bool negated) const {
  return fmt::format("{}{}{})", lhs, negated ? " NOT IN (" : " IN (", fmt::join(values, ", "));
}

// DuckDB plans an IN list of constants as a hash join; list_contains filters the scanned rows
// about twice as fast (bench/README.md, "Semantic layer queries").
std::string DuckDbDialect::one_of(const std::string& lhs,
                                  const std::vector<std::string>& values) const {
  return fmt::format("list_contains([{}], {})", fmt::join(values, ", "), lhs);
}

std::string DuckDbDialect::same(const std::string& a, const std::string& b) const {
  return fmt::format("{} IS NOT DISTINCT FROM {}", a, b);
}

std::string DuckDbDialect::statement(const std::vector<Cte>& ctes, const std::string& body) const {
  if (ctes.empty()) return body;
  std::string out = "WITH ";
  for (size_t i = 0; i < ctes.size(); ++i) {
    if (i > 0) out += ", ";
    out += ctes[i].name + " AS (" + ctes[i].sql + ")";
  }
  return out + " " + body;
}

std::string DuckDbDialect::group_by(const std::vector<std::string>& aliases) const {
  std::vector<std::string> positions;
  for (size_t i = 0; i < aliases.size(); ++i) positions.push_back(std::to_string(i + 1));
  return fmt::format(" GROUP BY {}", fmt::join(positions, ", "));
}

std::string DuckDbDialect::relation(const std::string& table,
                                    const std::vector<std::string>& /*columns*/) const {
  return quote(table);
}

std::string DuckDbDialect::left_join(const std::string& relation, const std::string& alias,
                                     const std::vector<std::string>& on) const {
  return fmt::format(" LEFT JOIN {} AS {} ON {}", relation, alias,
                     on.empty() ? std::string("TRUE") : fmt::format("{}", fmt::join(on, " AND ")));
}

std::string DuckDbDialect::inner_join_where(const std::string& relation, const std::string& alias,
                                            const std::string& on,
                                            const std::string& filter) const {
  return fmt::format("JOIN {} AS {} ON {} AND {}.{}", relation, alias, on, alias, filter);
}

std::string DuckDbDialect::column(const std::string& model, const std::string& /*table*/,
                                  const std::string& column) const {
  return model + "." + quote(column);
}

std::string DuckDbDialect::time_column(const std::string& model, const std::string& column) const {
  return model + "." + quote(column);
}

std::string DuckDbDialect::time_range(const std::string& model, const std::string& column,
                                      const std::string& lo, const std::string& hi,
                                      const std::string& tz) const {
  std::string t = time_column(model, column);
  return t + " >= " + instant_of_local(lo, tz) + " AND " + t + " < " + instant_of_local(hi, tz);
}

std::string DuckDbDialect::activity(const std::string& user_days,
                                    const std::string& first_day) const {
  return fmt::format(
      "WITH ud AS ({ud}), "
      "days AS (SELECT DISTINCT d FROM ud WHERE d >= CAST({first} AS TIMESTAMP)) "
      "SELECT {label} AS day, count(DISTINCT ud.u) FILTER (WHERE ud.d = days.d) AS dau, "
      "count(DISTINCT ud.u) FILTER (WHERE ud.d > {w}) AS wau, count(DISTINCT ud.u) AS mau, "
      "{stick} AS stickiness "
      "FROM days JOIN ud ON ud.d > {mo} AND ud.d <= days.d GROUP BY days.d ORDER BY days.d",
      fmt::arg("ud", user_days), fmt::arg("first", first_day),
      fmt::arg("label", format_period(Grain::kDay, "days.d")),
      fmt::arg("w", shift_local("days.d", Shift{0, -7, 0})),
      fmt::arg("mo", shift_local("days.d", Shift{0, -30, 0})),
      fmt::arg("stick", divide("count(DISTINCT ud.u) FILTER (WHERE ud.d = days.d)",
                               "count(DISTINCT ud.u)")));
}

}  // namespace basalt::semantic
