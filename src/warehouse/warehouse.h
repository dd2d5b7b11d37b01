#pragma once
// The Warehouse interface: where collected events become queryable. Implementations live beside
// each other (duckdb/ now, clickhouse/ later) and are chosen by name in make_warehouse.
//
// Tables (columns in docs/warehouse_tables.md):
//   events      one row per accepted event
//   users       one row per user id: anonymous ids, merged traits, first/last seen
//   quarantine  every refused event with its raw JSON, source and reason
//   basalt_offsets  (consumer, next_lsn): what each loader has stored, written in the same
//                   transaction as the rows, so a crash never loads a record twice or loses one
//
// Thread safety: load() is called by one loader thread (several, for different consumers,
// where concurrent_loads() says so); query() may be called from any thread concurrently with
// load().

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "event/event.h"
#include "schema/tracking_plan.h"

namespace basalt::warehouse {

// One batch from the loader: rows to store and the log position they reach.
struct LoadBatch {
  std::vector<event::Event> events;
  std::vector<event::QuarantinedEvent> quarantined;
  uint64_t next_lsn = 0;  // stored as the consumer's offset in the same transaction
};

using Value = std::variant<std::monostate, bool, int64_t, double, std::string>;

struct ColumnInfo {
  std::string name;
  std::string type;  // the engine's type name, e.g. BIGINT, VARCHAR, TIMESTAMP WITH TIME ZONE
};

struct QueryResult {
  std::vector<ColumnInfo> columns;
  std::vector<std::vector<Value>> rows;
  bool truncated = false;  // more rows existed than max_rows
};

struct QueryOptions {
  size_t max_rows = 100000;
  std::chrono::milliseconds timeout{30000};  // the query is interrupted past this
};

// A typed column the tracking plan declares: p_<name> on `events` for a property, a_<name> on
// `users` for a user attribute (types in docs/warehouse_tables.md).
struct PlanColumn {
  std::string name;  // the plan's name, without the prefix
  event::ValueType type = event::ValueType::kString;
  schema::MergeRule merge = schema::MergeRule::kSet;  // attributes only
};

struct PlanColumns {
  std::vector<PlanColumn> properties;
  std::vector<PlanColumn> attributes;
};

// The aggregate tables an engine keeps beside `events`, in the same transaction as every load
// (docs/warehouse_tables.md, "Rollups"), as the semantic compiler may read them:
//   user_day_table   (day DATE, user_id, event, events BIGINT, <sum column>…): per local day
//                    of `timestamp` in `timezone`, user and event, the number of events and
//                    the sum of each column of sum_columns (p_ columns of numeric properties).
//                    A key may have several rows (one per load, until they are compacted):
//                    readers sum them.
//   day_users_table  (day DATE, users BIGINT): the exact distinct non-null user_ids of a day,
//                    only for days the loader has not written since they were counted.
//   active_users_table (day DATE, user_id, events BIGINT): user_day_table's rows summed over
//                    their events, one row per local day and user (null user_id included),
//                    until compacted possibly several; empty when the engine keeps none.
struct RollupInfo {
  std::string timezone;
  std::string user_day_table;
  std::string day_users_table;
  std::vector<std::string> sum_columns;
  std::string active_users_table;
};

// The plan's columns: every property of the dictionary and every user attribute.
PlanColumns plan_columns(const schema::TrackingPlan& plan);

// The column type an engine-neutral ValueType maps to in SQL (DuckDB spelling): VARCHAR,
// BIGINT, DOUBLE, BOOLEAN, TIMESTAMPTZ, VARCHAR[], JSON.
std::string_view sql_type_of(event::ValueType type);

class Warehouse {
 public:
  virtual ~Warehouse() = default;

  // Creates missing tables; keeps existing data.
  virtual Status ensure_schema() = 0;

  // The offset stored for `consumer`, or nullopt when it never loaded anything.
  virtual Result<std::optional<uint64_t>> load_offset(const std::string& consumer) = 0;

  // In one transaction: appends the events and quarantined events, merges identify traits and
  // first/last-seen times into `users`, and sets `consumer`'s offset to batch.next_lsn. All or
  // nothing.
  virtual Status load(const LoadBatch& batch, const std::string& consumer) = 0;

