#pragma once
// How the compiler spells SQL for one warehouse engine. The compiler builds every query from
// these pieces, so a second engine is a new implementation of this interface in its own file
// (duckdb_dialect.cc now), never a change to the compiler.
//
// Arguments named `*_sql` are SQL fragments the compiler built (validated identifiers, model
// snippets or placeholders); a Dialect never sees request text.
//
// Thread safety: implementations are stateless; share them freely.

#include <memory>
#include <string>
#include <vector>

#include "semantic/model.h"

namespace basalt::warehouse {
class Warehouse;
}

namespace basalt::semantic {

// How many tags a tagged instant (Dialect::tagged_instant) can carry.
inline constexpr int kInstantTags = 32;

enum class Grain { kMinute, kHour, kDay, kWeek, kMonth, kQuarter, kYear };
const char* grain_name(Grain g);

// A calendar shift of local (wall-clock) times: months, then days, then seconds.
struct Shift {
  int months = 0;
  int days = 0;
  int64_t seconds = 0;
};

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string name() const = 0;

  // A quoted identifier. REQUIRES: is_identifier(name).
  virtual std::string quote(const std::string& name) const = 0;
  // The placeholder of the `index`-th bound parameter (0-based; parameters bind in order).
  virtual std::string placeholder(size_t index) const = 0;

  // `agg` of `expr_sql` (empty for count(*)) over the rows where `filter_sql` holds (empty:
  // all rows); `p` for percentiles.
  virtual std::string aggregate(Aggregation agg, const std::string& expr_sql,
                                const std::string& filter_sql, double p) const = 0;

  // The wall-clock time in zone `tz_sql` (a text placeholder) of instant `instant_sql`.
  virtual std::string local_time(const std::string& instant_sql,
                                 const std::string& tz_sql) const = 0;
  // The wall-clock time in UTC of instant `instant_sql`: local_time for the zone UTC, spelled
  // without a time-zone lookup per row.
  virtual std::string utc_time(const std::string& instant_sql) const = 0;
  // The instant at which the wall clock of zone `tz_sql` reads `local_sql` (a text placeholder
  // "YYYY-MM-DD HH:MM:SS").
  virtual std::string instant_of_local(const std::string& local_sql,
                                       const std::string& tz_sql) const = 0;
  // Start of the grain period holding the local time `local_sql` (weeks start on Monday).
  virtual std::string truncate(Grain grain, const std::string& local_sql) const = 0;
  // A period start as text: "YYYY-MM-DD" for day and longer grains, "YYYY-MM-DDTHH:MM" below.
  virtual std::string format_period(Grain grain, const std::string& local_sql) const = 0;
  // `local_sql` moved forward by `shift`.
  virtual std::string shift_local(const std::string& local_sql, const Shift& shift) const = 0;
  // Whole grain periods from period start `from_sql` to period start `to_sql`.
  virtual std::string periods_between(Grain grain, const std::string& from_sql,
                                      const std::string& to_sql) const = 0;
  // Seconds (fractional) from instant `from_sql` to instant `to_sql`.
  virtual std::string seconds_between(const std::string& from_sql,
                                      const std::string& to_sql) const = 0;
  // Instant `instant_sql` plus `seconds`.
  virtual std::string add_seconds(const std::string& instant_sql, int64_t seconds) const = 0;
  // `a / b` in floating point, NULL when b is 0 or NULL.
  virtual std::string divide(const std::string& a_sql, const std::string& b_sql) const = 0;
  // The value of `value_sql` on the row where `order_sql` is smallest (within a group).
  virtual std::string value_at_min(const std::string& value_sql,
                                   const std::string& order_sql) const = 0;
  // An aggregate: the sum of the group's partial counts `partial_sql` as a 64-bit integer, 0
  // when the group has none (a count computed in two steps keeps the type and the 0 of one).
  virtual std::string sum_of_counts(const std::string& partial_sql) const = 0;
  // An aggregate: the instants (or tagged instants) `instant_sql` of the group's rows where
  // `filter_sql` holds, as one list value in any order; NULL or an empty list when no row
  // qualifies. With first_in_list_after, it lets a funnel find each user's step times in one pass
  // over the step rows, grouped by user, instead of a join per step.
  virtual std::string instant_list(const std::string& instant_sql,
                                   const std::string& filter_sql) const = 0;
  // The smallest instant x of list `list_sql` (an instant_list) with `after_sql` < x <=
  // `until_sql`; NULL when there is none, when the list is NULL or when either bound is NULL.
  virtual std::string first_in_list_after(const std::string& list_sql, const std::string& after_sql,
                                          const std::string& until_sql) const = 0;
  // An instant and a tag 0..kInstantTags-1 in one 64-bit integer: the instant's microseconds
  // since the epoch times kInstantTags, plus the tag. Tagged instants order as their instants
  // do; instant_list gathers them like instants (a funnel keeps every step's times in one list).
  virtual std::string tagged_instant(const std::string& instant_sql,
                                     const std::string& tag_sql) const = 0;
  // The smallest element x of list `list_sql` (of tagged instants) whose tag is `tag`, with
  // `lo_sql` < x <= `hi_sql` (integers); NULL when there is none or either bound is NULL.
  virtual std::string first_tagged_in_list(const std::string& list_sql, int tag,
                                           const std::string& lo_sql,
                                           const std::string& hi_sql) const = 0;
  // A funnel's greedy chain in one call, where the engine has one: over list `list_sql` of
  // tagged instants (step k's tag kInstantTags - k), the list [t1, t2, …, tm] of tagged instants
  // with t1 = `first_sql` and each later tk the smallest step-k element with t(k-1) < tk <=
  // `deadline_sql`, ending at the first step not reached or at step `steps`; NULL when
  // `first_sql` is NULL. Read with chain_step. Default: empty, the engine has none (the compiler
  // then finds each step with first_tagged_in_list, one pass over the list per step).
  virtual std::string tagged_chain(const std::string& list_sql, const std::string& first_sql,
                                   const std::string& deadline_sql, size_t steps) const;
  // Step `k` (from 1) of chain `chain_sql` (a tagged_chain); NULL when the chain is shorter.
  virtual std::string chain_step(const std::string& chain_sql, size_t k) const;
  virtual std::string contains(const std::string& text_sql, const std::string& part_sql) const = 0;
  virtual std::string starts_with(const std::string& text_sql,
                                  const std::string& prefix_sql) const = 0;
  // `lhs_sql` IN (or, `negated`, NOT IN) the list `values_sql`, with SQL's NULL rule: a NULL
  // lhs is in neither.
  virtual std::string in_list(const std::string& lhs_sql,
                              const std::vector<std::string>& values_sql, bool negated) const = 0;
  // Whether `lhs_sql` equals one of `values_sql` (non-NULL values of its type): in_list, spelled
  // for the fastest row filter where the engine has a faster one. False or NULL for a NULL lhs.
  virtual std::string one_of(const std::string& lhs_sql,
                             const std::vector<std::string>& values_sql) const = 0;
  // Null-safe equality, for joining result rows whose dimension may be NULL (usable as a join
  // condition: each side reads one relation).
  virtual std::string same(const std::string& a_sql, const std::string& b_sql) const = 0;

