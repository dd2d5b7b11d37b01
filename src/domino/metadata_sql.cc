#include "domino/metadata_sql.h"

#include <algorithm>

namespace basalt::domino::metadata_sql {

RunsWhere list_runs_where(const RunFilter& f, std::string (*placeholder)(size_t n)) {
  RunsWhere w{"WHERE 1 = 1", {}};
  auto add = [&](const char* condition, Arg value) {
    w.args.push_back(std::move(value));
    w.sql += condition;
    w.sql += placeholder(w.args.size());
  };
  if (!f.dag_id.empty()) add(" AND dag_id = ", f.dag_id);
  if (f.state) add(" AND state = ", std::string(run_state_name(*f.state)));
  if (f.from) add(" AND logical_date >= ", *f.from);
  if (f.to) add(" AND logical_date <= ", *f.to);
  add(" ORDER BY logical_date DESC, id DESC LIMIT ",
      static_cast<int64_t>(std::min<size_t>(f.limit, INT64_MAX)));
  return w;
}

}  // namespace basalt::domino::metadata_sql
