#include "semantic/compiler.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>

#include "semantic/metric_expr.h"

namespace basalt::semantic {

namespace {

using warehouse::Value;

// True when `sql` names `model` as a qualifier ("users.a_channel").
bool mentions(const std::string& sql, const std::string& model) {
  size_t at = 0;
  while ((at = sql.find(model, at)) != std::string::npos) {
    bool start_ok =
        at == 0 || !(std::isalnum(static_cast<unsigned char>(sql[at - 1])) || sql[at - 1] == '_');
    size_t after = at + model.size();
    if (start_ok && after < sql.size() && sql[after] == '.') return true;
    at = after;
  }
  return false;
}

// The columns `sql` reads of `model` ("users.a_channel" → a_channel), each once, in order.
void qualified_columns(const std::string& sql, const std::string& model,
                       std::vector<std::string>& out) {
  size_t at = 0;
  while ((at = sql.find(model + ".", at)) != std::string::npos) {
    bool start_ok =
        at == 0 || !(std::isalnum(static_cast<unsigned char>(sql[at - 1])) || sql[at - 1] == '_');
    size_t b = at + model.size() + 1, e = b;
    while (e < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[e])) || sql[e] == '_'))
      ++e;
    if (start_ok && e > b) {
      std::string c = sql.substr(b, e - b);
      if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    }
    at = e;
  }
}

std::string join_names(const std::vector<std::string>& names) {
  return fmt::format("{}", fmt::join(names, ", "));
}

template <typename T>
std::string known_list(const std::vector<T>& items) {
  std::vector<std::string> n;
  for (const auto& i : items) n.push_back(i.name);
  return n.empty() ? "none" : join_names(n);
}

class Builder {
 public:
  Builder(const Query& q, const ModelSet& models, const Model& m, const CompileContext& ctx)
      : q_(q), models_(models), m_(m), ctx_(ctx), d_(*ctx.dialect) {}

  // The time zone's placeholder, bound on first use.
  std::string tz() {
    if (tz_.empty()) tz_ = param(Value(ctx_.timezone));
    return tz_;
  }

  // Appends a bound value; returns its placeholder.
  std::string param(Value v) {
    params_.push_back(std::move(v));
    return d_.placeholder(params_.size() - 1);
  }
  std::vector<Value> take_params() { return std::move(params_); }

  std::string col(const std::string& c) const { return d_.column(d_.quote(m_.name), m_.table, c); }
  // The time column: the local day of a rollup row, else the model's instant.
  std::string time_col() const {
    return rollup_ ? col("day") : d_.time_column(d_.quote(m_.name), m_.time);
  }
  std::string user_col() const { return col(m_.user); }

  // From now on the statement reads the rollup's user-day table in place of the model's table
  // (kept as its alias, so the model's snippets read it unchanged): time_col() is a local day,
  // local() of it its start, instant() and range_condition() compare days. REQUIRES the
  // query is answerable from it (rollup_applies).
  void use_rollup(const warehouse::RollupInfo* r) { rollup_ = r; }
  const warehouse::RollupInfo* rollup() const { return rollup_; }
  // While set, the statement reads the rollup's active-users table (one row per day and user)
  // in place of its user-day table. REQUIRES use_rollup, and no snippet reading `event`.
  void read_active_users(bool on) { active_users_ = on; }

  Result<std::string> dimension_sql(const std::string& name) {
    const Dimension* dim = m_.dimension(name);
    if (!dim) {
      return invalid_argument(fmt::format("unknown dimension '{}' in model '{}' (known: {})", name,
                                          m_.name, known_list(m_.dimensions)));
    }
    std::string s = dim->column.empty() ? "(" + dim->sql + ")" : col(dim->column);
    snippets_.push_back(s);
    return s;
  }

  std::string measure_sql(const Measure& me) {
    std::string e = me.column.empty() ? (me.sql.empty() ? "" : "(" + me.sql + ")") : col(me.column);
    std::string f = me.filter.empty() ? "" : "(" + me.filter + ")";
    snippets_.push_back(e);
    snippets_.push_back(f);
    if (rollup_ && me.agg == Aggregation::kCount) {
      // A rollup row stands for `events` events; sums and distinct users read it as it is.
      std::string n = col("events");
      return d_.sum_of_counts(f.empty() ? n : "CASE WHEN " + f + " THEN " + n + " END");
    }
    return d_.aggregate(me.agg, e, f, me.percentile);
  }

  // The condition of one filter on `lhs`.
  std::string condition(const std::string& lhs, const Filter& f) {
    auto p = [&](size_t i) { return param(f.values[i]); };
    switch (f.op) {
      case FilterOp::kEq:
        return lhs + " = " + p(0);
      case FilterOp::kNe:
        return lhs + " <> " + p(0);
      case FilterOp::kGt:
        return lhs + " > " + p(0);
      case FilterOp::kGe:
        return lhs + " >= " + p(0);
      case FilterOp::kLt:
        return lhs + " < " + p(0);
      case FilterOp::kLe:
        return lhs + " <= " + p(0);
      case FilterOp::kBetween: {
        std::string a = p(0);
        return lhs + " BETWEEN " + a + " AND " + p(1);
      }
      case FilterOp::kIn:
      case FilterOp::kNotIn: {
        std::vector<std::string> ps;
        for (size_t i = 0; i < f.values.size(); ++i) ps.push_back(p(i));
        return d_.in_list(lhs, ps, f.op == FilterOp::kNotIn);
      }
      case FilterOp::kContains:
        return d_.contains(lhs, p(0));
      case FilterOp::kStartsWith:
        return d_.starts_with(lhs, p(0));
      case FilterOp::kIsNull:
        return lhs + " IS NULL";
      case FilterOp::kIsNotNull:
        return lhs + " IS NOT NULL";
    }
    return "FALSE";
  }

  // Conditions of dimension filters (metric filters refused here).
  Result<std::vector<std::string>> dimension_conditions(const std::vector<Filter>& filters) {
    std::vector<std::string> out;
    for (const auto& f : filters) {
      if (f.on_metric) {
        return invalid_argument(
            fmt::format("filter on metric '{}' is not allowed here: only "
                        "dimension filters",
                        f.field));
      }
      auto lhs = dimension_sql(f.field);
      if (!lhs) return lhs.status();
      out.push_back(condition(*lhs, f));
    }
    return out;
  }

  // The wall-clock time of `instant`. Without a time-zone lookup per row when the zone is UTC,
  // or when its offset is one and the same over the local span set by read_local_span (a zone
  // without DST, or a span between two transitions): then the UTC time shifted by that offset.
  std::string local(const std::string& instant) {
    if (rollup_) return d_.day_start(instant);
    if (ctx_.timezone == "UTC" || ctx_.timezone == "Etc/UTC") return d_.utc_time(instant);
    if (auto off = constant_offset()) {
      if (*off == 0) return d_.utc_time(instant);
      return d_.shift_local(d_.utc_time(instant), Shift{0, 0, *off});
    }
    return d_.local_time(instant, tz());
  }
  // The local times the statement converts with local() lie in `r` (the rows it reads).
  void read_local_span(const LocalRange& r) {
    span_ = r;
    has_span_ = true;
  }
  // The zone's offset when it is constant over the span, with a day's margin either side;
  // checked hourly (no zone changes its offset twice within an hour); spans over 800 days keep
  // the per-row lookup.
  std::optional<int> constant_offset() const {
    const domino::TimeZone* z = ctx_.tz;
    if (!has_span_ || !z || z->name() != ctx_.timezone || span_.end < span_.start ||
        span_.end - span_.start > 800LL * 86400) {
      return std::nullopt;
    }
    domino::UnixSeconds lo = z->to_utc(span_.start) - 86400, hi = z->to_utc(span_.end) + 86400;
    int off = z->offset_at(lo);
    for (domino::UnixSeconds t = lo; t < hi; t += 3600)
      if (z->offset_at(t) != off) return std::nullopt;
    if (z->offset_at(hi) != off) return std::nullopt;
    return off;
  }
  std::string instant(domino::LocalSeconds local_s) {
    std::string p = param(Value(local_text(local_s)));
    if (rollup_) return d_.day_of(p);
    return d_.instant_of_local(p, tz());
  }
  std::string range_condition(const LocalRange& r) {
    if (rollup_) return day_range(time_col(), r);
    std::string lo = param(Value(local_text(r.start)));
    std::string zone = tz();
    std::string hi = param(Value(local_text(r.end)));
    return d_.time_range(d_.quote(m_.name), m_.time, lo, hi, zone);
  }