  // ---- statement structure: engines differ in the SQL they accept around the pieces above ----

  // A named subquery of a statement.
  struct Cte {
    std::string name;  // a plain identifier the compiler chose (cur_agg, s1, ...)
    std::string sql;   // a SELECT; may read the subqueries before it by name
  };
  // The whole statement: `body_sql` reading `ctes` by name (in FROM and JOIN only). Engines
  // without WITH subqueries inline them; statement-wide settings go here too.
  virtual std::string statement(const std::vector<Cte>& ctes,
                                const std::string& body_sql) const = 0;
  // " GROUP BY …" on the select list's first aliases.size() columns, whose quoted aliases are
  // `aliases`.
  virtual std::string group_by(const std::vector<std::string>& aliases) const = 0;
  // The relation a model's table is read as in FROM and JOIN (its rows, one per key for
  // tables the engine keeps versioned). `columns`: the ones the statement reads, when known
  // (a joined model's); empty: all.
  virtual std::string relation(const std::string& table,
                               const std::vector<std::string>& columns = {}) const = 0;
  // " LEFT JOIN `relation_sql` AS `alias_sql` ON …" with the conditions `on_sql` (all must
  // hold; none: every row pairs with every row).
  virtual std::string left_join(const std::string& relation_sql, const std::string& alias_sql,
                                const std::vector<std::string>& on_sql) const = 0;
  // "JOIN `relation_sql` AS `alias_sql` ON `on_sql`" (an equality) keeping only the joined rows
  // where `filter_sql` holds; `filter_sql` names the relation's columns unqualified.
  virtual std::string inner_join_where(const std::string& relation_sql,
                                       const std::string& alias_sql, const std::string& on_sql,
                                       const std::string& filter_sql) const = 0;
  // A column of a model's table (`model_sql` is the quoted model alias): the value as the
  // metrics layer reads it (an engine that stores an absent value as '' reads it as NULL).
  virtual std::string column(const std::string& model_sql, const std::string& table,
                             const std::string& column) const = 0;
  // A model's time column as an instant (what local_time, add_seconds, seconds_between take).
  virtual std::string time_column(const std::string& model_sql,
                                  const std::string& column) const = 0;
  // The model's time column in [instant_of_local(lo), instant_of_local(hi)) of zone `tz_sql`
  // (`lo_sql`, `hi_sql` text placeholders of whole seconds), spelled so the engine can prune.
  virtual std::string time_range(const std::string& model_sql, const std::string& column,
                                 const std::string& lo_sql, const std::string& hi_sql,
                                 const std::string& tz_sql) const = 0;
  // ---- rollups (warehouse::RollupInfo): tables keyed by local day ----

  // The local time at which the local day `date_sql` (a DATE) starts. Default: a standard cast.
  virtual std::string day_start(const std::string& date_sql) const;
  // The local day (a DATE) holding the local time `local_sql` (a text placeholder
  // "YYYY-MM-DD HH:MM:SS"). Default: standard casts.
  virtual std::string day_of(const std::string& local_sql) const;

  // The statement of the activity analysis over `user_days_sql` (a SELECT of distinct `u`, `d`:
  // a user and a local day start at which it was active, from 29 days before the first day):
  // per active local day from `first_day_sql` (a text placeholder "YYYY-MM-DD HH:MM:SS"), in
  // order: day (format_period of the day), dau, wau (7 days ending that day), mau (30 days),
  // stickiness (dau / mau).
  virtual std::string activity(const std::string& user_days_sql,
                               const std::string& first_day_sql) const = 0;
};

// The dialect of a warehouse engine by name ("duckdb", "clickhouse"); nullptr when unknown.
std::unique_ptr<Dialect> make_dialect(const std::string& engine);
// As make_dialect, for queries on `warehouse` (borrowed, must outlive the dialect) over
// `models`: the ClickHouse dialect reads the columns of the models' tables from it.
std::unique_ptr<Dialect> make_dialect(const std::string& engine, warehouse::Warehouse& warehouse,
                                      const ModelSet& models);

}  // namespace basalt::semantic
