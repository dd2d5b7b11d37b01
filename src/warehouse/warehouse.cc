#include "warehouse/warehouse.h"

#include "warehouse/duckdb/duckdb_warehouse.h"

namespace basalt::warehouse {

Status Warehouse::for_each_loaded_message(
    int64_t since_us,
    const std::function<void(std::string_view, std::string_view, int64_t)>& fn) {
  return for_each_message_id(since_us, [&](std::string_view source, std::string_view id) {
    fn(source, id, since_us);
  });
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
  return invalid_argument("unknown warehouse engine '" + options.engine +
                          "' (known: duckdb)");
}

}  // namespace basalt::warehouse
