#pragma once
// The ClickHouse engine of the Warehouse interface, over ClickHouse's HTTP interface
// (http::Client): tables from clickhouse_sql.h, batches inserted as gzip-compressed
// JSONEachRow, queries answered as JSONCompact.
//
// Exactly once without transactions or insert deduplication tokens (18.16 has neither):
// each load first records its WAL offset range in `basalt_offsets` as `pending`, inserts the
// rows tagged with the batch's end offset, then records the range as `done`. The consumer's
// offset is the largest `done` one. When a `pending` range past it exists (a crash or a failed
// load in between), the next load first reads which of the batch's rows are already stored
// and inserts only the others. `users` rows are read-merged-inserted (ReplacingMergeTree by
// updated_at_us); each row records, per consumer, the end of the last load that merged into
// it and the identify events that load merged (`_merged_loads`), so a retried load never
// merges an identify twice (increment and append are not idempotent), whatever its bounds.
//
// Typed columns (apply_plan_columns): p_<property> on events, a_<attribute> on users, types
// from column_type_of (clickhouse_sql.h); attributes merge by schema::merge_attribute in C++
// with the per-attribute event times kept in users.attribute_times, as the DuckDB engine does.
//
// Thread safety: load() and load_offset() from any thread, several at once for different
// consumers (a Kafka loader's partitions load in parallel); one consumer's calls are
// serialised by its own lock. The read-merge-insert of `users` is serialised within the
// process (two consumers may touch one user); across processes it relies on a user's events
// reaching one consumer (Kafka records are keyed by user id). query() from any thread at once
// (each call has its own HTTP connection).

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/client.h"
#include "warehouse/clickhouse/clickhouse_sql.h"
#include "warehouse/filled_columns.h"
#include "warehouse/warehouse.h"

namespace basalt::warehouse::clickhouse {

struct ClickHouseOptions {
  std::string url;  // http://host:8123
  std::string database = "basalt";
  std::string user = "default";
  std::string password;
  std::string cluster;
  std::chrono::milliseconds timeout{60000};
  // Tests: called before each INSERT of a load with the table's name (events, quarantine,
  // users, basalt_offsets); a non-ok status fails that insert as a refusing server would, so
  // a test can interrupt a load at any step.
  std::function<Status(std::string_view table)> before_insert{};
};

class ClickHouseWarehouse final : public Warehouse {
 public:
  // Connects and reads the server version (kUnavailable naming the URL when it cannot).
  static Result<std::unique_ptr<ClickHouseWarehouse>> open(const ClickHouseOptions& options);

  Status ensure_schema() override;
  Result<std::optional<uint64_t>> load_offset(const std::string& consumer) override;
  Status load(const LoadBatch& batch, const std::string& consumer) override;
  bool concurrent_loads() const override { return true; }
  Status for_each_message_id(
      int64_t since_us, const std::function<void(std::string_view, std::string_view)>& fn) override;
  Status for_each_loaded_message(
      int64_t since_us,
      const std::function<void(std::string_view, std::string_view, int64_t)>& fn) override;
  Result<QueryResult> query(const std::string& sql, const QueryOptions& options) override;
  Result<std::vector<std::string>> apply_plan_columns(const PlanColumns& columns) override;
  // Parameters are bound in the client through bind_parameters (clickhouse_sql.h).
  Result<QueryResult> query(const std::string& sql, const std::vector<Value>& params,
                            const QueryOptions& options) override;

  const ServerVersion& version() const { return schema_.version; }
  // Runs one statement and returns the response body (for tests and tools); `body` is sent
  // after the statement (an INSERT's data), gzip-compressed when `gzip`; `settings` are more
  // URL parameters ("&name=value…").
  Result<std::string> execute(const std::string& statement, const std::string& body = "",
                              bool gzip = false,
                              std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
                              const std::string& settings = "");

 private:
  explicit ClickHouseWarehouse(ClickHouseOptions options) : options_(std::move(options)) {}
  // What load() knows of one consumer; every member protected by `mu`, held for a whole load.
  struct ConsumerState {
    std::mutex mu;
    bool known = false;        // read from basalt_offsets since open()
    uint64_t done = 0;         // the done offset
    bool verify = false;       // check which rows are stored before the next insert
    uint64_t pending_end = 0;  // the largest pending offset
  };
  // The consumer's state, created on first use (the object lives as long as the warehouse).
  ConsumerState& consumer_state(const std::string& consumer);
  // The consumer's done offset; notes whether a pending range past it must be checked.
  // REQUIRES c.mu held.
  Result<std::optional<uint64_t>> read_offset(const std::string& consumer, ConsumerState& c);
  // One JSONEachRow line of `events`. REQUIRES columns_mu_ held (reads the typed columns).
  void append_event_row(const event::Event& e, const std::string& consumer, uint64_t batch_end,
                        std::string& out) const;
  // `settings`: more URL parameters ("&name=value…").
  Status insert_rows(const std::string& table, const std::string& json_each_row,
                     const std::string& settings = "");
  // A statement with a result set as JSONCompact; `parameters`: the server-side parameters'
  // URL settings ("" when none).
  Result<QueryResult> run_query(const std::string& sql, const QueryOptions& options,
                                const std::string& parameters);
  Status merge_users(const LoadBatch& batch, const std::string& consumer, uint64_t first,
                     uint64_t next);
  // "table.column" → type of the events and users tables (and their _local tables on a
  // cluster), from system.columns.
  Result<std::map<std::string, std::string>> table_columns();
  Status record_offset(const std::string& consumer, uint64_t first, uint64_t next,
                       const char* state);

  const ClickHouseOptions options_;
  SchemaOptions schema_;
  std::string auth_;
  // Whether statements run with the database as default (not before it exists).
  std::atomic<bool> database_exists_{false};
  std::mutex consumers_mu_;  // the map, not the states
  std::map<std::string, std::unique_ptr<ConsumerState>> consumers_;
  std::mutex users_mu_;  // one read-merge-insert of `users` at a time
  // The typed columns: shared by loads, exclusive for apply_plan_columns.
  std::shared_mutex columns_mu_;

  // The plan's typed columns; protected by columns_mu_.
  std::vector<FilledColumn> event_columns_;
  std::unordered_map<std::string, size_t> event_column_index_;  // plan name → event_columns_
  std::vector<FilledColumn> user_columns_;
  std::unordered_map<std::string, size_t> user_column_index_;
};

}  // namespace basalt::warehouse::clickhouse
