#pragma once
// What the two SQL metadata stores (SQLite and PostgreSQL) share: the same tables, so the same
// column lists and the same run queries, but for how each spells a statement's parameters.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"
#include "domino/metadata_store.h"

namespace basalt::domino::metadata_sql {

inline constexpr const char* kRunColumns =
    "id, dag_id, run_id, run_type, state, logical_date, interval_start, interval_end, dag_hash, "
    "params, created_us, started_us, ended_us, owner, lease_until_us";
inline constexpr const char* kTiColumns =
    "run, task_id, state, try_number, next_try_us, pid, pid_token, host, started_us, ended_us, "
    "message";

using Arg = std::variant<int64_t, std::string>;

// The tail of a `SELECT … FROM dag_runs` and its arguments.
struct RunsWhere {
  std::string sql;
  std::vector<Arg> args;
};

// `placeholder(n)` spells the statement's n-th parameter (from 1): "$n" or "?".
RunsWhere list_runs_where(const RunFilter& f, std::string (*placeholder)(size_t n));

// The one row a look-up by key finds, if any.
inline Result<std::optional<DagRun>> first_run(Result<std::vector<DagRun>> runs) {
  if (!runs) return runs.status();
  if (runs->empty()) return std::optional<DagRun>();
  return std::optional<DagRun>(std::move(runs->front()));
}

}  // namespace basalt::domino::metadata_sql
