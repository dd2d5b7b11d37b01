#include "common/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace basalt {

namespace {

// Reads one YAML mapping with errors that point at the file and line.
class Section {
 public:
  Section(const YAML::Node& node, std::string file, std::string path)
      : node_(node), file_(std::move(file)), path_(std::move(path)) {}

  Status check_keys(const std::set<std::string>& allowed) const {
    if (!node_.IsMap()) return error(node_, path_ + " must be a mapping");
    for (const auto& kv : node_) {
      if (!kv.first.IsScalar()) return error(kv.first, "a key in " + (path_.empty() ? std::string("the top level") : path_) +
                                   " must be a plain name");
      const std::string& key = kv.first.Scalar();
      if (!allowed.contains(key)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        return error(kv.first, fmt::format("unknown key '{}' in {} (known: {})", key,
                                           path_.empty() ? "the top level" : path_, list));
      }
    }
    return Status::ok();
  }

  bool has(const char* key) const { return node_[key].IsDefined() && !node_[key].IsNull(); }
  YAML::Node child(const char* key) const { return node_[key]; }
  Section section(const char* key) const { return {node_[key], file_, qualify(key)}; }

  Status get(const char* key, std::string& out) const {
    if (!has(key)) return Status::ok();
    const YAML::Node n = node_[key];
    if (!n.IsScalar()) return error(n, qualify(key) + " must be a string");
    out = n.as<std::string>();
    return Status::ok();
  }
  template <typename Int>
  Status get_int(const char* key, Int& out, uint64_t max) const {
    if (!has(key)) return Status::ok();
    const YAML::Node n = node_[key];
    std::string text = n.IsScalar() ? n.Scalar() : "";
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (!n.IsScalar() || ec != std::errc() || end != text.data() + text.size() || v > max) {
      return error(n, fmt::format("{} must be a whole number from 0 to {}", qualify(key), max));
    }
    out = static_cast<Int>(v);
    return Status::ok();
  }
  Status get_bool(const char* key, bool& out) const {
    if (!has(key)) return Status::ok();
    const YAML::Node n = node_[key];
    std::string t = n.IsScalar() ? n.Scalar() : "";
    if (t == "true" || t == "yes" || t == "on") {
      out = true;
    } else if (t == "false" || t == "no" || t == "off") {
      out = false;
    } else {
      return error(n, qualify(key) + " must be true or false");
    }
    return Status::ok();
  }
  template <typename Duration>
  Status get_duration(const char* key, Duration& out) const {
    if (!has(key)) return Status::ok();
    const YAML::Node n = node_[key];
    auto d = parse_duration(n.IsScalar() ? n.Scalar() : "");
    if (!d) return error(n, qualify(key) + ": " + d.status().message());
    out = std::chrono::duration_cast<Duration>(*d);
    return Status::ok();
  }
  // A size in bytes; values under `min_mb` megabytes are refused.
  Status get_size(const char* key, uint64_t& out, uint64_t min_mb = 0) const {
    if (!has(key)) return Status::ok();
    const YAML::Node n = node_[key];
    auto s = parse_size(n.IsScalar() ? n.Scalar() : "");
    if (!s) return error(n, qualify(key) + ": " + s.status().message());
    if (*s < (min_mb << 20)) {
      return error(n, qualify(key) + " must be at least " + std::to_string(min_mb) + "MB");
    }
    out = *s;
    return Status::ok();
  }
  Status get_list(const char* key, std::vector<std::string>& out) const {
    if (!has(key)) return Status::ok();
    const YAML::Node n = node_[key];
    if (!n.IsSequence()) return error(n, qualify(key) + " must be a list");
    out.clear();
    for (const auto& item : n) {
      if (!item.IsScalar()) return error(item, qualify(key) + " must be a list of strings");
      out.push_back(item.as<std::string>());
    }
    return Status::ok();
  }

  Status error(const YAML::Node& n, const std::string& message) const {
    return invalid_argument(fmt::format("{}:{}: {}", file_, n.Mark().line + 1, message));
  }
  const YAML::Node& node() const { return node_; }
  const std::string& file() const { return file_; }