  // Whether load() may be called from several threads at once for different consumers (a
  // Kafka loader then loads its partitions in parallel). The default: one load at a time.
  virtual bool concurrent_loads() const { return false; }

  // The batch size, in events, that load() stores most cheaply in multiples of; 0 when any
  // size costs the same (the default). A loader with more events waiting than this loads a
  // multiple of it and keeps the rest for the next batch.
  virtual size_t bulk_events() const { return 0; }

  // Calls `fn(source, message_id)` for every stored event received at or after `since_us`,
  // so a restarted loader can rebuild its dedup index.
  virtual Status for_each_message_id(
      int64_t since_us, const std::function<void(std::string_view, std::string_view)>& fn) = 0;

  // Like for_each_message_id, also giving each event's received_at (µs), so the loader can age
  // its dedup index by the hour. Engines should override it; the default reports every event
  // as received at `since_us`.
  virtual Status for_each_loaded_message(
      int64_t since_us,
      const std::function<void(std::string_view source, std::string_view message_id,
                               int64_t received_at_us)>& fn);

  // Makes the tables carry the plan's typed columns: adds the missing ones (ALTER TABLE …
  // ADD COLUMN: existing rows get NULL, nothing is rewritten); from then on load() fills them
  // from Event::typed and merges identify updates into a_ columns by their rules. Columns
  // whose property left the plan keep their data and are no longer filled; a column whose
  // stored type differs from the plan's keeps its type and is not filled (one message per
  // such column is returned). Engines without typed columns keep the default: nothing to do.
  virtual Result<std::vector<std::string>> apply_plan_columns(const PlanColumns& columns);

  // The rollups as they stand, once built and consistent with `events`; nullopt when the engine
  // keeps none (the default) or they are not built yet: then every query reads `events`.
  virtual std::optional<RollupInfo> rollups() const;

  // Rebuilds the rollups from `events` in one transaction (after rows were written to `events`
  // other than by load(), e.g. by SQL). Engines without rollups keep the default: nothing to do.
  virtual Status rebuild_rollups();

  // Runs one SQL statement. Errors carry the engine's message (kInvalidArgument for SQL the
  // engine refuses, kDeadlineExceeded for a timeout).
  virtual Result<QueryResult> query(const std::string& sql, const QueryOptions& options) = 0;

  // Runs one SQL statement with `params` bound, in order, to its placeholders (`?` or `$1`,
  // `$2`, …): values never become SQL text. kInvalidArgument when the statement has a different
  // number of placeholders. Engines without parameter support keep this default, which refuses
  // any parameter with kFailedPrecondition.
  virtual Result<QueryResult> query(const std::string& sql, const std::vector<Value>& params,
                                    const QueryOptions& options);
};

struct WarehouseOptions {
  std::string engine = "duckdb";
  std::string path;        // duckdb: the database file
  bool read_only = false;  // duckdb: open the file read-only (basalt sql with no server)
  // clickhouse: the HTTP interface, database, credentials and cluster (see WarehouseConfig)
  // (default member initializers on all, so designated initializers may leave them out)
  std::string url{};
  std::string database = "basalt";
  std::string user = "default";
  std::string password{};
  std::string cluster{};
  // duckdb: the IANA zone of the rollups' days. Empty: keep the zone the database's rollups
  // were built in (none: keep no rollups); another zone than the stored one rebuilds them.
  std::string rollup_timezone{};
  // duckdb: a day's rollup rows are compacted once the rows added since its last compaction
  // reach this many and a quarter of what that compaction left.
  uint64_t rollup_compact_rows = 4096;
  // duckdb: DuckDB's memory_limit and checkpoint_threshold, in bytes (see WarehouseConfig);
  // 0: DuckDB's own default.
  uint64_t memory_limit_bytes = 0;
  uint64_t checkpoint_threshold_bytes = 256ull << 20;
};

Result<std::unique_ptr<Warehouse>> make_warehouse(const WarehouseOptions& options);

// The options of a ClickHouse warehouse at
// clickhouse://[user[:password]@]host[:port][/database] or http://[user[:password]@]host[:port][/database]
// (port 8123, user default, database basalt unless given); kInvalidArgument otherwise.
Result<WarehouseOptions> clickhouse_options_from_url(const std::string& url);

}  // namespace basalt::warehouse