  // `day_sql` (a local day) in the days of `r`. REQUIRES r aligned to local days.
  std::string day_range(const std::string& day_sql, const LocalRange& r) {
    std::string lo = d_.day_of(param(Value(local_text(r.start))));
    std::string hi = d_.day_of(param(Value(local_text(r.end))));
    return day_sql + " >= " + lo + " AND " + day_sql + " < " + hi;
  }
  // The relation the model's rows are read from.
  std::string fact_relation() {
    tables_.insert(m_.table);  // what the cache's invalidation knows: the events' table
    if (!rollup_) return d_.relation(m_.table);
    return d_.relation(active_users_ ? rollup_->active_users_table : rollup_->user_day_table);
  }

  // "FROM <table> AS <model>" and the joins the snippets used so far need. Call last.
  std::string from() {
    std::string s = "FROM " + fact_relation() + " AS " + d_.quote(m_.name);
    for (const auto& j : m_.joins) {
      bool used = std::any_of(snippets_.begin(), snippets_.end(),
                              [&](const std::string& x) { return mentions(x, j.model); });
      if (!used) continue;
      const Model* other = models_.find(j.model);
      if (!other) continue;
      tables_.insert(other->table);
      std::vector<std::string> columns;
      qualified_columns(j.on, j.model, columns);
      for (const auto& x : snippets_) qualified_columns(x, j.model, columns);
      s += d_.left_join(d_.relation(other->table, columns), d_.quote(other->name),
                        {"(" + j.on + ")"});
    }
    return s;
  }
  // "FROM <table> AS <model>" alone, for a subquery that joins nothing.
  std::string from_table_only() { return "FROM " + fact_relation() + " AS " + d_.quote(m_.name); }
  // " LEFT JOIN <other table> AS <other> ON (<on>)" for the join `j` to `other`.
  std::string join_clause(const Join& j, const Model& other) {
    tables_.insert(other.table);
    std::vector<std::string> columns;
    qualified_columns(j.on, j.model, columns);
    for (const auto& x : snippets_) qualified_columns(x, j.model, columns);
    return d_.left_join(d_.relation(other.table, columns), d_.quote(other.name),
                        {"(" + j.on + ")"});
  }
  void clear_snippets() { snippets_.clear(); }
  std::vector<std::string> tables() const { return {tables_.begin(), tables_.end()}; }

  const Dialect& d() const { return d_; }
  const Model& model() const { return m_; }

 private:
  const Query& q_;
  const ModelSet& models_;
  const Model& m_;
  const CompileContext& ctx_;
  const Dialect& d_;
  std::string tz_;
  LocalRange span_;
  bool has_span_ = false;
  std::vector<Value> params_;
  std::vector<std::string> snippets_;
  std::set<std::string> tables_;
  const warehouse::RollupInfo* rollup_ = nullptr;
  bool active_users_ = false;
};

std::string where(const std::vector<std::string>& conds) {
  if (conds.empty()) return "";
  return " WHERE " + fmt::format("{}", fmt::join(conds, " AND "));
}

Result<LocalRange> range_of(const Query& q, const CompileContext& ctx, bool required) {
  if (!q.time) {
    if (required) return invalid_argument("\"time\" with a \"range\" is required for this query");
    return LocalRange{};
  }
  return resolve_range(*q.time, ctx.now_us, *ctx.tz);
}

std::string format_of(const Model& m, const std::string& name) {
  if (const Measure* me = m.measure(name)) return me->format.empty() ? "number" : me->format;
  if (const Metric* mt = m.metric(name)) return mt->format.empty() ? "number" : mt->format;
  return "number";
}
std::string description_of(const Model& m, const std::string& name) {
  if (const Measure* me = m.measure(name)) return me->description;
  if (const Metric* mt = m.metric(name)) return mt->description;
  if (const Dimension* d = m.dimension(name)) return d->description;
  return "";
}

// ---- metrics ----

// Eager aggregation: when the only joined columns a metrics query uses are plain columns of
// one many_to_one (or one_to_one) joined model, reached by one equality of columns, the fact
// rows are aggregated per join key first and the join then meets one row per key instead of
// one per fact row. Valid only for measures that combine from per-key parts: count, sum, min,
// max, and count_distinct of the join key itself (a key's part says whether it had a row).
struct EagerJoin {
  const Join* join = nullptr;
  const Model* other = nullptr;
  std::string key;                  // the fact model's column in the join condition
  std::vector<bool> dim_joined;     // per query dimension: a column of the joined model
  std::vector<bool> filter_joined;  // per query filter (dimension filters only)
};

bool names_join(const std::string& sql, const Model& m) {
  return std::any_of(m.joins.begin(), m.joins.end(),
                     [&](const Join& j) { return mentions(sql, j.model); });
}