 private:
  std::string qualify(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  YAML::Node node_;
  std::string file_;
  std::string path_;
};

Status check_sink(const SinkConfig& k) {
  if (k.type != "redis" && k.type != "kafka") {
    return invalid_argument("sink '" + k.name + "': type '" + k.type +
                            "' is not supported (supported: redis, kafka)");
  }
  if (k.overflow != "block" && k.overflow != "drop_oldest") {
    return invalid_argument("sink '" + k.name + "': overflow '" + k.overflow +
                            "' is not supported (block or drop_oldest)");
  }
  if (k.type == "redis" && !k.url.starts_with("redis://")) {
    return invalid_argument("sink '" + k.name + "' needs a url redis://host:port/db");
  }
  if (k.type == "kafka" && (k.brokers.empty() || k.topic.empty())) {
    return invalid_argument("sink '" + k.name + "' needs brokers and a topic");
  }
  static const std::set<std::string> kCompressions = {"none", "gzip", "snappy", "lz4", "zstd"};
  if (!kCompressions.contains(k.compression)) {
    return invalid_argument("sink '" + k.name + "': compression '" + k.compression +
                            "' is not supported (none, gzip, snappy, lz4, zstd)");
  }
  if (k.batch_events == 0) return invalid_argument("sink '" + k.name + "': batch_events is 0");
  return Status::ok();
}

Status read_sinks(const Section& top, ProjectConfig& c) {
  const YAML::Node list = top.child("sinks");
  if (!list.IsSequence()) return top.error(list, "sinks must be a list");
  std::set<std::string> names;
  for (const auto& item : list) {
    Section s(item, top.file(), "sinks[]");
    BASALT_RETURN_IF_ERROR(s.check_keys({"name", "type", "sources", "overflow", "batch_events",
                                         "url", "stream", "max_len", "brokers", "topic",
                                         "compression", "properties"}));
    SinkConfig k;
    BASALT_RETURN_IF_ERROR(s.get("type", k.type));
    k.name = k.type;
    BASALT_RETURN_IF_ERROR(s.get("name", k.name));
    BASALT_RETURN_IF_ERROR(s.get_list("sources", k.sources));
    BASALT_RETURN_IF_ERROR(s.get("overflow", k.overflow));
    BASALT_RETURN_IF_ERROR(s.get_int("batch_events", k.batch_events, 1000000));
    BASALT_RETURN_IF_ERROR(s.get("url", k.url));
    BASALT_RETURN_IF_ERROR(s.get("stream", k.stream));
    BASALT_RETURN_IF_ERROR(s.get_int("max_len", k.max_len, 1ull << 40));
    BASALT_RETURN_IF_ERROR(s.get("brokers", k.brokers));
    BASALT_RETURN_IF_ERROR(s.get("topic", k.topic));
    BASALT_RETURN_IF_ERROR(s.get("compression", k.compression));
    if (s.has("properties")) {
      const YAML::Node props = s.child("properties");
      if (!props.IsMap()) return s.error(props, "sinks[].properties must be a mapping");
      for (const auto& kv : props) {
        if (!kv.first.IsScalar() || !kv.second.IsScalar()) {
          return s.error(kv.first, "sinks[].properties maps names to plain values");
        }
        k.properties[kv.first.Scalar()] = kv.second.Scalar();
      }
    }
    if (k.name.empty()) return s.error(item, "a sink needs a type (redis or kafka)");
    if (Status st = check_sink(k); !st.is_ok()) return s.error(item, st.message());
    if (!names.insert(k.name).second) {
      return s.error(item, "sink '" + k.name + "' is declared twice (give each a name)");
    }
    for (const auto& src : k.sources) {
      bool known = std::any_of(c.sources.begin(), c.sources.end(),
                               [&](const SourceConfig& d) { return d.name == src; });
      if (!known) return s.error(item, "sink '" + k.name + "' names an unknown source '" + src + "'");
    }
    c.sinks.push_back(std::move(k));
  }
  return Status::ok();
}

// clickhouse://[user[:password]@]host[:port][/database] into the warehouse settings.
Status apply_clickhouse_url(const std::string& url, WarehouseConfig& w) {
  std::string rest = url.substr(std::string_view("clickhouse://").size());
  auto bad = [&](const std::string& why) {
    return invalid_argument("BASALT_WAREHOUSE_URL: " + why +
                            " (use clickhouse://user:password@host:8123/database)");
  };
  std::string database = "basalt";
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    database = rest.substr(slash + 1);
    rest.resize(slash);
  }
  std::string user = "default", password;
  if (size_t at = rest.rfind('@'); at != std::string::npos) {
    std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = cred.find(':');
    user = cred.substr(0, colon);
    if (colon != std::string::npos) password = cred.substr(colon + 1);
  }
  if (rest.empty()) return bad("no host");
  if (database.empty()) return bad("no database after the host");
  if (rest.find(':') == std::string::npos) rest += ":8123";
  w.engine = "clickhouse";
  w.url = "http://" + rest;
  w.database = database;
  w.user = user.empty() ? "default" : user;
  w.password = password;
  return Status::ok();
}

// Replaces the sink named `k.name` or adds it.
void put_sink(ProjectConfig& c, SinkConfig k) {
  for (auto& existing : c.sinks) {
    if (existing.name == k.name) {
      existing = std::move(k);
      return;
    }
  }
  c.sinks.push_back(std::move(k));
}

Status read_config(const Section& top, ProjectConfig& c) {
  BASALT_RETURN_IF_ERROR(top.check_keys({"project", "demo", "data_dir", "log_level", "sources",
                                         "ingest", "api", "wal", "loader", "warehouse", "sinks",
                                         "timezone", "query", "enrich",
                                         // read by the parts that own them
                                         "domino"}));
  BASALT_RETURN_IF_ERROR(top.get_bool("demo", c.demo));
  BASALT_RETURN_IF_ERROR(top.get("project", c.name));
  std::string data_dir;
  BASALT_RETURN_IF_ERROR(top.get("data_dir", data_dir));
  if (!data_dir.empty()) c.data_dir = data_dir;
  BASALT_RETURN_IF_ERROR(top.get("log_level", c.log_level));
  BASALT_RETURN_IF_ERROR(top.get("timezone", c.timezone));
  if (c.timezone.empty()) return top.error(top.child("timezone"), "timezone must be an IANA name like UTC or Asia/Shanghai");
  if (top.has("query")) {
    Section s = top.section("query");
    BASALT_RETURN_IF_ERROR(s.check_keys({"max_rows", "timeout", "cache_entries", "cache_ttl", "rollups"}));
    BASALT_RETURN_IF_ERROR(s.get_int("max_rows", c.query.max_rows, 10000000));
    std::chrono::microseconds t = c.query.timeout;
    BASALT_RETURN_IF_ERROR(s.get_duration("timeout", t));
    c.query.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(t);
    BASALT_RETURN_IF_ERROR(s.get_int("cache_entries", c.query.cache_entries, 1000000));
    std::chrono::microseconds ttl = c.query.cache_ttl;
    BASALT_RETURN_IF_ERROR(s.get_duration("cache_ttl", ttl));
    c.query.cache_ttl = std::chrono::duration_cast<std::chrono::seconds>(ttl);
    BASALT_RETURN_IF_ERROR(s.get_bool("rollups", c.query.rollups));
  }

  if (top.has("sources")) {
    const YAML::Node list = top.child("sources");
    if (!list.IsSequence()) return top.error(list, "sources must be a list");
    std::set<std::string> names, keys;
    for (const auto& item : list) {
      Section s(item, top.file(), "sources[]");
      BASALT_RETURN_IF_ERROR(s.check_keys({"name", "write_key", "description"}));
      SourceConfig source;
      BASALT_RETURN_IF_ERROR(s.get("name", source.name));
      BASALT_RETURN_IF_ERROR(s.get("write_key", source.write_key));
      if (source.name.empty()) return s.error(item, "a source needs a name");
      if (source.write_key.empty()) {
        return s.error(item, "source '" + source.name + "' needs a write_key");
      }
      if (!names.insert(source.name).second) {
        return s.error(item, "source '" + source.name + "' is declared twice");
      }
      if (!keys.insert(source.write_key).second) {
        return s.error(item, "source '" + source.name + "' reuses another source's write_key");
      }
      c.sources.push_back(std::move(source));
    }
  }
  if (top.has("ingest")) {
    Section s = top.section("ingest");
    BASALT_RETURN_IF_ERROR(s.check_keys({"bind", "port", "threads", "max_event_bytes",
                                         "max_body_bytes", "max_batch_events",
                                         "trusted_proxies"}));
    BASALT_RETURN_IF_ERROR(s.get("bind", c.ingest.bind));
    BASALT_RETURN_IF_ERROR(s.get_int("port", c.ingest.port, 65535));
    BASALT_RETURN_IF_ERROR(s.get_int("threads", c.ingest.threads, 256));
    uint64_t v = c.ingest.max_event_bytes;
    BASALT_RETURN_IF_ERROR(s.get_size("max_event_bytes", v));
    c.ingest.max_event_bytes = v;
    v = c.ingest.max_body_bytes;
    BASALT_RETURN_IF_ERROR(s.get_size("max_body_bytes", v));
    c.ingest.max_body_bytes = v;
    BASALT_RETURN_IF_ERROR(s.get_int("max_batch_events", c.ingest.max_batch_events, 1000000));
    BASALT_RETURN_IF_ERROR(s.get_list("trusted_proxies", c.ingest.trusted_proxies));
  }
  if (top.has("api")) {
    Section s = top.section("api");
    BASALT_RETURN_IF_ERROR(s.check_keys({"bind", "port", "admin_token"}));
    BASALT_RETURN_IF_ERROR(s.get("bind", c.api.bind));
    BASALT_RETURN_IF_ERROR(s.get_int("port", c.api.port, 65535));
    BASALT_RETURN_IF_ERROR(s.get("admin_token", c.api.admin_token));
  }
  if (top.has("wal")) {
    Section s = top.section("wal");
    BASALT_RETURN_IF_ERROR(
        s.check_keys({"segment_size", "group_commit_delay", "sync", "preallocate",
                      "disk_budget"}));
    BASALT_RETURN_IF_ERROR(s.get_size("disk_budget", c.wal.disk_budget_bytes));
    BASALT_RETURN_IF_ERROR(s.get_size("segment_size", c.wal.segment_bytes));
    BASALT_RETURN_IF_ERROR(s.get_duration("group_commit_delay", c.wal.group_commit_delay));
    BASALT_RETURN_IF_ERROR(s.get_bool("sync", c.wal.sync));
    BASALT_RETURN_IF_ERROR(s.get_bool("preallocate", c.wal.preallocate));
  }
  if (top.has("loader")) {
    Section s = top.section("loader");
    BASALT_RETURN_IF_ERROR(
        s.check_keys({"batch_events", "batch_interval", "dedup_window", "dedup_max_ids",
                      "thread_nice", "idle_io"}));
    BASALT_RETURN_IF_ERROR(s.get_int("batch_events", c.loader.batch_events, 10000000));
    BASALT_RETURN_IF_ERROR(s.get_duration("batch_interval", c.loader.batch_interval));
    BASALT_RETURN_IF_ERROR(s.get_duration("dedup_window", c.loader.dedup_window));
    BASALT_RETURN_IF_ERROR(s.get_int("dedup_max_ids", c.loader.dedup_max_ids, 1ull << 32));
    BASALT_RETURN_IF_ERROR(s.get_int("thread_nice", c.loader.thread_nice, 19));
    BASALT_RETURN_IF_ERROR(s.get_bool("idle_io", c.loader.idle_io));
  }
  if (top.has("warehouse")) {
    Section s = top.section("warehouse");
    BASALT_RETURN_IF_ERROR(s.check_keys(
        {"engine", "path", "url", "database", "user", "password", "cluster", "memory_limit",
         "checkpoint_threshold"}));
    BASALT_RETURN_IF_ERROR(s.get("engine", c.warehouse.engine));
    BASALT_RETURN_IF_ERROR(s.get("path", c.warehouse.path));
    BASALT_RETURN_IF_ERROR(s.get("url", c.warehouse.url));
    BASALT_RETURN_IF_ERROR(s.get("database", c.warehouse.database));
    BASALT_RETURN_IF_ERROR(s.get("user", c.warehouse.user));
    BASALT_RETURN_IF_ERROR(s.get("password", c.warehouse.password));
    BASALT_RETURN_IF_ERROR(s.get("cluster", c.warehouse.cluster));
    BASALT_RETURN_IF_ERROR(s.get_size("memory_limit", c.warehouse.memory_limit_bytes, 64));
    BASALT_RETURN_IF_ERROR(
        s.get_size("checkpoint_threshold", c.warehouse.checkpoint_threshold_bytes, 1));
    if (c.warehouse.engine != "duckdb" && c.warehouse.engine != "clickhouse") {
      return s.error(s.child("engine"), "warehouse.engine '" + c.warehouse.engine +
                                            "' is not supported (supported: duckdb, clickhouse)");
    }
    if (c.warehouse.engine == "clickhouse" && c.warehouse.url.empty()) {
      return s.error(s.node(), "warehouse.url is required with engine clickhouse "
                               "(e.g. http://127.0.0.1:8123)");
    }
  }
  if (top.has("sinks")) BASALT_RETURN_IF_ERROR(read_sinks(top, c));
  if (top.has("enrich")) {
    Section s = top.section("enrich");
    BASALT_RETURN_IF_ERROR(
        s.check_keys({"user_agent", "uap_regexes", "geoip_database", "transforms_dir"}));
    BASALT_RETURN_IF_ERROR(s.get_bool("user_agent", c.enrich.user_agent));
    BASALT_RETURN_IF_ERROR(s.get("uap_regexes", c.enrich.uap_regexes));
    BASALT_RETURN_IF_ERROR(s.get("geoip_database", c.enrich.geoip_database));
    BASALT_RETURN_IF_ERROR(s.get("transforms_dir", c.enrich.transforms_dir));
  }
  return Status::ok();
}

}  // namespace

