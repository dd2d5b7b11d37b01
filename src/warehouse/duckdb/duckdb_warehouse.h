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

 private:
  DuckDbWarehouse(WarehouseOptions options, duck::Database db, duck::Connection loader_conn);

  // The body of load() inside its transaction; REQUIRES load_mu_ held.
  Status load_in_transaction(const LoadBatch& batch, const std::string& consumer);
  Status append_events(const LoadBatch& batch);
  Status append_quarantine(const LoadBatch& batch);
  Status merge_users(const LoadBatch& batch);
  Status store_offset(const std::string& consumer, uint64_t next_lsn);
  Result<duck::Connection> connect();

  const WarehouseOptions options_;
  duck::Database db_;
  std::mutex load_mu_;
  duck::Connection loader_conn_;  // protected by load_mu_
};

}  // namespace basalt::warehouse
