#include "semantic/clickhouse_dialect.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "warehouse/warehouse.h"

namespace basalt::semantic {

namespace {

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The -If form of a filter: a NULL condition counts as false.
std::string condition_of(const std::string& filter) { return "ifNull(" + filter + ", 0)"; }

}  // namespace

std::string inline_ctes(const std::string& sql, const std::vector<Dialect::Cte>& ctes) {
  std::map<std::string, std::string> by_name;
  for (const auto& c : ctes) by_name[c.name] = c.sql;
  std::string out;
  out.reserve(sql.size() * 2);
  size_t i = 0;
  bool after_from = false;  // the previous word was FROM or JOIN
  while (i < sql.size()) {
    char c = sql[i];
    if (c == '\'' || c == '"' || c == '`') {
      size_t j = i + 1;
      while (j < sql.size()) {
        if (sql[j] == '\\') {
          j += 2;
          continue;
        }
        if (sql[j] == c) {
          if (j + 1 < sql.size() && sql[j + 1] == c) {  // a doubled quote
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      j = std::min(j + 1, sql.size());
      out.append(sql, i, j - i);
      i = j;
      after_from = false;
      continue;
    }
    if (word_char(c)) {
      size_t j = i;
      while (j < sql.size() && word_char(sql[j])) ++j;
      std::string word = sql.substr(i, j - i);
      auto it = after_from ? by_name.find(word) : by_name.end();
      bool qualified = j < sql.size() && (sql[j] == '.' || sql[j] == '(');
      if (it != by_name.end() && !qualified) {
        size_t k = j;
        while (k < sql.size() && sql[k] == ' ') ++k;
        bool aliased = sql.compare(k, 3, "AS ") == 0;
        out += "(" + it->second + ")";
        if (!aliased) out += " AS " + word;
      } else {
        out += word;
      }
      after_from = word == "FROM" || word == "JOIN";
      i = j;
      continue;
    }
    if (!std::isspace(static_cast<unsigned char>(c))) after_from = false;
    out.push_back(c);
    ++i;
  }
  return out;
}

std::string ClickHouseDialect::quote(const std::string& name) const { return "`" + name + "`"; }

std::string ClickHouseDialect::placeholder(size_t index) const {
  return fmt::format("${}", index + 1);
}

std::string ClickHouseDialect::aggregate(Aggregation agg, const std::string& e,
                                         const std::string& filter, double p) const {
  const bool filtered = !filter.empty();
  const std::string cond = filtered ? condition_of(filter) : "";
  // `name` of e (with -If when filtered).
  auto call = [&](const std::string& name, const std::string& arg) {
    return filtered ? fmt::format("{}If({}, {})", name, arg, cond)
                    : fmt::format("{}({})", name, arg);
  };
  // How many non-NULL values the aggregate sees.
  auto present = [&] {
    return filtered ? fmt::format("countIf(isNotNull({}) AND {})", e, cond)
                    : fmt::format("count({})", e);
  };
  // NULL over no values, like SQL's sum/avg/min/max (ClickHouse answers 0, nan or 0).
  auto or_null = [&](const std::string& name) {
    return fmt::format("if({} = 0, NULL, {})", present(), call(name, e));
  };
  // Exact, interpolated between the two nearest ranks like DuckDB's quantile_cont: the sorted
  // values a, position p * (n - 1); ClickHouse computes the repeated subexpressions once.
  auto quantile = [&](double q) {
    std::string a = fmt::format("arraySort({})", call("groupArray", "toFloat64(" + e + ")"));
    std::string pos = fmt::format("({} * (length({}) - 1))", q, a);
    std::string lo = fmt::format("toUInt64(floor({}))", pos);
    return fmt::format(
        "if(length({a}) = 0, NULL, arrayElement({a}, {lo} + 1) + ({pos} - floor({pos})) * "
        "(arrayElement({a}, {lo} + 2) - arrayElement({a}, {lo} + 1)))",
        fmt::arg("a", a), fmt::arg("lo", lo), fmt::arg("pos", pos));
  };
  switch (agg) {
    case Aggregation::kCount:
      if (e.empty()) return filtered ? "countIf(" + cond + ")" : "count()";
      return present();
    // ClickHouse answers NULL, not 0, when every value is NULL.
    case Aggregation::kCountDistinct:
      return "ifNull(" + call("uniqExact", e) + ", 0)";
    case Aggregation::kApproxCountDistinct:
      return "ifNull(" + call("uniq", e) + ", 0)";
    case Aggregation::kSum:
      return or_null("sum");
    case Aggregation::kAvg:
      return or_null("avg");
    case Aggregation::kMin:
      return or_null("min");
    case Aggregation::kMax:
      return or_null("max");
    case Aggregation::kMedian:
      return quantile(0.5);
    case Aggregation::kPercentile:
      return quantile(p);
  }
  return "NULL";
}

std::string ClickHouseDialect::local_time(const std::string& instant, const std::string& tz) const {
  std::string s = fmt::format("toDateTime(intDiv({}, 1000000))", instant);
  return fmt::format(
      "toDateTime(toUInt32(toDate({s}, {tz})) * 86400 + toHour({s}, {tz}) * 3600 + "
      "toMinute({s}, {tz}) * 60 + toSecond({s}, {tz}), 'UTC')",
      fmt::arg("s", s), fmt::arg("tz", tz));
}

std::string ClickHouseDialect::utc_time(const std::string& instant) const {
  return fmt::format("toDateTime(intDiv({}, 1000000), 'UTC')", instant);
}

std::string ClickHouseDialect::instant_of_local(const std::string& local,
                                                const std::string& tz) const {
  return fmt::format("(toInt64(toUnixTimestamp(toDateTime({}, {}))) * 1000000)", local, tz);
}

std::string ClickHouseDialect::truncate(Grain grain, const std::string& local) const {
  switch (grain) {
    case Grain::kMinute:
      return fmt::format("toStartOfMinute({}, 'UTC')", local);
    case Grain::kHour:
      return fmt::format("toStartOfHour({}, 'UTC')", local);
    case Grain::kDay:
      return fmt::format("toStartOfDay({}, 'UTC')", local);
    case Grain::kWeek:
      return fmt::format("toDateTime(toMonday({}, 'UTC'), 'UTC')", local);
    case Grain::kMonth:
      return fmt::format("toDateTime(toStartOfMonth({}, 'UTC'), 'UTC')", local);
    case Grain::kQuarter:
      return fmt::format("toDateTime(toStartOfQuarter({}, 'UTC'), 'UTC')", local);
    case Grain::kYear:
      return fmt::format("toDateTime(toStartOfYear({}, 'UTC'), 'UTC')", local);
  }
  return local;
}

std::string ClickHouseDialect::format_period(Grain grain, const std::string& local) const {
  bool short_grain = grain == Grain::kMinute || grain == Grain::kHour;
  return fmt::format("formatDateTime({}, '{}', 'UTC')", local,
                     short_grain ? "%Y-%m-%dT%H:%M" : "%Y-%m-%d");
}

std::string ClickHouseDialect::shift_local(const std::string& local, const Shift& s) const {
  std::string out = local;
  if (s.months != 0) out = fmt::format("addMonths({}, {})", out, s.months);
  if (s.days != 0) out = fmt::format("addDays({}, {})", out, s.days);
  if (s.seconds != 0) out = fmt::format("addSeconds({}, {})", out, s.seconds);
  return out;
}

std::string ClickHouseDialect::periods_between(Grain grain, const std::string& from,
                                               const std::string& to) const {
  auto diff = [&](const char* fn) {
    return fmt::format("(toInt64({}({}, 'UTC')) - toInt64({}({}, 'UTC')))", fn, to, fn, from);
  };
  switch (grain) {
    case Grain::kMinute:
      return diff("toRelativeMinuteNum");
    case Grain::kHour:
      return diff("toRelativeHourNum");
    case Grain::kDay:
      return diff("toRelativeDayNum");
    case Grain::kWeek:
      return diff("toRelativeWeekNum");
    case Grain::kMonth:
      return diff("toRelativeMonthNum");
    case Grain::kQuarter:
      return fmt::format(
          "(intDiv(toInt64(toRelativeMonthNum({}, 'UTC')) - 1, 3) - "
          "intDiv(toInt64(toRelativeMonthNum({}, 'UTC')) - 1, 3))",
          to, from);
    case Grain::kYear:
      return diff("toYear");
  }
  return "0";
}

std::string ClickHouseDialect::seconds_between(const std::string& from,
                                               const std::string& to) const {
  return fmt::format("(({}) - ({})) / 1000000.0", to, from);
}

std::string ClickHouseDialect::add_seconds(const std::string& instant, int64_t seconds) const {
  return fmt::format("({} + {})", instant, seconds * 1000000);
}

std::string ClickHouseDialect::divide(const std::string& a, const std::string& b) const {
  return fmt::format("(toFloat64({}) / nullIf(toFloat64({}), 0))", a, b);
}

std::string ClickHouseDialect::value_at_min(const std::string& value,
                                            const std::string& order) const {
  return fmt::format("argMin({}, {})", value, order);
}

std::string ClickHouseDialect::sum_of_counts(const std::string& partial) const {
  return fmt::format("toInt64(ifNull(sum({}), 0))", partial);
}

std::string ClickHouseDialect::instant_list(const std::string& instant,
                                            const std::string& filter) const {
  return fmt::format("groupArrayIf({}, {})", instant, condition_of(filter));
}

namespace {
// The smallest element x of `list` where `also` (a condition on x, or empty) holds and
// `after` < x <= `until`, NULL when there is none or either bound is NULL. The bounds are
// columns of the row, captured by the lambda (never NULL inside it: a NULL bound answers NULL
// before).
std::string first_in_array(const std::string& list, const std::string& also,
                           const std::string& after, const std::string& until) {
  std::string hits =
      fmt::format("arrayFilter(x -> {also}x > ifNull({a}, 0) AND x <= ifNull({u}, 0), {l})",
                  fmt::arg("also", also.empty() ? "" : also + " AND "), fmt::arg("a", after),
                  fmt::arg("u", until), fmt::arg("l", list));
  return fmt::format(
      "if(isNull({a}) OR isNull({u}) OR length({h}) = 0, NULL, arrayReduce('min', {h}))",
      fmt::arg("a", after), fmt::arg("u", until), fmt::arg("h", hits));
}
}  // namespace

std::string ClickHouseDialect::first_in_list_after(const std::string& list,
                                                   const std::string& after,
                                                   const std::string& until) const {
  return first_in_array(list, "", after, until);
}

// Instants are microseconds already.
std::string ClickHouseDialect::tagged_instant(const std::string& instant,
                                              const std::string& tag) const {
  return fmt::format("({} * {} + {})", instant, kInstantTags, tag);
}

std::string ClickHouseDialect::first_tagged_in_list(const std::string& list, int tag,
                                                    const std::string& lo,
                                                    const std::string& hi) const {
  return first_in_array(list, fmt::format("x % {} = {}", kInstantTags, tag), lo, hi);
}

std::string ClickHouseDialect::contains(const std::string& text, const std::string& part) const {
  return fmt::format("(position(toString({}), {}) > 0)", text, part);
}

std::string ClickHouseDialect::starts_with(const std::string& text,
                                           const std::string& prefix) const {
  return fmt::format("startsWith(toString({}), {})", text, prefix);
}

std::string ClickHouseDialect::in_list(const std::string& lhs,
                                       const std::vector<std::string>& values, bool negated) const {
  // ClickHouse's NOT IN holds for NULL; SQL's does not.
  if (negated)
    return fmt::format("(isNotNull({0}) AND {0} NOT IN ({1}))", lhs, fmt::join(values, ", "));
  return fmt::format("{} IN ({})", lhs, fmt::join(values, ", "));
}

std::string ClickHouseDialect::one_of(const std::string& lhs,
                                      const std::vector<std::string>& values) const {
  return in_list(lhs, values, false);
}

std::string ClickHouseDialect::same(const std::string& a, const std::string& b) const {
  // NULL matches NULL: the text of a value behind a marker of whether it is NULL.
  auto key = [](const std::string& x) {
    return fmt::format("concat(toString(isNull({})), ifNull(toString({}), ''))", x, x);
  };
  return key(a) + " = " + key(b);
}

std::string ClickHouseDialect::statement(const std::vector<Cte>& ctes,
                                         const std::string& body) const {
  std::vector<Cte> expanded;
  for (const auto& c : ctes) expanded.push_back({c.name, inline_ctes(c.sql, expanded)});
  return inline_ctes(body, expanded) + " SETTINGS join_use_nulls = 1";
}

std::string ClickHouseDialect::group_by(const std::vector<std::string>& aliases) const {
  return fmt::format(" GROUP BY {}", fmt::join(aliases, ", "));
}

ClickHouseDialect::ClickHouseDialect(ColumnsOf columns_of,
                                     std::map<std::string, std::set<std::string>> time_columns)
    : columns_of_(std::move(columns_of)), time_columns_(std::move(time_columns)) {}

namespace {

// A type without its Nullable( … ) wrapper.
std::string_view base_type(std::string_view type) {
  constexpr std::string_view kNullable = "Nullable(";
  if (type.starts_with(kNullable) && type.ends_with(")")) {
    type = type.substr(kNullable.size(), type.size() - kNullable.size() - 1);
  }
  return type;
}

}  // namespace

std::string ClickHouseDialect::table_relation(const std::string& table) const {
  auto wanted = time_columns_.find(table);
  if (!columns_of_ || wanted == time_columns_.end()) return quote(table);
  {
    std::lock_guard lock(mu_);
    if (auto it = relations_.find(table); it != relations_.end()) return it->second;
  }
  auto columns = columns_of_(table);
  if (!columns || columns->empty()) return quote(table);  // missing now: read again next time
  std::set<std::string> names;
  for (const auto& c : *columns) names.insert(c.first);
  std::vector<std::string> added;  // `expr AS X_us` for the inner select
  std::set<std::string> rebuilt;   // time columns that become a DateTime `X` outside
  for (const std::string& x : wanted->second) {
    auto column =
        std::find_if(columns->begin(), columns->end(), [&](const auto& c) { return c.first == x; });
    if (column == columns->end() || names.contains(x + "_us")) continue;
    const std::string q = quote(x);
    const std::string_view type = base_type(column->second);
    if (type.starts_with("DateTime64")) {
      added.push_back(
          fmt::format("toInt64(toUnixTimestamp64Micro({})) AS {}", q, quote(x + "_us")));
    } else if (type.starts_with("DateTime")) {
      added.push_back(
          fmt::format("toInt64(toUnixTimestamp({})) * 1000000 AS {}", q, quote(x + "_us")));
    } else if (type == "Date") {
      added.push_back(
          fmt::format("toInt64(toUInt16({})) * 86400000000 AS {}", q, quote(x + "_us")));
      rebuilt.insert(x);
    } else if (type == "Int64" || type == "UInt64" || type == "Int32" || type == "UInt32") {
      added.push_back(fmt::format("toInt64({}) AS {}", q, quote(x + "_us")));
      rebuilt.insert(x);
    }
  }
  std::string relation = quote(table);
  if (!added.empty()) {
    // The inner select leaves out the columns rebuilt outside (one name, one meaning).
    std::vector<std::string> inner;
    if (rebuilt.empty()) {
      inner.push_back("*");
    } else {
      for (const auto& c : *columns) {
        if (!rebuilt.contains(c.first)) inner.push_back(quote(c.first));
      }
    }
    inner.insert(inner.end(), added.begin(), added.end());
    relation = fmt::format("(SELECT {} FROM {})", fmt::join(inner, ", "), quote(table));
    if (!rebuilt.empty()) {
      std::vector<std::string> outer = {"*"};
      for (const std::string& x : rebuilt) {
        outer.push_back(fmt::format("toDateTime(intDiv({}, 1000000), 'UTC') AS {}",
                                    quote(x + "_us"), quote(x)));
      }
      relation = fmt::format("(SELECT {} FROM {})", fmt::join(outer, ", "), relation);
    }
  }
  std::lock_guard lock(mu_);
  relations_[table] = relation;
  return relation;
}

std::string ClickHouseDialect::relation(const std::string& table,
                                        const std::vector<std::string>& columns) const {
  // The warehouse's own tables have their companions.
  if (table == "events" || table == "quarantine") return quote(table);
  if (table != "users") return table_relation(table);
  // The warehouse's users table keeps a row per load (ReplacingMergeTree): FINAL reads the
  // current one. Only the columns read: join_use_nulls cannot make an Array Nullable.
  std::vector<std::string> quoted;
  for (const auto& c : columns) quoted.push_back(quote(c));
  return fmt::format("(SELECT {} FROM {} FINAL)",
                     quoted.empty() ? std::string("*") : fmt::format("{}", fmt::join(quoted, ", ")),
                     quote(table));
}

std::string ClickHouseDialect::left_join(const std::string& relation, const std::string& alias,
                                         const std::vector<std::string>& on) const {
  if (on.empty()) return fmt::format(" CROSS JOIN {} AS {}", relation, alias);
  return fmt::format(" LEFT JOIN {} AS {} ON {}", relation, alias, fmt::join(on, " AND "));
}

std::string ClickHouseDialect::inner_join_where(const std::string& relation,
                                                const std::string& alias, const std::string& on,
                                                const std::string& filter) const {
  return fmt::format("JOIN (SELECT * FROM {} WHERE {}) AS {} ON {}", relation, filter, alias, on);
}

std::string ClickHouseDialect::column(const std::string& model, const std::string& table,
                                      const std::string& column) const {
  std::string c = model + "." + quote(column);
  if (table == "events" && column == "event") return "nullIf(" + c + ", '')";
  return c;
}

std::string ClickHouseDialect::time_column(const std::string& model,
                                           const std::string& column) const {
  return model + "." + quote(column + "_us");
}

std::string ClickHouseDialect::time_range(const std::string& model, const std::string& column,
                                          const std::string& lo, const std::string& hi,
                                          const std::string& tz) const {
  std::string t = model + "." + quote(column);
  return fmt::format("{t} >= toDateTime({lo}, {tz}) AND {t} < toDateTime({hi}, {tz})",
                     fmt::arg("t", t), fmt::arg("lo", lo), fmt::arg("hi", hi), fmt::arg("tz", tz));
}

std::string ClickHouseDialect::activity(const std::string& user_days,
                                        const std::string& first_day) const {
  // Each active (user, day) counts for the 30 days from that day on: i = 0 is the day itself
  // (dau), i < 7 its week (wau), all of them its 30 days (mau).
  return fmt::format(
      "SELECT {label} AS day, uniqExactIf(u, i = 0) AS dau, uniqExactIf(u, i < 7) AS wau, "
      "uniqExact(u) AS mau, {stick} AS stickiness "
      "FROM (SELECT u, arrayJoin(range(30)) AS i, addDays(d, i) AS dd FROM ({ud})) "
      "WHERE dd IN (SELECT d FROM ({ud}) WHERE d >= toDateTime({first}, 'UTC')) "
      "GROUP BY dd ORDER BY dd",
      fmt::arg("ud", user_days), fmt::arg("first", first_day),
      fmt::arg("label", format_period(Grain::kDay, "dd")),
      fmt::arg("stick", divide("uniqExactIf(u, i = 0)", "uniqExact(u)")));
}

std::unique_ptr<Dialect> make_clickhouse_dialect(warehouse::Warehouse& warehouse,
                                                 const ModelSet& models) {
  std::map<std::string, std::set<std::string>> time_columns;
  for (const Model& m : models.models()) {
    if (!m.time.empty()) time_columns[m.table].insert(m.time);
  }
  auto columns_of =
      [&warehouse](const std::string& table) -> Result<ClickHouseDialect::TableColumns> {
    auto r = warehouse.query(
        "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = $1",
        {warehouse::Value(table)}, warehouse::QueryOptions{});
    if (!r) return r.status();
    ClickHouseDialect::TableColumns out;
    for (const auto& row : r->rows) {
      const auto* name = std::get_if<std::string>(&row.at(0));
      const auto* type = std::get_if<std::string>(&row.at(1));
      if (name && type) out.emplace_back(*name, *type);
    }
    return out;
  };
  return std::make_unique<ClickHouseDialect>(std::move(columns_of), std::move(time_columns));
}

}  // namespace basalt::semantic
