#pragma once
// The embedded warehouse: one DuckDB database file in the basalt process.
//
// Connections: the loader's calls (ensure_schema, load, load_offset) share one connection,
// serialised by load_mu_; every query() and for_each_* call opens its own connection, so reads
// never wait for a load beyond what DuckDB's own concurrency control imposes.
//
// Thread safety: every member may be called from any thread.

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "warehouse/duckdb/duckdb_handles.h"
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
  Status for_each_message_id(
      int64_t since_us,
      const std::function<void(std::string_view, std::string_view)>& fn) override;
  Status for_each_loaded_message(
      int64_t since_us,
      const std::function<void(std::string_view, std::string_view, int64_t)>& fn) override;
  Result<QueryResult> query(const std::string& sql, const QueryOptions& options) override;
  // Binds each Value with DuckDB's prepared-statement API (strings as VARCHAR, monostate as
  // NULL).
  Result<QueryResult> query(const std::string& sql, const std::vector<Value>& params,
                            const QueryOptions& options) override;
  Result<std::vector<std::string>> apply_plan_columns(const PlanColumns& columns) override;

 private:
  // A typed column load() fills.
  struct FilledColumn {
    std::string name;    // the plan's name
    std::string column;  // p_<name> / a_<name>
    event::ValueType type = event::ValueType::kString;
    schema::MergeRule merge = schema::MergeRule::kSet;
  };

  DuckDbWarehouse(WarehouseOptions options, duck::Database db, duck::Connection loader_conn);

  // The body of load() inside its transaction; REQUIRES load_mu_ held.
  Status load_in_transaction(const LoadBatch& batch, const std::string& consumer);
  Status append_events(const LoadBatch& batch);
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
};

}  // namespace basalt::warehouse
