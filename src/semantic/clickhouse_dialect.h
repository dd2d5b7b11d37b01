#pragma once
// ClickHouse's SQL, as both Debian's 18.16 and current servers accept it.
//
// What 18.16 lacks and how this dialect does without it:
// - WITH subqueries: statement() inlines each one where FROM or JOIN names it.
// - GROUP BY positions: group_by() names the select list's aliases.
// - aggregate FILTER: the -If combinators; sum/avg/min/max over no rows answer NULL (as in
//   DuckDB), not ClickHouse's 0 or nan; median and percentiles are exact and interpolated
//   like DuckDB's quantile_cont (the sorted array of the values), not ClickHouse's sampled
//   `quantile`.
// - non-equality JOIN conditions: inner_join_where() filters the joined subquery; activity()
//   expands each active user-day over the 30 days it counts for (arrayJoin) instead of a range
//   join; ON TRUE is a CROSS JOIN; the funnel's step-time lists are groupArrayIf arrays
//   searched with arrayFilter.
// - NOT IN holding for NULL: in_list() excludes NULL as SQL does.
// - server-side parameters: placeholders are `$1`, `$2`, … and the warehouse binds them in the
//   client (warehouse/clickhouse/clickhouse_sql.h, bind_parameters).
//
// The tables are the ClickHouse warehouse's (docs/warehouse_tables.md): a time column `X` is
// `DateTime` (whole seconds, UTC) beside `X_us` (Int64 microseconds). Instants here are the
// microseconds (`X_us`), so funnel windows and times between steps are exact; range conditions
// read `X` too (exact, as range bounds are whole seconds) so the server prunes partitions and
// uses the sort key. `users` is a ReplacingMergeTree, read with FINAL; `events.event` is ''
// when absent (a sort key cannot be Nullable) and read back as NULL. Local times are
// `DateTime('UTC')` values whose UTC reading is the wall clock of the project's zone (built
// from toDate/toHour/toMinute/toSecond in the zone, no text per row); LEFT JOINs run with
// join_use_nulls = 1 so a missing row reads NULL, as in DuckDB.
//
// Tables the warehouse did not create (a Domino `sql` task's) have no `X_us` companions. Given
// a way to read a table's columns (make_clickhouse_dialect), relation() reads such a table as
// a subquery that adds them: for a DateTime (or DateTime64) time column, `X_us` computed from
// it; for a Date or an Int64 one (an Int64 holds µs since the epoch), `X_us` from it and `X`
// as the DateTime the rest of the SQL expects. Which columns are time columns comes from the
// models (their `time`). The columns of each table are read once, when a query first needs
// them (a table missing then is read again next time).
//
// Thread safety: const and safe to share; the column cache has its own lock.

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "common/status.h"
#include "semantic/dialect.h"

namespace basalt::warehouse {
class Warehouse;
}

namespace basalt::semantic {

class ClickHouseDialect final : public Dialect {
 public:
  // (name, type) of each column of a table, as system.columns spells them.
  using TableColumns = std::vector<std::pair<std::string, std::string>>;
  using ColumnsOf = std::function<Result<TableColumns>(const std::string& table)>;

  // Without a way to read columns: every table is assumed to have its companions.
  ClickHouseDialect() = default;
  // `time_columns`: table → the time columns models read on it.
  ClickHouseDialect(ColumnsOf columns_of,
                    std::map<std::string, std::set<std::string>> time_columns);

  std::string name() const override { return "clickhouse"; }
  std::string quote(const std::string& name) const override;
  std::string placeholder(size_t index) const override;
  std::string aggregate(Aggregation agg, const std::string& expr_sql, const std::string& filter_sql,
                        double p) const override;
  std::string local_time(const std::string& instant_sql, const std::string& tz_sql) const override;
  std::string utc_time(const std::string& instant_sql) const override;
  std::string instant_of_local(const std::string& local_sql,
                               const std::string& tz_sql) const override;
  std::string truncate(Grain grain, const std::string& local_sql) const override;
  std::string format_period(Grain grain, const std::string& local_sql) const override;
  std::string shift_local(const std::string& local_sql, const Shift& shift) const override;
  std::string periods_between(Grain grain, const std::string& from_sql,
                              const std::string& to_sql) const override;
  std::string seconds_between(const std::string& from_sql,
                              const std::string& to_sql) const override;
  std::string add_seconds(const std::string& instant_sql, int64_t seconds) const override;
  std::string divide(const std::string& a_sql, const std::string& b_sql) const override;
  std::string value_at_min(const std::string& value_sql,
                           const std::string& order_sql) const override;
  std::string sum_of_counts(const std::string& partial_sql) const override;
  std::string instant_list(const std::string& instant_sql,
                           const std::string& filter_sql) const override;
  std::string first_in_list_after(const std::string& list_sql, const std::string& after_sql,
                                  const std::string& until_sql) const override;
  std::string tagged_instant(const std::string& instant_sql,
                             const std::string& tag_sql) const override;
  std::string first_tagged_in_list(const std::string& list_sql, int tag, const std::string& lo_sql,
                                   const std::string& hi_sql) const override;
  std::string contains(const std::string& text_sql, const std::string& part_sql) const override;
  std::string starts_with(const std::string& text_sql,
                          const std::string& prefix_sql) const override;
  std::string in_list(const std::string& lhs_sql, const std::vector<std::string>& values_sql,
                      bool negated) const override;
  std::string one_of(const std::string& lhs_sql,
                     const std::vector<std::string>& values_sql) const override;
  std::string same(const std::string& a_sql, const std::string& b_sql) const override;
  std::string statement(const std::vector<Cte>& ctes, const std::string& body_sql) const override;
  std::string group_by(const std::vector<std::string>& aliases) const override;
  std::string relation(const std::string& table,
                       const std::vector<std::string>& columns = {}) const override;
  std::string left_join(const std::string& relation_sql, const std::string& alias_sql,
                        const std::vector<std::string>& on_sql) const override;
  std::string inner_join_where(const std::string& relation_sql, const std::string& alias_sql,
                               const std::string& on_sql,
                               const std::string& filter_sql) const override;
  std::string column(const std::string& model_sql, const std::string& table,
                     const std::string& column) const override;
  std::string time_column(const std::string& model_sql, const std::string& column) const override;
  std::string time_range(const std::string& model_sql, const std::string& column,
                         const std::string& lo_sql, const std::string& hi_sql,
                         const std::string& tz_sql) const override;
  std::string activity(const std::string& user_days_sql,
                       const std::string& first_day_sql) const override;

 private:
  // The relation of a table the warehouse did not create; quote(table) when its columns
  // cannot be read or nothing needs adding.
  std::string table_relation(const std::string& table) const;

  ColumnsOf columns_of_;
  std::map<std::string, std::set<std::string>> time_columns_;
  mutable std::mutex mu_;
  mutable std::map<std::string, std::string> relations_;  // table → relation; guarded by mu_
};

// The dialect reading the columns of the models' tables through `warehouse` (system.columns
// of its database). Borrows `warehouse`, which must outlive the dialect.
std::unique_ptr<Dialect> make_clickhouse_dialect(warehouse::Warehouse& warehouse,
                                                 const ModelSet& models);

// `sql` with every table reference to one of `ctes` (a name right after FROM or JOIN, outside
// quotes) replaced by the subquery, aliased by its name unless an alias follows. Exposed for
// its unit test.
std::string inline_ctes(const std::string& sql, const std::vector<Dialect::Cte>& ctes);

}  // namespace basalt::semantic
