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

#include "semantic/model.h"

namespace basalt::semantic {

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
  // An aggregate: the instants `instant_sql` of the group's rows where `filter_sql` holds, as
  // one list value in any order; NULL or an empty list when no row qualifies. With
  // first_in_list_after, it lets a funnel find each user's step times in one pass over the
  // step rows, grouped by user, instead of a join per step.
  virtual std::string instant_list(const std::string& instant_sql,
                                   const std::string& filter_sql) const = 0;
  // The smallest instant x of list `list_sql` (an instant_list) with `after_sql` < x <=
  // `until_sql`; NULL when there is none, when the list is NULL or when either bound is NULL.
  virtual std::string first_in_list_after(const std::string& list_sql, const std::string& after_sql,
                                          const std::string& until_sql) const = 0;
  virtual std::string contains(const std::string& text_sql, const std::string& part_sql) const = 0;
  virtual std::string starts_with(const std::string& text_sql,
                                  const std::string& prefix_sql) const = 0;
  // Null-safe equality, for joining result rows whose dimension may be NULL.
  virtual std::string same(const std::string& a_sql, const std::string& b_sql) const = 0;
};

// The dialect of a warehouse engine by name ("duckdb"); nullptr when unknown.
std::unique_ptr<Dialect> make_dialect(const std::string& engine);

}  // namespace basalt::semantic
