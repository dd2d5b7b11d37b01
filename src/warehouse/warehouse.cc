#include "warehouse/warehouse.h"

#include "schema/value_type.h"
#include "warehouse/clickhouse/clickhouse_warehouse.h"
#include "warehouse/duckdb/duckdb_warehouse.h"

namespace basalt::warehouse {

Status Warehouse::for_each_loaded_message(
    int64_t since_us, const std::function<void(std::string_view, std::string_view, int64_t)>& fn) {
  return for_each_message_id(
      since_us, [&](std::string_view source, std::string_view id) { fn(source, id, since_us); });
}

Result<std::vector<std::string>> Warehouse::apply_plan_columns(const PlanColumns&) {
  return std::vector<std::string>{};
}

std::optional<RollupInfo> Warehouse::rollups() const { return std::nullopt; }

Status Warehouse::rebuild_rollups() { return Status::ok(); }

PlanColumns plan_columns(const schema::TrackingPlan& plan) {
  PlanColumns out;
  for (const auto& p : plan.properties)
    out.properties.push_back({p.name, schema::value_type_of(p.type)});
  for (const auto& a : plan.attributes)
    out.attributes.push_back({a.name, schema::value_type_of(a.type), a.merge});
  return out;
}

std::string_view sql_type_of(event::ValueType type) {
  switch (type) {
    case event::ValueType::kString:
      return "VARCHAR";
    case event::ValueType::kInt:
      return "BIGINT";
    case event::ValueType::kFloat:
      return "DOUBLE";
    case event::ValueType::kBool:
      return "BOOLEAN";
    case event::ValueType::kTimestamp:
      return "TIMESTAMPTZ";
    case event::ValueType::kStringList:
      return "VARCHAR[]";
    case event::ValueType::kJson:
      return "JSON";
    case event::ValueType::kNull:
      return "JSON";
  }
  return "JSON";
}

Result<QueryResult> Warehouse::query(const std::string& sql, const std::vector<Value>& params,
                                     const QueryOptions& options) {
  if (!params.empty()) {
    return failed_precondition("this warehouse engine does not support bound parameters");
  }
  return query(sql, options);
}

// Every engine is listed here, explicitly: no static registration.
Result<std::unique_ptr<Warehouse>> make_warehouse(const WarehouseOptions& options) {
  if (options.engine == "duckdb") {
    auto w = DuckDbWarehouse::open(options);
    if (!w) return w.status();
    return std::unique_ptr<Warehouse>(std::move(*w));
  }
  if (options.engine == "clickhouse") {
    clickhouse::ClickHouseOptions o;
    o.url = options.url;
    o.database = options.database;
    o.user = options.user;
    o.password = options.password;
    o.cluster = options.cluster;
    auto w = clickhouse::ClickHouseWarehouse::open(o);
    if (!w) return w.status();
    return std::unique_ptr<Warehouse>(std::move(*w));
  }
  return invalid_argument("unknown warehouse engine '" + options.engine +
                          "' (known: duckdb, clickhouse)");
}

Result<WarehouseOptions> clickhouse_options_from_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return invalid_argument("ClickHouse URL '" + url + "': " + why +
                            " (use clickhouse://user:password@host:8123/database)");
  };
  std::string rest;
  for (std::string_view scheme : {"clickhouse://", "http://"}) {
    if (url.starts_with(scheme)) rest = url.substr(scheme.size());
  }
  if (rest.empty()) return bad("not a clickhouse:// or http:// URL with a host");
  WarehouseOptions o;
  o.engine = "clickhouse";
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    o.database = rest.substr(slash + 1);
    rest.resize(slash);
    if (o.database.empty()) o.database = "basalt";
  }
  if (size_t at = rest.rfind('@'); at != std::string::npos) {
    std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = cred.find(':');
    o.user = cred.substr(0, colon);
    if (colon != std::string::npos) o.password = cred.substr(colon + 1);
    if (o.user.empty()) o.user = "default";
  }
  if (rest.empty()) return bad("no host");
  if (rest.find(':') == std::string::npos) rest += ":8123";
  o.url = "http://" + rest;
  return o;
}

}  // namespace basalt::warehouse
