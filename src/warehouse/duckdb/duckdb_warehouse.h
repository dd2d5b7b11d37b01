#pragma once
// The embedded warehouse: one DuckDB database file in the basalt process.
//
// Connections: the loader's calls (ensure_schema, load, load_offset) share one connection,
// serialised by load_mu_; every query() and for_each_* call opens its own connection, so reads
// never wait for a load beyond what DuckDB's own concurrency control imposes.
//
// Rollups (RollupInfo in warehouse.h): when a zone is configured or stored, events_user_day
// gets each load's per-(local day, user, event) counts and sums in the load's transaction, and
// events_active_users their per-(local day, user) counts, so both are exactly-once like the
// events; a day's rows are compacted (and its exact distinct users
// counted into events_day_users) in a transaction of their own after a commit. The rollups are
// published to the compiler (rollups()) only while they match `events`: after a build from
// `events` (a new database, an old one without them, a changed zone, a typed column added to
// `events` that already held values) and until the next such change.
//
// Thread safety: every member may be called from any thread.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "warehouse/duckdb/duckdb_handles.h"
#include "warehouse/filled_columns.h"
#include "warehouse/warehouse.h"

namespace basalt::warehouse {

class DuckDbWarehouse final : public Warehouse {
 public:
  // Opens (creating unless read_only) the database at options.path and, unless read_only,
  // ensures the schema. An empty path opens an in-memory database.
  static Result<std::unique_ptr<DuckDbWarehouse>> open(const WarehouseOptions& options);

  ~DuckDbWarehouse() override;

  Status ensure_schema() override;
  Result<std::optional<uint64_t>> load_offset(const std::string& consumer) override;
  // kFailedPrecondition when opened read-only.
  Status load(const LoadBatch& batch, const std::string& consumer) override;
  // Two DuckDB row groups (2 × 122,880 rows) for a database file. A transaction that appends
  // more than one row group to a table writes every row group to the file, compressed, and
  // logs only where they are; a smaller one (even exactly one row group) logs each row in
  // DuckDB's WAL, and the checkpoint that log triggers compresses and writes the rows again.
  // Whole row groups also leave no small one behind for a later checkpoint to merge into its
  // neighbours (rewriting them).
  size_t bulk_events() const override { return options_.path.empty() ? 0 : 2 * kRowGroupRows; }
  static constexpr size_t kRowGroupRows = 122880;
  Status for_each_message_id(
      int64_t since_us, const std::function<void(std::string_view, std::string_view)>& fn) override;
  Status for_each_loaded_message(
      int64_t since_us,
      const std::function<void(std::string_view, std::string_view, int64_t)>& fn) override;
  Result<QueryResult> query(const std::string& sql, const QueryOptions& options) override;
  // Binds each Value with DuckDB's prepared-statement API (strings as VARCHAR, monostate as
  // NULL).
  Result<QueryResult> query(const std::string& sql, const std::vector<Value>& params,
                            const QueryOptions& options) override;
  Result<std::vector<std::string>> apply_plan_columns(const PlanColumns& columns) override;
  std::optional<RollupInfo> rollups() const override;
  Status rebuild_rollups() override;

 private:
  // A column of events_user_day holding the sum of a p_ column of `events`.
  struct RollupSum {
    std::string column;
    bool integer = false;  // a BIGINT property summed as HUGEINT; else DOUBLE
  };
  // What a committed load added to events_user_day: rows per local day ("YYYY-MM-DD").
  using RollupRows = std::vector<std::pair<std::string, uint64_t>>;
  struct RollupDay {
    uint64_t pending = 0;    // rows appended since the day was last compacted
    uint64_t compacted = 0;  // rows the last compaction left
  };

  DuckDbWarehouse(WarehouseOptions options, duck::Database db, duck::Connection loader_conn);

  // The body of load() inside its transaction; REQUIRES load_mu_ held.
  Status load_in_transaction(const LoadBatch& batch, const std::string& consumer,
                             RollupRows& rollup_rows);
  // Appends the batch's events; with rollups maintained, also their per-day deltas
  // (added to `rollup_rows`).
  Status append_events(const LoadBatch& batch, RollupRows& rollup_rows);
  Status append_quarantine(const LoadBatch& batch);
  Status merge_users(const LoadBatch& batch);
  Status store_offset(const std::string& consumer, uint64_t next_lsn);
  // The identify updates of the batch's users merged into their a_ columns by the rules;
  // fills the temp table basalt_users_attr_stage. REQUIRES load_mu_ held, in the transaction.
  Status stage_attributes(
      const std::vector<std::pair<std::string_view, std::vector<const event::Event*>>>& updates);
  // Reads which columns of `users` the merge carries over. REQUIRES load_mu_ held.
  Status refresh_users_columns();
  Result<duck::Connection> connect();
  // Rollups; each REQUIRES load_mu_ held.
  // Reads the stored zone and columns, creates missing tables, decides whether to build.
  Status setup_rollups();
  // Rebuilds both tables from `events` in one transaction; publishes them.
  Status build_rollups();
  // Rewrites the days with many uncompacted rows (own transactions; failures are logged).
  void compact_rollups();
  Status compact_rollup_day(const std::string& day);
  // The SELECT list of sums over `rows_sql`'s rollup columns ("sum(p_x) AS p_x, …").
  std::string rollup_sum_list() const;
  void publish_rollups();

  const WarehouseOptions options_;
  duck::Database db_;
  std::mutex load_mu_;
  duck::Connection loader_conn_;  // protected by load_mu_
  // The plan's typed columns, protected by load_mu_.
  std::vector<FilledColumn> event_columns_;
  std::unordered_map<std::string, size_t> event_column_index_;  // plan name → event_columns_
  std::vector<FilledColumn> user_columns_;
  std::unordered_map<std::string, size_t> user_column_index_;
  // Columns of `users` besides the six the merge computes (a_*, attribute_times, any other),
  // carried over by the merge; protected by load_mu_.
  std::vector<std::string> users_carried_;
  // Rollups, protected by load_mu_: the zone of their days (empty: none kept), whether they
  // must be rebuilt from `events` before use, their sum columns, per-day compaction state.
  std::string rollup_zone_;
  bool rollup_stale_ = false;
  std::vector<RollupSum> rollup_sums_;
  std::map<std::string, RollupDay> rollup_days_;
  mutable std::mutex rollup_mu_;
  std::optional<RollupInfo> rollup_info_;  // protected by rollup_mu_; what rollups() returns
};

}  // namespace basalt::warehouse