std::filesystem::path ProjectConfig::warehouse_path() const {
  std::filesystem::path p = warehouse.path.empty() ? "warehouse.duckdb" : warehouse.path;
  return p.is_absolute() ? p : data_dir / p;
}

Result<ProjectConfig> load_project_config(const std::filesystem::path& project_dir) {
  ProjectConfig config;
  config.project_dir = project_dir;
  std::filesystem::path file = project_dir / "basalt.yaml";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    return not_found(file.string() + ": no such file (a project folder holds basalt.yaml)");
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    return invalid_argument(fmt::format("{}:{}: {}", file.string(), e.mark.line + 1, e.msg));
  }
  if (root.IsNull()) return config;
  try {
    BASALT_RETURN_IF_ERROR(read_config(Section(root, file.string(), ""), config));
  } catch (const YAML::Exception& e) {
    // A shape the reader did not expect (it checks types before converting, so this is a
    // gap in those checks): still an error about the file, never a crash.
    return invalid_argument(fmt::format("{}:{}: {}", file.string(), e.mark.line + 1, e.msg));
  }
  return config;
}

Status apply_environment(ProjectConfig& c,
                         const std::function<const char*(const char*)>& getenv) {
  auto get = [&](const char* name) -> std::string {
    const char* v = getenv(name);
    return v ? v : "";
  };
  auto port = [&](const char* name, uint16_t& out) -> Status {
    std::string v = get(name);
    if (v.empty()) return Status::ok();
    unsigned p = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), p);
    if (ec != std::errc() || end != v.data() + v.size() || p > 65535) {
      return invalid_argument(fmt::format("{}='{}' is not a port number", name, v));
    }
    out = static_cast<uint16_t>(p);
    return Status::ok();
  };
  if (auto v = get("BASALT_DATA_DIR"); !v.empty()) c.data_dir = v;
  if (auto v = get("BASALT_ADMIN_TOKEN"); !v.empty()) c.api.admin_token = v;
  if (auto v = get("BASALT_GEOIP_DATABASE"); !v.empty()) c.enrich.geoip_database = v;
  if (auto v = get("BASALT_LOG_LEVEL"); !v.empty()) c.log_level = v;
  BASALT_RETURN_IF_ERROR(port("BASALT_INGEST_PORT", c.ingest.port));
  BASALT_RETURN_IF_ERROR(port("BASALT_API_PORT", c.api.port));
  if (auto v = get("BASALT_WAREHOUSE_URL"); !v.empty()) {
    constexpr std::string_view kDuck = "duckdb://";
    constexpr std::string_view kClickHouse = "clickhouse://";
    if (v.starts_with(kClickHouse)) {
      BASALT_RETURN_IF_ERROR(apply_clickhouse_url(v, c.warehouse));
    } else if (!v.starts_with(kDuck)) {
      return invalid_argument("BASALT_WAREHOUSE_URL='" + v +
                              "' is not supported (use duckdb:///path/to/file.duckdb or "
                              "clickhouse://user:password@host:8123/database)");
    } else {
      c.warehouse.engine = "duckdb";
      c.warehouse.path = v.substr(kDuck.size());
    }
  }
  if (auto v = get("BASALT_REDIS_URL"); !v.empty()) {
    SinkConfig k;
    k.name = k.type = "redis";
    k.url = v;
    if (auto st = get("BASALT_REDIS_STREAM"); !st.empty()) k.stream = st;
    if (!v.starts_with("redis://")) {
      return invalid_argument("BASALT_REDIS_URL='" + v + "' is not a redis://host:port/db URL");
    }
    put_sink(c, std::move(k));
  }
  if (auto v = get("BASALT_KAFKA_BROKERS"); !v.empty()) {
    SinkConfig k;
    k.name = k.type = "kafka";
    k.brokers = v;
    if (auto t = get("BASALT_KAFKA_TOPIC"); !t.empty()) k.topic = t;
    put_sink(c, std::move(k));
  }
  return Status::ok();
}

