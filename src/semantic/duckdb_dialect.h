#pragma once
// DuckDB's SQL (1.4, with the ICU extension for time zones).

#include "semantic/dialect.h"

namespace basalt::semantic {

class DuckDbDialect final : public Dialect {
 public:
  std::string name() const override { return "duckdb"; }
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
  std::string tagged_chain(const std::string& list_sql, const std::string& first_sql,
                           const std::string& deadline_sql, size_t steps) const override;
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
};

}  // namespace basalt::semantic