// "<a>.<x>" exactly (spaces around allowed): the qualifier and column; empty when not.
std::pair<std::string, std::string> qualified_column(const std::string& sql) {
  size_t i = 0, n = sql.size();
  auto word = [&]() {
    size_t start = i;
    while (i < n && (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_')) ++i;
    return sql.substr(start, i - start);
  };
  auto spaces = [&]() {
    while (i < n && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
  };
  spaces();
  std::string a = word();
  if (a.empty() || i >= n || sql[i] != '.') return {};
  ++i;
  std::string x = word();
  spaces();
  if (x.empty() || i != n) return {};
  return {a, x};
}

std::optional<EagerJoin> eager_join_plan(const Query& q, const ModelSet& models, const Model& m,
                                         const std::vector<std::string>& measures) {
  EagerJoin plan;
  // Which join a dimension reads: nullptr for the fact model; sets `ok` false when it mixes.
  auto joined_dim = [&](const std::string& name, bool& ok) -> bool {
    const Dimension* dim = m.dimension(name);
    if (!dim) return ok = false;
    if (!dim->column.empty() || !names_join(dim->sql, m)) return false;
    auto [qual, col] = qualified_column(dim->sql);
    const Join* j = nullptr;
    for (const auto& x : m.joins)
      if (x.model == qual) j = &x;
    if (!j || (plan.join && plan.join != j)) return ok = false;
    plan.join = j;
    return true;
  };
  bool ok = true;
  for (const auto& n : q.dimensions) plan.dim_joined.push_back(joined_dim(n, ok));
  for (const auto& f : q.filters)
    plan.filter_joined.push_back(!f.on_metric && joined_dim(f.field, ok));
  if (!ok || !plan.join || plan.join->relationship == Relationship::kOneToMany) return std::nullopt;
  plan.other = models.find(plan.join->model);
  if (!plan.other) return std::nullopt;
  // The join condition: one equality of a fact column and a joined column.
  const std::string& on = plan.join->on;
  size_t eq = on.find('=');
  if (eq == std::string::npos || on.find('=', eq + 1) != std::string::npos) return std::nullopt;
  auto lhs = qualified_column(on.substr(0, eq)), rhs = qualified_column(on.substr(eq + 1));
  if (lhs.first == plan.join->model) std::swap(lhs, rhs);
  if (lhs.first != m.name || rhs.first != plan.join->model) return std::nullopt;
  plan.key = lhs.second;
  // The subquery names its columns by the key, the dimensions and "part_<measure>".
  for (const auto& n : q.dimensions)
    if (n == plan.key || n.rfind("part_", 0) == 0) return std::nullopt;
  for (const auto& n : measures) {
    const Measure* me = m.measure(n);
    if (names_join(me->sql, m) || names_join(me->filter, m)) return std::nullopt;
    switch (me->agg) {
      case Aggregation::kCount:
      case Aggregation::kSum:
      case Aggregation::kMin:
      case Aggregation::kMax:
        break;
      case Aggregation::kCountDistinct:
        if (me->column != plan.key) return std::nullopt;
        break;
      default:
        return std::nullopt;
    }
  }
  return plan;
}

// ---- rollups ----
//
// A rollup row (warehouse::RollupInfo) is one local day, user_id and event with its number of
// events and the sums of numeric typed columns. A query reads it instead of the events only
// when the answer is the same, which holds when:
//   * the model is the warehouse's events table with time `timestamp` and user `user_id`, and
//     the project's zone is the zone of the rollup's days;
//   * every measure is count(*), sum of a summed column, or count_distinct of user_id, each
//     with a filter that reads only rollup columns (below): a count is the sum of the rows'
//     counts, a sum the sum of their sums (equal up to the rounding of floating-point
//     additions done in another order), and a user counts once either way;
//   * every dimension and filter reads only `event`, `user_id` and columns of joined models
//     reached through user_id alone (a users row is the same for every row of its user);
//   * the grain is a day or longer (periods are whole local days), and the range and any
//     comparison shift are whole local days;
// Everything else (an hour grain, a property filter, a time-of-day range, a median, a funnel)
// reads the events.

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The joins a rollup query may use: to a model that is one row per user_id.
bool rollup_join_ok(const Join& j, const Model& m, const ModelSet& models) {
  if (j.relationship == Relationship::kOneToMany || !models.find(j.model)) return false;
  std::vector<std::string> fact;
  qualified_columns(j.on, m.name, fact);
  return !fact.empty() &&
         std::all_of(fact.begin(), fact.end(), [&](const std::string& c) { return c == m.user; });
}

// Whether a model's SQL snippet reads only rollup key columns (event, user_id), unqualified or
// qualified by the model, and columns of rollup-joinable models. String literals are skipped;
// a word followed by "(" is a function; a few SQL keywords are allowed; anything else refuses.
bool rollup_snippet_ok(const std::string& sql, const Model& m, const ModelSet& models,
                       bool event_ok = true) {
  static const char* kKeywords[] = {
      "case",    "when",    "then",   "else",   "end",     "and",   "or",       "not",   "in",
      "is",      "null",    "like",   "ilike",  "true",    "false", "between",  "as",    "cast",
      "varchar", "integer", "bigint", "double", "boolean", "text",  "distinct", "escape"};
  auto key_column = [&](std::string_view c) { return (event_ok && c == "event") || c == m.user; };
  size_t i = 0, n = sql.size();
  auto word_at = [&](size_t& k) {
    size_t b = k;
    if (k < n && sql[k] == '"') {
      size_t e = sql.find('"', k + 1);
      if (e == std::string::npos) return std::string();
      k = e + 1;
      return sql.substr(b + 1, e - b - 1);
    }
    while (k < n && (std::isalnum(static_cast<unsigned char>(sql[k])) || sql[k] == '_')) ++k;
    return sql.substr(b, k - b);
  };
  auto skip_spaces = [&](size_t k) {
    while (k < n && std::isspace(static_cast<unsigned char>(sql[k]))) ++k;
    return k;
  };
  while (i < n) {
    char c = sql[i];
    if (c == '\'') {  // a string literal ('' escapes a quote)
      ++i;
      while (i < n) {
        if (sql[i] == '\'' && i + 1 < n && sql[i + 1] == '\'') {
          i += 2;
        } else if (sql[i] == '\'') {
          break;
        } else {
          ++i;
        }
      }
      ++i;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      while (i < n && (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '.')) ++i;
      continue;
    }
    if (!(std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '"')) {
      ++i;
      continue;
    }
    std::string w = word_at(i);
    if (w.empty()) return false;
    size_t k = skip_spaces(i);
    if (k < n && sql[k] == '.') {  // qualifier.column
      size_t at = skip_spaces(k + 1);
      std::string column = word_at(at);
      if (column.empty()) return false;
      i = at;
      if (w == m.name) {
        if (!key_column(column)) return false;
        continue;
      }
      const Join* j = nullptr;
      for (const auto& x : m.joins)
        if (x.model == w) j = &x;
      if (!j || !rollup_join_ok(*j, m, models)) return false;
      continue;
    }
    if (k < n && sql[k] == '(') continue;  // a function
    if (key_column(w)) continue;
    bool keyword = std::any_of(std::begin(kKeywords), std::end(kKeywords),
                               [&](const char* kw) { return iequals(w, kw); });
    if (!keyword) return false;
  }
  return true;
}

bool rollup_dimension_ok(const std::string& name, const Model& m, const ModelSet& models,
                         bool event_ok = true) {
  const Dimension* dim = m.dimension(name);
  if (!dim) return false;
  if (!dim->column.empty()) return (event_ok && dim->column == "event") || dim->column == m.user;
  return rollup_snippet_ok(dim->sql, m, models, event_ok);
}

bool rollup_measure_ok(const Measure& me, const Model& m, const ModelSet& models,
                       const warehouse::RollupInfo& r) {
  if (!me.sql.empty() || !rollup_snippet_ok(me.filter, m, models)) return false;
  switch (me.agg) {
    case Aggregation::kCount:
      return me.column.empty();
    case Aggregation::kSum:
      return std::find(r.sum_columns.begin(), r.sum_columns.end(), me.column) !=
             r.sum_columns.end();
    case Aggregation::kCountDistinct:
      return me.column == m.user;
    default:
      return false;
  }
}

bool day_aligned(const LocalRange& r) { return r.start % 86400 == 0 && r.end % 86400 == 0; }

// The model and zone rules, shared by every query type.
bool rollup_model_ok(const Model& m, const CompileContext& ctx) {
  return ctx.rollups && m.table == "events" && m.time == "timestamp" && m.user == "user_id" &&
         ctx.timezone == ctx.rollups->timezone;
}

bool rollup_applies_to_metrics(const Query& q, const ModelSet& models, const Model& m,
                               const CompileContext& ctx, const std::vector<std::string>& measures,
                               const std::optional<LocalRange>& range, const Shift& shift) {
  if (!rollup_model_ok(m, ctx)) return false;
  if (q.time && q.time->grain &&
      (*q.time->grain == Grain::kMinute || *q.time->grain == Grain::kHour))
    return false;
  if (range && !day_aligned(*range)) return false;
  if (shift.seconds % 86400 != 0) return false;
  for (const auto& n : measures)
    if (!rollup_measure_ok(*m.measure(n), m, models, *ctx.rollups)) return false;
  for (const auto& n : q.dimensions)
    if (!rollup_dimension_ok(n, m, models)) return false;
  for (const auto& f : q.filters)
    if (!f.on_metric && !rollup_dimension_ok(f.field, m, models)) return false;
  return true;
}

// Unfiltered distinct users by day: the per-day table answers every day it holds.
bool day_users_apply(const Query& q, const Model& m, const std::vector<std::string>& measures) {
  if (!q.time || q.time->grain != Grain::kDay || !q.dimensions.empty()) return false;
  for (const auto& f : q.filters)
    if (!f.on_metric) return false;
  return std::all_of(measures.begin(), measures.end(), [&](const std::string& n) {
    const Measure* me = m.measure(n);
    return me->agg == Aggregation::kCountDistinct && me->column == m.user && me->filter.empty() &&
           me->sql.empty();
  });
}

// A measure the active-users rollup answers: unfiltered count(*) or count_distinct(user_id).
bool active_users_measure(const Measure& me, const Model& m) {
  if (!me.sql.empty() || !me.filter.empty()) return false;
  return (me.agg == Aggregation::kCount && me.column.empty()) ||
         (me.agg == Aggregation::kCountDistinct && me.column == m.user);
}

// The active-users split of a rollup query: its distinct users and counts read the active-users
// rollup (a row per day and user, a sixth of the user-day rows on session-shaped data), and the
// other measures the user-day rows that pass their filters. Only when no dimension or filter
// reads `event`, and every other measure has a filter (else the user-day rows are all read
// anyway). The active-users part has a row for every group the events have (it keeps null
// users), so the other part joins to it; `rest` is empty when it answers everything.
struct ActiveSplit {
  std::vector<std::string> active, rest;
};
std::optional<ActiveSplit> active_users_split(const Query& q, const ModelSet& models,
                                              const Model& m, const CompileContext& ctx,
                                              const std::vector<std::string>& measures) {
  if (ctx.rollups->active_users_table.empty()) return std::nullopt;
  for (const auto& n : q.dimensions)
    if (!rollup_dimension_ok(n, m, models, false)) return std::nullopt;
  for (const auto& f : q.filters)
    if (!f.on_metric && !rollup_dimension_ok(f.field, m, models, false)) return std::nullopt;
  ActiveSplit split;
  for (const auto& n : measures) {
    const Measure& me = *m.measure(n);
    if (active_users_measure(me, m)) {
      split.active.push_back(n);
    } else if (me.filter.empty()) {
      return std::nullopt;
    } else {
      split.rest.push_back(n);
    }
  }
  if (split.active.empty()) return std::nullopt;
  return split;
}

bool rollup_step_ok(const FunnelStep& s, const Model& m, const ModelSet& models) {
  return std::all_of(s.filters.begin(), s.filters.end(), [&](const Filter& f) {
    return !f.on_metric && rollup_dimension_ok(f.field, m, models);
  });
}

bool rollup_applies_to_retention(const Query& q, const ModelSet& models, const Model& m,
                                 const CompileContext& ctx, const LocalRange& range) {
  if (!rollup_model_ok(m, ctx) || !day_aligned(range)) return false;
  if (q.period != Grain::kDay && q.period != Grain::kWeek && q.period != Grain::kMonth)
    return false;
  if ((!q.start.event.empty() || !q.returning.event.empty()) &&
      !rollup_dimension_ok("event", m, models))
    return false;
  if (!rollup_step_ok(q.start, m, models) || !rollup_step_ok(q.returning, m, models)) return false;
  return std::all_of(q.filters.begin(), q.filters.end(), [&](const Filter& f) {
    return !f.on_metric && rollup_dimension_ok(f.field, m, models);
  });
}

Result<CompiledQuery> compile_metrics(const Query& q, const ModelSet& models, const Model& m,
                                      const CompileContext& ctx) {
  if (q.metrics.empty())
    return invalid_argument("\"metrics\" must name at least one metric or measure");
  std::optional<Grain> grain = q.time ? q.time->grain : std::nullopt;
  if ((grain || q.time) && m.time.empty()) {
    return invalid_argument("model '" + m.name +
                            "' has no time column, so \"time\" cannot be used");
  }
  if (q.compare != Compare::kNone && !q.time) {
    return invalid_argument("\"compare\" needs a \"time\" range to compare with");
  }
  CompiledQuery out;
  out.type = QueryType::kMetrics;
  out.model = m.name;
  Builder b(q, models, m, ctx);
  const Dialect& d = b.d();

  // Which items to compute: requested, then those named by metric filters and order.
  std::set<std::string> seen_items;
  for (const auto& n : q.metrics) {
    if (!m.measure(n) && !m.metric(n)) {
      std::vector<std::string> known;
      for (const auto& x : m.measures) known.push_back(x.name);
      for (const auto& x : m.metrics) known.push_back(x.name);
      return invalid_argument(fmt::format("unknown metric '{}' in model '{}' (known: {})", n,
                                          m.name, join_names(known)));
    }
    if (!seen_items.insert(n).second) return invalid_argument("metric '" + n + "' is asked twice");
  }
  std::set<std::string> seen_dims;
  for (const auto& n : q.dimensions) {
    if (!seen_dims.insert(n).second)
      return invalid_argument("dimension '" + n + "' is asked twice");
    if (n == "time")
      return invalid_argument(
          "'time' is the time dimension: ask for it with \"time\":{\"grain\":…}");
  }
  std::vector<std::string> items = q.metrics;
  for (const auto& f : q.filters) {
    if (!f.on_metric) continue;
    if (!m.measure(f.field) && !m.metric(f.field)) {
      return invalid_argument(
          fmt::format("filter on unknown metric '{}' in model '{}'", f.field, m.name));
    }
    if (std::find(items.begin(), items.end(), f.field) == items.end()) items.push_back(f.field);
  }

  // Measures needed (transitively through metrics).
  std::vector<std::string> measures;
  std::function<void(const std::string&)> need = [&](const std::string& n) {
    if (m.measure(n)) {
      if (std::find(measures.begin(), measures.end(), n) == measures.end()) measures.push_back(n);
      return;
    }
    if (const Metric* mt = m.metric(n)) {
      auto tokens = parse_metric_expr(mt->expr);
      if (!tokens) return;
      for (const auto& t : *tokens)
        if (t.kind == ExprToken::Kind::kName) need(t.text);
    }
  };
  for (const auto& n : items) need(n);

  LocalRange range;
  if (q.time) {
    auto r = range_of(q, ctx, true);
    if (!r) return r.status();
    range = *r;
    out.has_range = true;
    out.range = range;
  }
  Shift shift = compare_shift(q.compare, range);
  bool rollup = rollup_applies_to_metrics(
      q, models, m, ctx, measures, q.time ? std::optional<LocalRange>(range) : std::nullopt, shift);
  if (rollup) b.use_rollup(ctx.rollups);
  out.from_rollup = rollup;
  const bool day_users = rollup && day_users_apply(q, m, measures);
  const std::optional<ActiveSplit> split =
      rollup && !day_users ? active_users_split(q, models, m, ctx, measures) : std::nullopt;

  // Dimension filters are shared by both periods.
  std::vector<std::string> dim_sql;
  for (const auto& n : q.dimensions) {
    auto s = b.dimension_sql(n);
    if (!s) return s.status();
    dim_sql.push_back(*s);
  }
  std::vector<std::string> keys;  // output key columns
  if (grain) keys.push_back("time");
  for (const auto& n : q.dimensions) keys.push_back(n);

  std::optional<EagerJoin> eager = eager_join_plan(q, models, m, measures);
  // The eager form of an aggregation CTE: per join key first (pre), then joined and combined.
  auto eager_cte = [&](const LocalRange& r, const Shift& bucket_shift,
                       const std::vector<std::string>& ms,
                       const std::vector<std::string>& conds) -> Result<std::string> {
    const EagerJoin& e = *eager;
    b.read_local_span(r);
    std::string pre = d.quote(m.name);  // the subquery keeps the model's name for the ON clause
    std::vector<std::string> inner = {b.col(e.key) + " AS " + d.quote(e.key)},
                             inner_keys = {d.quote(e.key)};
    std::vector<std::string> outer, outer_keys;
    if (grain) {
      std::string lt = d.shift_local(b.local(b.time_col()), bucket_shift);
      inner.push_back(d.truncate(*grain, lt) + " AS " + d.quote("time"));
      inner_keys.push_back(d.quote("time"));
      outer.push_back(pre + "." + d.quote("time") + " AS " + d.quote("time"));
      outer_keys.push_back(d.quote("time"));
    }
    for (size_t i = 0; i < dim_sql.size(); ++i) {
      const std::string& name = q.dimensions[i];
      if (e.dim_joined[i]) {
        outer.push_back(dim_sql[i] + " AS " + d.quote(name));
      } else {
        inner.push_back(dim_sql[i] + " AS " + d.quote(name));
        inner_keys.push_back(d.quote(name));
        outer.push_back(pre + "." + d.quote(name) + " AS " + d.quote(name));
      }
      outer_keys.push_back(d.quote(name));
    }
    for (const auto& n : ms) {
      const Measure& me = *m.measure(n);
      std::string part = pre + "." + d.quote("part_" + n);
      std::string f = me.filter.empty() ? "" : "(" + me.filter + ")";
      if (me.agg == Aggregation::kCountDistinct) {
        // A key's part counts its rows that pass the measure's filter; the key counts once.
        if (!f.empty())
          inner.push_back(d.aggregate(Aggregation::kCount, "", f, 0) + " AS " +
                          d.quote("part_" + n));
        outer.push_back(d.aggregate(Aggregation::kCount, pre + "." + d.quote(e.key),
                                    f.empty() ? "" : part + " > 0", 0) +
                        " AS " + d.quote(n));
        continue;
      }
      inner.push_back(b.measure_sql(me) + " AS " + d.quote("part_" + n));
      outer.push_back((me.agg == Aggregation::kCount ? d.sum_of_counts(part)
                                                     : d.aggregate(me.agg, part, "", 0)) +
                      " AS " + d.quote(n));
    }
    std::vector<std::string> inner_conds, outer_conds;
    if (q.time) inner_conds.push_back(b.range_condition(r));
    inner_conds.insert(inner_conds.end(), conds.begin(), conds.end());
    for (size_t i = 0; i < q.filters.size(); ++i) {
      const Filter& f = q.filters[i];
      if (f.on_metric) continue;
      auto c = b.dimension_conditions({f});
      if (!c) return c.status();
      (e.filter_joined[i] ? outer_conds : inner_conds).push_back(c->front());
    }
    std::string sql = "SELECT " + join_names(outer) + " FROM (SELECT " + join_names(inner) + " " +
                      b.from_table_only() + where(inner_conds) + d.group_by(inner_keys) + ") AS " +
                      pre + b.join_clause(*e.join, *e.other) + where(outer_conds);
    if (!keys.empty()) sql += d.group_by(outer_keys);
    return sql;
  };

  // Distinct users by day from the per-day table, and for the days it lacks (written since
  // they were counted) from the user-day rows.
  auto day_users_cte = [&](const LocalRange& r, const Shift& bucket_shift) -> std::string {
    const warehouse::RollupInfo& ru = *ctx.rollups;
    std::string du = d.quote("day_users");
    std::string du_day = du + "." + d.quote("day");
    std::vector<std::string> counted = {
        d.truncate(Grain::kDay, d.shift_local(d.day_start(du_day), bucket_shift)) + " AS " +
        d.quote("time")};
    std::vector<std::string> rest = {
        d.truncate(Grain::kDay, d.shift_local(b.local(b.time_col()), bucket_shift)) + " AS " +
        d.quote("time")};
    for (const auto& n : measures) {
      counted.push_back(du + "." + d.quote("users") + " AS " + d.quote(n));
      rest.push_back(b.measure_sql(*m.measure(n)) + " AS " + d.quote(n));
    }
    std::string sql = "SELECT " + join_names(counted) + " FROM " + d.relation(ru.day_users_table) +
                      " AS " + du + " WHERE " + b.day_range(du_day, r);
    b.read_active_users(!ru.active_users_table.empty());
    std::string rest_conds = b.range_condition(r) + " AND " + b.time_col() + " NOT IN (SELECT " +
                             d.quote("day") + " FROM " + d.relation(ru.day_users_table) + ")";
    sql += " UNION ALL SELECT " + join_names(rest) + " " + b.from_table_only() + " WHERE " +
           rest_conds + d.group_by({d.quote("time")});
    b.read_active_users(false);
    return sql;
  };

  // An aggregation of a period: keys and the measures `ms` of the rows in `r` that also pass
  // `extra` (conditions).
  auto measures_cte = [&](const LocalRange& r, const Shift& bucket_shift,
                          const std::vector<std::string>& ms,
                          const std::vector<std::string>& extra) -> Result<std::string> {
    if (eager) return eager_cte(r, bucket_shift, ms, extra);
    b.read_local_span(r);
    std::vector<std::string> select;
    if (grain) {
      std::string lt = d.shift_local(b.local(b.time_col()), bucket_shift);
      // The period start; formatted as text after aggregating, once per group, not per row.
      select.push_back(d.truncate(*grain, lt) + " AS " + d.quote("time"));
    }
    for (size_t i = 0; i < dim_sql.size(); ++i)
      select.push_back(dim_sql[i] + " AS " + d.quote(q.dimensions[i]));
    for (const auto& n : ms) select.push_back(b.measure_sql(*m.measure(n)) + " AS " + d.quote(n));
    std::vector<std::string> conds;
    if (q.time) conds.push_back(b.range_condition(r));
    conds.insert(conds.end(), extra.begin(), extra.end());
    auto dc = b.dimension_conditions([&] {
      std::vector<Filter> fs;
      for (const auto& f : q.filters)
        if (!f.on_metric) fs.push_back(f);
      return fs;
    }());
    if (!dc) return dc.status();
    for (auto& c : *dc) conds.push_back(c);
    std::string sql = "SELECT " + join_names(select) + " " + b.from() + where(conds);
    if (!keys.empty()) {
      std::vector<std::string> aliases;
      for (const auto& k : keys) aliases.push_back(d.quote(k));
      sql += d.group_by(aliases);
    }
    return sql;
  };

  // One aggregation CTE per period: keys and measures.
  auto aggregate_cte = [&](const LocalRange& r, const Shift& bucket_shift) -> Result<std::string> {
    if (day_users) return day_users_cte(r, bucket_shift);
    if (!split) return measures_cte(r, bucket_shift, measures, {});
    b.read_active_users(true);
    auto active = measures_cte(r, bucket_shift, split->active, {});
    b.read_active_users(false);
    if (!active || split->rest.empty()) return active;
    // The other measures from the user-day rows that pass one of their filters.
    std::vector<std::string> any;
    for (const auto& n : split->rest) any.push_back("(" + m.measure(n)->filter + ")");
    auto rest = measures_cte(r, bucket_shift, split->rest,
                             {"(" + fmt::format("{}", fmt::join(any, " OR ")) + ")"});
    if (!rest) return rest;
    std::string a = d.quote("active"), o = d.quote("rest");
    std::vector<std::string> select, on;
    for (const auto& k : keys) {
      select.push_back(a + "." + d.quote(k));
      on.push_back(d.same(a + "." + d.quote(k), o + "." + d.quote(k)));
    }
    for (const auto& n : split->active) select.push_back(a + "." + d.quote(n));
    for (const auto& n : split->rest) {
      // A group without a passing row counts 0, as in one aggregation.
      Aggregation agg = m.measure(n)->agg;
      std::string v = o + "." + d.quote(n);
      bool count = agg == Aggregation::kCount || agg == Aggregation::kCountDistinct;
      select.push_back((count ? "coalesce(" + v + ", 0)" : v) + " AS " + d.quote(n));
    }
    return "SELECT " + join_names(select) + " FROM (" + *active + ") AS " + a +
           d.left_join("(" + *rest + ")", o, on);
  };
  // The metric layer on an aggregation CTE: keys and every item.
  auto metric_cte = [&](const std::string& agg) {
    std::vector<std::string> select;
    for (const auto& k : keys) select.push_back(d.quote(k));
    std::function<std::string(const std::string&)> name_sql =
        [&](const std::string& n) -> std::string {
      if (m.measure(n)) return d.quote(n);
      const Metric* mt = m.metric(n);
      auto tokens = parse_metric_expr(mt->expr);
      return "(" +
             render_metric_expr(
                 *tokens, name_sql,
                 [&](const std::string& a, const std::string& bb) { return d.divide(a, bb); }) +
             ")";
    };
    for (const auto& n : items) {
      if (m.measure(n)) {
        select.push_back(d.quote(n));
      } else {
        select.push_back(name_sql(n) + " AS " + d.quote(n));
      }
    }
    return "SELECT " + join_names(select) + " FROM " + agg;
  };

  auto cur_agg = aggregate_cte(range, Shift{});
  if (!cur_agg) return cur_agg.status();
  std::vector<Dialect::Cte> ctes = {{"cur_agg", *cur_agg}, {"cur", metric_cte("cur_agg")}};
  bool comparing = q.compare != Compare::kNone;
  if (comparing) {
    LocalRange prev{shift_local(range.start, shift, true), shift_local(range.end, shift, true)};
    b.clear_snippets();
    for (const auto& n : q.dimensions) (void)b.dimension_sql(n);
    auto prev_agg = aggregate_cte(prev, shift);
    if (!prev_agg) return prev_agg.status();
    ctes.push_back({"prev_agg", *prev_agg});
    ctes.push_back({"prev", metric_cte("prev_agg")});
    out.scope_start_us = prev.start;  // local seconds until compile() converts them
  }

  std::vector<std::string> select;
  for (const auto& k : keys) {
    select.push_back(k == "time" && grain
                         ? d.format_period(*grain, "c." + d.quote(k)) + " AS " + d.quote(k)
                         : "c." + d.quote(k));
    ColumnMeta cm{k, k == "time" ? "time" : "dimension", "", description_of(m, k)};
    out.columns.push_back(cm);
  }
  for (const auto& n : q.metrics) {
    select.push_back("c." + d.quote(n));
    out.columns.push_back({n, "metric", format_of(m, n), description_of(m, n)});
  }
  if (comparing) {
    for (const auto& n : q.metrics) {
      select.push_back("p." + d.quote(n) + " AS " + d.quote(n + "_compare"));
      out.columns.push_back(
          {n + "_compare", "compare", format_of(m, n), "the comparison period's " + n});
    }
    for (const auto& n : q.metrics) {
      select.push_back(d.divide("c." + d.quote(n) + " - p." + d.quote(n), "p." + d.quote(n)) +
                       " AS " + d.quote(n + "_change"));
      out.columns.push_back({n + "_change", "change", "percent", "relative change of " + n});
    }
  }
  std::string sql = "SELECT " + join_names(select) + " FROM cur AS c";
  if (comparing) {
    std::vector<std::string> on;
    for (const auto& k : keys) on.push_back(d.same("c." + d.quote(k), "p." + d.quote(k)));
    sql += d.left_join("prev", "p", on);
  }
  std::vector<std::string> having;
  for (const auto& f : q.filters) {
    if (f.on_metric) having.push_back(b.condition("c." + d.quote(f.field), f));
  }
  sql += where(having);

  // Order: named output columns only.
  std::vector<std::string> order;
  for (const auto& o : q.order) {
    bool known = std::any_of(out.columns.begin(), out.columns.end(),
                             [&](const ColumnMeta& c) { return c.name == o.field; });
    if (!known) {
      return invalid_argument(
          fmt::format("\"order\" names '{}', which is not a column of the "
                      "answer (time, dimensions, metrics asked)",
                      o.field));
    }
    std::string qual = (std::find(keys.begin(), keys.end(), o.field) != keys.end() ||
                        std::find(q.metrics.begin(), q.metrics.end(), o.field) != q.metrics.end())
                           ? "c." + d.quote(o.field)
                           : d.quote(o.field);
    order.push_back(qual + (o.desc ? " DESC NULLS LAST" : " ASC NULLS LAST"));
  }
  if (order.empty()) {
    if (!keys.empty()) {
      for (const auto& k : keys) order.push_back("c." + d.quote(k) + " ASC NULLS LAST");
    } else {
      order.push_back("c." + d.quote(q.metrics.front()) + " DESC NULLS LAST");
    }
  }
  sql += " ORDER BY " + join_names(order);
  if (q.limit && *q.limit > ctx.max_rows) {
    return invalid_argument(
        fmt::format("\"limit\" {} is above the row cap of {} rows", *q.limit, ctx.max_rows));
  }
  sql += fmt::format(" LIMIT {}", q.limit ? *q.limit : ctx.max_rows + 1);
  out.sql = d.statement(ctes, sql);
  out.params = b.take_params();
  out.tables = b.tables();
  return out;
}

// ---- analyses ----

// Conditions selecting a step's rows: the event shorthand and the step's filters.
Result<std::vector<std::string>> step_conditions(Builder& b, const FunnelStep& s) {
  std::vector<std::string> conds;
  if (!s.event.empty()) {
    if (!b.model().dimension("event")) {
      return invalid_argument("model '" + b.model().name +
                              "' has no dimension 'event' for the step's event name");
    }
    Filter f;
    f.field = "event";
    f.values.push_back(Value(s.event));
    auto c = b.dimension_conditions({f});
    if (!c) return c.status();
    conds.insert(conds.end(), c->begin(), c->end());
  }
  auto c = b.dimension_conditions(s.filters);
  if (!c) return c.status();
  conds.insert(conds.end(), c->begin(), c->end());
  return conds;
}

// A funnel step's tag in a tagged instant (Dialect::tagged_instant), from step 1: descending.
int step_tag(size_t step) { return kInstantTags - static_cast<int>(step); }

// Whether every step names an event and no two steps the same one: then no row is of two steps.
bool distinct_step_events(const std::vector<FunnelStep>& steps) {
  std::set<std::string> events;
  for (const FunnelStep& s : steps) {
    if (s.event.empty() || !events.insert(s.event).second) return false;
  }
  return true;
}

Status needs_time_and_user(const Model& m) {
  if (m.time.empty())
    return invalid_argument("model '" + m.name + "' has no time column for analyses");
  return Status::ok();
}

Result<CompiledQuery> compile_funnel(const Query& q, const ModelSet& models, const Model& m,
                                     const CompileContext& ctx) {
  BASALT_RETURN_IF_ERROR(needs_time_and_user(m));
  if (q.steps.size() < 2 || q.steps.size() > 20)
    return invalid_argument("a funnel needs 2 to 20 \"steps\"");
  auto r = range_of(q, ctx, true);
  if (!r) return r.status();
  CompiledQuery out;
  out.type = QueryType::kFunnel;
  out.model = m.name;
  out.has_range = true;
  out.range = *r;
  Builder b(q, models, m, ctx);
  const Dialect& d = b.d();
  const size_t n = q.steps.size();
  bool bd = !q.breakdown.empty();
  out.breakdown = bd;

  // One pass over the rows of any step, in [start, end + window): a later step can land after
  // the range, within the window of a first step inside it (its deadline implies this bound).
  // m<k> says whether a row is an event of step k; a first step must be inside the range.
  // When every step names an event and no two the same one, a row is of one step at most: it
  // then carries its step's tag `s` instead (step_tag; 0: none), and one list per user holds
  // the tagged times of every later step: one list aggregate instead of one per step, about a
  // third less time at 50 M events (bench/README.md).
  const bool tagged = distinct_step_events(q.steps);
  std::vector<std::string> select = {b.user_col() + " AS u", b.time_col() + " AS t"};
  if (bd) {
    auto bsql = b.dimension_sql(q.breakdown);
    if (!bsql) return bsql.status();
    select.push_back(*bsql + " AS b");
  }
  std::string range_end = b.instant(r->end);
  std::vector<std::string> any_step;  // a row is read when it is some step's event
  std::vector<std::string> step_of;   // tagged: the WHEN branches giving s
  bool every_row = false, step_filters = false;
  for (size_t k = 0; k < n; ++k) {
    auto sc = step_conditions(b, q.steps[k]);
    if (!sc) return sc.status();
    std::vector<std::string> mc = *sc;
    if (mc.empty()) every_row = true;
    if (!q.steps[k].filters.empty()) step_filters = true;
    if (k == 0) mc.push_back(b.time_col() + " < " + range_end);
    std::string is_step = mc.empty() ? "TRUE" : fmt::format("{}", fmt::join(mc, " AND "));
    if (tagged) {
      step_of.push_back(fmt::format("WHEN {} THEN {}", is_step, step_tag(k + 1)));
    } else {
      select.push_back(fmt::format("({}) AS m{}", is_step, k + 1));
    }
  }
  if (tagged) select.push_back(fmt::format("CASE {} ELSE 0 END AS s", fmt::join(step_of, " ")));
  if (tagged && !step_filters) {
    // The steps' events as one list, not a chain of ORs.
    auto event = b.dimension_sql("event");
    if (!event) return event.status();
    std::vector<std::string> names;
    for (const FunnelStep& st : q.steps) names.push_back(b.param(Value(st.event)));
    any_step = {d.one_of(*event, names)};
  } else if (!every_row) {
    for (const FunnelStep& st : q.steps) {
      auto again = step_conditions(b, st);  // the row filter binds its own parameters
      if (!again) return again.status();
      if (!again->empty())
        any_step.push_back("(" + fmt::format("{}", fmt::join(*again, " AND ")) + ")");
    }
    any_step = {"(" + fmt::format("{}", fmt::join(any_step, " OR ")) + ")"};
  }
  LocalRange er = *r;
  er.end += q.window_seconds;
  std::vector<std::string> conds = {b.range_condition(er), b.user_col() + " IS NOT NULL"};
  auto cc = b.dimension_conditions(q.filters);
  if (!cc) return cc.status();
  conds.insert(conds.end(), cc->begin(), cc->end());
  conds.insert(conds.end(), any_step.begin(), any_step.end());
  std::string from = b.from();
  std::vector<Dialect::Cte> ctes = {
      {"e", fmt::format("SELECT {} {}{}", join_names(select), from, where(conds))}};

  // Per user: the first step's earliest time (and the breakdown value there), and the times of
  // each later step's events. Then step k is the earliest of its events after step k-1 and
  // within the window of step 1 (the greedy chain: each step as early as it can be).
  // Tagged, t<k> are tagged instants, step k's tag kInstantTags - k: a later step's tag is
  // smaller, so "x > t<k-1>" holds only from the next microsecond, and dl (the deadline) is
  // the last tagged value of the window's last microsecond.
  const std::string first_step = tagged ? fmt::format("s = {}", step_tag(1)) : "m1";
  const std::string first_time =
      d.aggregate(Aggregation::kMin, tagged ? d.tagged_instant("t", "s") : "t", first_step, 0);
  std::vector<std::string> per_user = {"u", first_time + " AS t1"};
  if (bd) {
    per_user.push_back(d.value_at_min(fmt::format("CASE WHEN {} THEN b END", first_step),
                                      fmt::format("CASE WHEN {} THEN t END", first_step)) +
                       " AS b");
  }
  if (tagged) {
    per_user.push_back(
        fmt::format("{} + {} AS dl", first_time,
                    q.window_seconds * 1000000 * kInstantTags + kInstantTags - 1 - step_tag(1)));
    per_user.push_back(
        d.instant_list(d.tagged_instant("t", "s"), fmt::format("s > 0 AND s < {}", step_tag(1))) +
        " AS l");
  } else {
    for (size_t k = 2; k <= n; ++k)
      per_user.push_back(fmt::format("{} AS l{}", d.instant_list("t", fmt::format("m{}", k)), k));
  }
  ctes.push_back({"s1", fmt::format("SELECT {} FROM e GROUP BY u", join_names(per_user))});
  // Where the engine walks the chain in one call, each user's steps come from it (s2.c);
  // otherwise one subquery per step finds it in the lists (s<k>.t<k>).
  const std::string chain = tagged ? d.tagged_chain("l", "t1", "dl", n) : "";
  auto step_time = [&](size_t k) {
    return chain.empty() ? fmt::format("t{}", k) : d.chain_step("c", k);
  };
  if (!chain.empty()) {
    ctes.push_back({"s2", fmt::format("SELECT {}{} AS c FROM s1 WHERE t1 IS NOT NULL",
                                      bd ? "b, " : "", chain)});
  }
  for (size_t k = 2; chain.empty() && k <= n; ++k) {
    std::vector<std::string> carried;
    if (bd) carried.push_back("b");
    for (size_t j = 1; j < k; ++j) carried.push_back(fmt::format("t{}", j));
    if (tagged && k < n) carried.insert(carried.end(), {"dl", "l"});
    for (size_t j = k + 1; !tagged && j <= n; ++j) carried.push_back(fmt::format("l{}", j));
    std::string prev = fmt::format("t{}", k - 1);
    std::string first = tagged ? d.first_tagged_in_list("l", step_tag(k), prev, "dl")
                               : d.first_in_list_after(fmt::format("l{}", k), prev,
                                                       d.add_seconds("t1", q.window_seconds));
    ctes.push_back({fmt::format("s{}", k),
                    fmt::format("SELECT {carried}, {first} AS t{k} FROM s{p}{w}", fmt::arg("k", k),
                                fmt::arg("p", k - 1), fmt::arg("carried", join_names(carried)),
                                fmt::arg("first", first),
                                fmt::arg("w", k == 2 ? " WHERE t1 IS NOT NULL" : ""))});
  }
  select.clear();
  if (bd) select.push_back("b");
  for (size_t k = 1; k <= n; ++k)
    select.push_back(fmt::format("count({}) AS step_{}", step_time(k), k));
  for (size_t k = 2; k <= n; ++k) {
    select.push_back(fmt::format(
        "{} AS median_{}",
        d.aggregate(Aggregation::kMedian,
                    tagged ? fmt::format("({} - {} + {}) / {}.0", step_time(k), step_time(k - 1),
                                         step_tag(k - 1) - step_tag(k), 1000000 * kInstantTags)
                           : d.seconds_between(step_time(k - 1), step_time(k)),
                    "", 0),
        k));
  }
  std::string body = fmt::format("SELECT {} FROM s{}", join_names(select), chain.empty() ? n : 2);
  if (bd) body += " GROUP BY b ORDER BY step_1 DESC, b NULLS LAST";
  body += fmt::format(" LIMIT {}", ctx.max_rows + 1);
  std::string sql = d.statement(ctes, body);
  for (size_t k = 0; k < q.steps.size(); ++k) {
    out.steps.push_back(q.steps[k].event.empty() ? fmt::format("step {}", k + 1)
                                                 : q.steps[k].event);
  }
  if (bd) out.columns.push_back({q.breakdown, "dimension", "", description_of(m, q.breakdown)});
  out.columns.push_back({"step", "dimension", "", "step number, from 1"});
  out.columns.push_back({"event", "dimension", "", "the step's event"});
  out.columns.push_back({"users", "metric", "number", "users who reached the step"});
  out.columns.push_back({"conversion", "metric", "percent", "share of the first step's users"});
  out.columns.push_back(
      {"step_conversion", "metric", "percent", "share of the previous step's users"});
  out.columns.push_back(
      {"median_seconds", "metric", "number", "median time from the previous step"});
  out.sql = std::move(sql);
  out.params = b.take_params();
  out.tables = b.tables();
  return out;
}

Result<CompiledQuery> compile_retention(const Query& q, const ModelSet& models, const Model& m,
                                        const CompileContext& ctx) {
  BASALT_RETURN_IF_ERROR(needs_time_and_user(m));
  if (q.start.event.empty() && q.start.filters.empty())
    return invalid_argument("retention needs \"start\" (the cohort's first event)");
  if (q.returning.event.empty() && q.returning.filters.empty())
    return invalid_argument("retention needs \"return\" (the returning event)");
  auto r = range_of(q, ctx, true);
  if (!r) return r.status();
  CompiledQuery out;
  out.type = QueryType::kRetention;
  out.model = m.name;
  out.has_range = true;
  out.range = *r;
  Builder b(q, models, m, ctx);
  const Dialect& d = b.d();
  Grain g = q.period;
  // From the rollup, times are local days: first days, cohorts and returns by day are the
  // same as from the events' instants when the range is whole days and the periods are days
  // or longer.
  if (rollup_applies_to_retention(q, models, m, ctx, *r)) {
    b.use_rollup(ctx.rollups);
    out.from_rollup = true;
  }

  // A step's rows as (u, t); `t_sql` spells t from the model's time column, and `distinct`
  // keeps each (u, t) once.
  auto events_cte = [&](const FunnelStep& s, const std::vector<std::string>& time_conds,
                        const std::string& t_sql, bool distinct) -> Result<std::string> {
    b.clear_snippets();
    auto sc = step_conditions(b, s);
    if (!sc) return sc.status();
    auto cc = b.dimension_conditions(q.filters);
    if (!cc) return cc.status();
    std::vector<std::string> conds = time_conds;
    conds.push_back(b.user_col() + " IS NOT NULL");
    conds.insert(conds.end(), sc->begin(), sc->end());
    conds.insert(conds.end(), cc->begin(), cc->end());
    std::string from = b.from();
    return "SELECT " + b.user_col() + " AS u, " + t_sql + " AS t " + from + where(conds) +
           (distinct ? d.group_by({"u", "t"}) : "");
  };
  auto a = events_cte(q.start, {b.time_col() + " < " + b.instant(r->end)}, b.time_col(), false);
  if (!a) return a.status();
  Shift horizon;
  if (g == Grain::kDay) horizon.days = q.periods + 1;
  if (g == Grain::kWeek) horizon.days = 7 * (q.periods + 1);
  if (g == Grain::kMonth) horizon.months = q.periods + 1;
  std::string lo = b.instant(r->start);
  // Cohort starts lie in the range, returning events before the horizon.
  b.read_local_span(LocalRange{r->start, shift_local(r->end, horizon, false)});
  // Each user's returns as the periods they fall in, each once: a user is of one cohort, so
  // (user, cohort, period) rows of the join below are distinct without a DISTINCT over them
  // (a third less time at 50 M events, bench/README.md).
  auto ret = events_cte(q.returning,
                        {b.time_col() + " >= " + lo,
                         b.time_col() + " < " + b.instant(shift_local(r->end, horizon, false))},
                        d.truncate(g, b.local(b.time_col())), true);
  if (!ret) return ret.status();
  std::string tz_local_t0 = d.truncate(g, b.local("t0"));
  std::string sql = d.statement(
      {{"a", *a},
       {"firsts", "SELECT u, min(t) AS t0 FROM a GROUP BY u"},
       {"cohort", fmt::format("SELECT u, {} AS c FROM firsts WHERE t0 >= {}", tz_local_t0, lo)},
       {"r", *ret},
       {"returned", fmt::format("SELECT h.u, h.c, {} AS k FROM cohort AS h JOIN r ON r.u = h.u",
                                d.periods_between(g, "h.c", "r.t"))},
       {"sizes", "SELECT c, count(*) AS n FROM cohort GROUP BY c"}},
      fmt::format(
          "SELECT {cohort} AS cohort, s.n AS cohort_size, x.k AS period, count(x.u) AS "
          "users, {rate} AS rate FROM sizes AS s {join} GROUP BY s.c, s.n, x.k ORDER BY "
          "s.c, x.k LIMIT {cap}",
          fmt::arg("cohort", d.format_period(g, "s.c")),
          fmt::arg("rate", d.divide("count(x.u)", "s.n")),
          fmt::arg("join", d.inner_join_where("returned", "x", "x.c = s.c",
                                              fmt::format("k BETWEEN 0 AND {}", q.periods))),
          fmt::arg("cap", ctx.max_rows + 1)));
  out.columns = {{"cohort", "time", "", "the period of the users' first start event"},
                 {"cohort_size", "metric", "number", "users in the cohort"},
                 {"period", "dimension", "",
                  fmt::format("{}s since the cohort's {}", grain_name(g), grain_name(g))},
                 {"users", "metric", "number", "cohort users with the return event in the period"},
                 {"rate", "metric", "percent", "users / cohort_size"}};
  out.sql = std::move(sql);
  out.params = b.take_params();
  out.tables = b.tables();
  return out;
}

Result<CompiledQuery> compile_distribution(const Query& q, const ModelSet& models, const Model& m,
                                           const CompileContext& ctx) {
  BASALT_RETURN_IF_ERROR(needs_time_and_user(m));
  const Measure* me = m.measure(q.measure);
  if (!me) {
    return invalid_argument(fmt::format("distribution needs \"measure\", one of model '{}': {}",
                                        m.name, known_list(m.measures)));
  }
  auto r = range_of(q, ctx, true);
  if (!r) return r.status();
  CompiledQuery out;
  out.type = QueryType::kDistribution;
  out.model = m.name;
  out.has_range = true;
  out.range = *r;
  out.buckets = q.buckets.empty() ? std::vector<double>{1, 2, 3, 5, 10, 20, 50, 100} : q.buckets;
  Builder b(q, models, m, ctx);
  const Dialect& d = b.d();
  std::string v = b.measure_sql(*me);
  std::vector<std::string> conds = {b.range_condition(*r), b.user_col() + " IS NOT NULL"};
  auto cc = b.dimension_conditions(q.filters);
  if (!cc) return cc.status();
  conds.insert(conds.end(), cc->begin(), cc->end());
  std::string having = "v IS NOT NULL";
  if (!me->filter.empty())
    having = "v IS NOT NULL AND " +
             d.aggregate(Aggregation::kCount, "", "(" + me->filter + ")", 0) + " > 0";
  std::string from = b.from();
  std::string cases = "CASE";
  for (size_t i = 0; i < out.buckets.size(); ++i) {
    cases += fmt::format(" WHEN v < {} THEN {}", b.param(Value(out.buckets[i])), i);
  }
  cases += fmt::format(" ELSE {} END", out.buckets.size());
  std::string per_user =
      fmt::format("SELECT {u} AS u, {v} AS v {from}{where} GROUP BY {u} HAVING {having}",
                  fmt::arg("u", b.user_col()), fmt::arg("v", v), fmt::arg("from", from),
                  fmt::arg("where", where(conds)), fmt::arg("having", having));
  std::string sql = d.statement(
      {{"per_user", per_user}},
      fmt::format("SELECT {} AS bucket, count(*) AS users, min(v) AS min_value, max(v) AS "
                  "max_value FROM per_user{} ORDER BY 1",
                  cases, d.group_by({d.quote("bucket")})));
  out.columns = {{"bucket", "dimension", "", "the range of the per-user value"},
                 {"from", "dimension", "", "lower bound (inclusive), null for the first bucket"},
                 {"to", "dimension", "", "upper bound (exclusive), null for the last bucket"},
                 {"users", "metric", "number", "users whose value falls in the bucket"},
                 {"share", "metric", "percent", "users / all users with a value"}};
  out.sql = std::move(sql);
  out.params = b.take_params();
  out.tables = b.tables();
  return out;
}

Result<CompiledQuery> compile_activity(const Query& q, const ModelSet& models, const Model& m,
                                       const CompileContext& ctx) {
  BASALT_RETURN_IF_ERROR(needs_time_and_user(m));
  auto r = range_of(q, ctx, true);
  if (!r) return r.status();
  CompiledQuery out;
  out.type = QueryType::kActivity;
  out.model = m.name;
  out.has_range = true;
  out.range = *r;
  Builder b(q, models, m, ctx);
  const Dialect& d = b.d();
  LocalRange wide{r->start - 29 * 86400, r->end};
  std::vector<std::string> conds = {b.range_condition(wide), b.user_col() + " IS NOT NULL"};
  auto cc = b.dimension_conditions(q.filters);
  if (!cc) return cc.status();
  conds.insert(conds.end(), cc->begin(), cc->end());
  std::string from = b.from();
  b.read_local_span(wide);
  std::string day = d.truncate(Grain::kDay, b.local(b.time_col()));
  std::string user_days =
      fmt::format("SELECT DISTINCT {} AS u, {} AS d {}{}", b.user_col(), day, from, where(conds));
  std::string sql = d.activity(user_days, b.param(Value(r->start_text())));
  out.columns = {
      {"day", "time", "", "the local day"},
      {"dau", "metric", "number", "distinct users active that day"},
      {"wau", "metric", "number", "distinct users active in the 7 days ending that day"},
      {"mau", "metric", "number", "distinct users active in the 30 days ending that day"},
      {"stickiness", "metric", "percent", "dau / mau"}};
  out.sql = std::move(sql);
  out.params = b.take_params();
  out.tables = b.tables();
  return out;
}

}  // namespace

Result<CompiledQuery> compile(const Query& q, const ModelSet& models, const CompileContext& ctx) {
  const Model* m = models.find(q.model);
  if (!m) {
    return invalid_argument(
        fmt::format("unknown model '{}' (known: {})", q.model, known_list(models.models())));
  }
  Result<CompiledQuery> c = invalid_argument("unknown query type");
  switch (q.type) {
    case QueryType::kMetrics:
      c = compile_metrics(q, models, *m, ctx);
      break;
    case QueryType::kFunnel:
      c = compile_funnel(q, models, *m, ctx);
      break;
    case QueryType::kRetention:
      c = compile_retention(q, models, *m, ctx);
      break;
    case QueryType::kDistribution:
      c = compile_distribution(q, models, *m, ctx);
      break;
    case QueryType::kActivity:
      c = compile_activity(q, models, *m, ctx);
      break;
  }
  if (!c || !c->has_range) return c;
  // The event-time span the statement reads, from its local range: comparisons read the earlier
  // period too, funnels a window past the end, retention the whole history before the end
  // (first occurrences) and its periods after it, activity 29 days before the start.
  int64_t lo = c->range.start, hi = c->range.end;
  switch (q.type) {
    case QueryType::kMetrics:
      if (q.compare != Compare::kNone) lo = c->scope_start_us;
      break;
    case QueryType::kFunnel:
      hi += q.window_seconds;
      break;
    case QueryType::kRetention:
      lo = INT64_MIN;
      hi += (q.periods + 1) * 31LL * 86400;
      break;
    case QueryType::kActivity:
      lo -= 29 * 86400;
      break;
    case QueryType::kDistribution:
      break;
  }
  // A day either side covers every UTC offset.
  c->scope_start_us = lo == INT64_MIN ? INT64_MIN : (ctx.tz->to_utc(lo) - 86400) * 1'000'000;
  c->scope_end_us = (ctx.tz->to_utc(hi) + 86400) * 1'000'000;
  return c;
}

namespace {

double number_of(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* x = std::get_if<double>(&v)) return *x;
  return 0;
}

}  // namespace

warehouse::QueryResult reshape(const CompiledQuery& c, warehouse::QueryResult in) {
  if (c.type == QueryType::kFunnel) {
    warehouse::QueryResult out;
    out.truncated = in.truncated;
    size_t off = c.breakdown ? 1 : 0;
    if (c.breakdown)
      out.columns.push_back(
          {c.columns[0].name, in.columns.empty() ? "VARCHAR" : in.columns[0].type});
    out.columns.push_back({"step", "BIGINT"});
    out.columns.push_back({"event", "VARCHAR"});
    out.columns.push_back({"users", "BIGINT"});
    out.columns.push_back({"conversion", "DOUBLE"});
    out.columns.push_back({"step_conversion", "DOUBLE"});
    out.columns.push_back({"median_seconds", "DOUBLE"});
    size_t n = c.steps.size();
    for (const auto& row : in.rows) {
      double first = number_of(row[off]);
      for (size_t k = 0; k < n; ++k) {
        std::vector<Value> r;
        if (c.breakdown) r.push_back(row[0]);
        r.push_back(static_cast<int64_t>(k + 1));
        r.push_back(c.steps[k]);
        double users = number_of(row[off + k]);
        r.push_back(static_cast<int64_t>(users));
        r.push_back(first > 0 ? Value(users / first) : Value());
        double prev = k == 0 ? users : number_of(row[off + k - 1]);
        r.push_back(prev > 0 ? Value(users / prev) : Value());
        r.push_back(k == 0 ? Value() : row[off + n + k - 1]);
        out.rows.push_back(std::move(r));
      }
    }
    return out;
  }
  if (c.type == QueryType::kDistribution) {
    warehouse::QueryResult out;
    out.columns = {{"bucket", "VARCHAR"},
                   {"from", "DOUBLE"},
                   {"to", "DOUBLE"},
                   {"users", "BIGINT"},
                   {"share", "DOUBLE"}};
    size_t nb = c.buckets.size() + 1;
    std::vector<int64_t> counts(nb, 0);
    int64_t total = 0;
    for (const auto& row : in.rows) {
      auto i = static_cast<size_t>(number_of(row[0]));
      if (i < nb) counts[i] = static_cast<int64_t>(number_of(row[1]));
      total += static_cast<int64_t>(number_of(row[1]));
    }
    auto num = [](double x) { return fmt::format("{}", x); };
    for (size_t i = 0; i < nb; ++i) {
      std::string label;
      Value from, to;
      if (i == 0) {
        label = "< " + num(c.buckets[0]);
        to = c.buckets[0];
      } else if (i == nb - 1) {
        label = ">= " + num(c.buckets.back());
        from = c.buckets.back();
      } else {
        label = "[" + num(c.buckets[i - 1]) + ", " + num(c.buckets[i]) + ")";
        from = c.buckets[i - 1];
        to = c.buckets[i];
      }
      out.rows.push_back({label, from, to, counts[i],
                          total > 0 ? Value(static_cast<double>(counts[i]) / total) : Value()});
    }
    return out;
  }
  return in;
}

}  // namespace basalt::semantic
