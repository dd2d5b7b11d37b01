#pragma once
// The project configuration (basalt.yaml), with environment overrides and command-line flags
// applied on top by the caller. Errors name the file and line.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace basalt {

struct SourceConfig {
  std::string name;
  std::string write_key;
};

struct IngestConfig {
  std::string bind = "127.0.0.1";
  uint16_t port = 8080;
  size_t threads = 0;                    // 0: one per core
  size_t max_event_bytes = 32 * 1024;    // one event's JSON
  size_t max_body_bytes = 500 * 1000;    // a request body after decompression
  size_t max_batch_events = 2500;
  std::vector<std::string> trusted_proxies;  // addresses whose X-Forwarded-For is believed
};

struct ApiConfig {
  std::string bind = "127.0.0.1";
  uint16_t port = 8081;
  std::string admin_token;
};

struct WalConfig {
  uint64_t segment_bytes = 64ull << 20;
  std::chrono::microseconds group_commit_delay{0};
  bool sync = true;
  bool preallocate = false;  // zero-fill the next segment in the background (see WalOptions)
  uint64_t disk_budget_bytes = 0;  // disk_budget: 0 is none (see wal::WalOptions)
};

struct LoaderConfig {
  size_t batch_events = 262144;  // room for the warehouse's bulk size (loader.h)
  std::chrono::milliseconds batch_interval{200};
  std::chrono::seconds dedup_window{24 * 3600};
  size_t dedup_max_ids = 20'000'000;  // memory bound of the dedup index (about 13 bytes an id)
  int thread_nice = 10;  // nice value of the loader thread, so acknowledging goes first (0..19)
  bool idle_io = false;  // the loader thread's disk I/O in the idle class
};

struct WarehouseConfig {
  std::string engine = "duckdb";
  std::string path;  // duckdb: file, relative to data_dir; default warehouse.duckdb
  // clickhouse: the HTTP interface (http://host:8123), database, credentials, and the cluster
  // name for ON CLUSTER DDL and Distributed tables (empty: one server).
  std::string url;
  std::string database = "basalt";
  std::string user = "default";
  std::string password;
  std::string cluster;
  // duckdb: the memory DuckDB may use (buffers, data appended and not yet checkpointed,
  // queries; beyond it, DuckDB spills to a temporary folder beside the file or fails the
  // query), and the size of DuckDB's own WAL at which it checkpoints (the appended data it
  // holds in memory until then).
  uint64_t memory_limit_bytes = 1ull << 30;
  uint64_t checkpoint_threshold_bytes = 256ull << 20;
};

// What collection adds to events (src/enrich): user agent parsing, GeoIP, Lua transforms.
struct EnrichConfig {
  bool user_agent = true;  // parse User-Agent into browser, OS and device
  std::string uap_regexes;  // uap-core regexes.yaml; empty: Debian's copy
  // A MaxMind-format .mmdb (GeoLite2/GeoIP2 City); relative paths are relative to the project
  // folder; empty: no geo fields.
  std::string geoip_database;
  std::string transforms_dir = "transforms";  // <dir>/<source>.lua, relative to the project
};

// A stream sink: forwards every event of its sources from the WAL to Redis Streams or Kafka
// (src/stream/README.md).
struct SinkConfig {
  std::string name;                  // unique; its WAL consumer is "sink:<name>"
  std::string type;                  // redis | kafka
  std::vector<std::string> sources;  // the sources it forwards; empty: all
  std::string overflow = "block";    // past wal.disk_budget: block | drop_oldest
  size_t batch_events = 1000;        // most records delivered at once
  // redis
  std::string url;                                // redis://[:password@]host:port/db
  std::string stream = "basalt:events:{source}";  // stream key, {source} is replaced
  uint64_t max_len = 1000000;                     // XADD MAXLEN ~
  // kafka
  std::string brokers;                           // bootstrap servers host:port,...
  std::string topic = "basalt-events";           // {source} is replaced
  std::string compression = "lz4";               // none | gzip | snappy | lz4 | zstd
  std::map<std::string, std::string> properties;  // librdkafka properties as is (TLS, SASL)
};

// The query API and the semantic layer (section `query`).
struct QueryConfig {
  uint64_t max_rows = 100000;                 // row cap of one answer
  std::chrono::milliseconds timeout{30000};   // longest run of one query (its own timeout_ms may be lower)
  size_t cache_entries = 1000;                // result cache size (0: no cache)
  std::chrono::seconds cache_ttl{600};        // a cached answer is dropped after this long anyway
  // The embedded warehouse keeps rollups (per-day aggregates, in the loader's transactions)
  // and the metrics layer answers from them when the answer is provably the same; false:
  // new warehouses keep none and every query reads the events.
  bool rollups = true;
};

struct ProjectConfig {
  std::filesystem::path project_dir;
  std::string name = "basalt";
  std::filesystem::path data_dir = "data";  // relative paths are relative to the working dir
  std::string log_level = "info";
  // IANA time zone of the project's days, weeks and months (semantic layer, data APIs).
  std::string timezone = "UTC";
  // A demo project: its credentials are public and printed at start.
  bool demo = false;
  std::vector<SourceConfig> sources;
  IngestConfig ingest;
  ApiConfig api;
  WalConfig wal;
  LoaderConfig loader;
  WarehouseConfig warehouse;
  std::vector<SinkConfig> sinks;
  QueryConfig query;
  EnrichConfig enrich;

  std::filesystem::path wal_dir() const { return data_dir / "wal"; }
  std::filesystem::path warehouse_path() const;
};

// Reads PROJECT_DIR/basalt.yaml. Unknown keys and wrong types are errors with file:line.
Result<ProjectConfig> load_project_config(const std::filesystem::path& project_dir);

// Applies BASALT_* environment variables (BASALT_DATA_DIR, BASALT_ADMIN_TOKEN,
// BASALT_WAREHOUSE_URL=duckdb:///path or clickhouse://user:password@host:8123/database,
// BASALT_INGEST_PORT, BASALT_API_PORT, BASALT_LOG_LEVEL, BASALT_REDIS_URL=redis://host:port/db
// with BASALT_REDIS_STREAM, BASALT_KAFKA_BROKERS with BASALT_KAFKA_TOPIC: a sink named redis
// or kafka, replacing one of that name in basalt.yaml).
// `getenv` is injected for tests.
Status apply_environment(ProjectConfig& config,
                         const std::function<const char*(const char*)>& getenv);

// "200us", "250ms", "2s", "5m", "24h", "1d" → duration.
Result<std::chrono::microseconds> parse_duration(const std::string& text);
// "64MB", "512KB", "1GB", "100" (bytes) → bytes.
Result<uint64_t> parse_size(const std::string& text);

}  // namespace basalt
