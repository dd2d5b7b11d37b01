#include "semantic/dialect.h"

#include "semantic/clickhouse_dialect.h"
#include "semantic/duckdb_dialect.h"

namespace basalt::semantic {

const char* grain_name(Grain g) {
  switch (g) {
    case Grain::kMinute:
      return "minute";
    case Grain::kHour:
      return "hour";
    case Grain::kDay:
      return "day";
    case Grain::kWeek:
      return "week";
    case Grain::kMonth:
      return "month";
    case Grain::kQuarter:
      return "quarter";
    case Grain::kYear:
      return "year";
  }
  return "day";
}

std::string Dialect::day_start(const std::string& date_sql) const {
  return "CAST(" + date_sql + " AS TIMESTAMP)";
}

std::string Dialect::day_of(const std::string& local_sql) const {
  return "CAST(CAST(" + local_sql + " AS TIMESTAMP) AS DATE)";
}

std::string Dialect::tagged_chain(const std::string& /*list_sql*/, const std::string& /*first_sql*/,
                                  const std::string& /*deadline_sql*/, size_t /*steps*/) const {
  return "";
}

std::string Dialect::chain_step(const std::string& chain_sql, size_t k) const {
  return chain_sql + "[" + std::to_string(k) + "]";
}

// Every engine is listed here, explicitly.
std::unique_ptr<Dialect> make_dialect(const std::string& engine) {
  if (engine == "duckdb") return std::make_unique<DuckDbDialect>();
  if (engine == "clickhouse") return std::make_unique<ClickHouseDialect>();
  return nullptr;
}

std::unique_ptr<Dialect> make_dialect(const std::string& engine, warehouse::Warehouse& warehouse,
                                      const ModelSet& models) {
  if (engine == "clickhouse") return make_clickhouse_dialect(warehouse, models);
  return make_dialect(engine);
}

}  // namespace basalt::semantic