Result<std::chrono::microseconds> parse_duration(const std::string& text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string unit(end, text.data() + text.size());
  if (ec != std::errc() || text.empty()) {
    return invalid_argument("'" + text + "' is not a duration (e.g. 200us, 250ms, 2s, 5m, 24h, 1d)");
  }
  uint64_t us_per = 0;
  if (unit == "us") us_per = 1;
  else if (unit == "ms") us_per = 1000;
  else if (unit == "s") us_per = 1'000'000;
  else if (unit == "m") us_per = 60'000'000;
  else if (unit == "h") us_per = 3'600'000'000;
  else if (unit == "d") us_per = 86'400'000'000;
  if (us_per == 0) {
    return invalid_argument("'" + text + "' is not a duration (e.g. 200us, 250ms, 2s, 5m, 24h, 1d)");
  }
  return std::chrono::microseconds(n * us_per);
}

Result<uint64_t> parse_size(const std::string& text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string unit(end, text.data() + text.size());
  uint64_t mult = 0;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "KB" || unit == "KiB") mult = 1024;
  else if (unit == "MB" || unit == "MiB") mult = 1024 * 1024;
  else if (unit == "GB" || unit == "GiB") mult = 1024ull * 1024 * 1024;
  if (ec != std::errc() || text.empty() || mult == 0) {
    return invalid_argument("'" + text + "' is not a size (e.g. 512KB, 64MB, 1GB)");
  }
  return n * mult;
}

}  // namespace basalt
