#include "semantic/semantic_service.h"

#include <fmt/format.h>

namespace basalt::semantic {

std::string statement_key(const std::string& sql, const std::vector<warehouse::Value>& params) {
  std::string key = sql;
  for (const auto& p : params) {
    key += '\x1f';
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            key += "n";
          } else if constexpr (std::is_same_v<T, std::string>) {
            key += "s" + v;
          } else if constexpr (std::is_same_v<T, bool>) {
            key += v ? "t" : "f";
          } else if constexpr (std::is_same_v<T, double>) {
            key += fmt::format("d{}", v);
          } else {
            key += fmt::format("i{}", v);
          }
        },
        p);
  }
  return key;
}

SemanticService::SemanticService(ModelSet models, std::unique_ptr<Dialect> dialect,
                                 std::string timezone, domino::TimeZone tz,
                                 const QueryConfig& config, warehouse::Warehouse& warehouse,
                                 const Clock& clock)
    : models_(std::move(models)),
      dialect_(std::move(dialect)),
      timezone_(std::move(timezone)),
      tz_(std::move(tz)),
      config_(config),
      warehouse_(warehouse),
      clock_(clock),
      cache_(config.cache_entries, config.cache_ttl, clock) {}

Result<std::unique_ptr<SemanticService>> SemanticService::with_models(
    ModelSet models, const std::string& engine, const std::string& timezone,
    const QueryConfig& config, warehouse::Warehouse& warehouse, const Clock& clock) {
  // A warehouse engine without a dialect still serves everything else; its queries are refused
  // with a message (compile()).
  auto dialect = make_dialect(engine, warehouse, models);
  auto tz = domino::TimeZone::load(timezone);
  if (!tz) return invalid_argument("timezone '" + timezone + "': " + tz.status().message());
  auto service = std::unique_ptr<SemanticService>(new SemanticService(
      std::move(models), std::move(dialect), timezone, std::move(*tz), config, warehouse, clock));
  service->engine_ = engine;
  return service;
}

Result<std::unique_ptr<SemanticService>> SemanticService::open(
    const std::filesystem::path& project_dir, const std::string& engine,
    const std::string& timezone, const QueryConfig& config, warehouse::Warehouse& warehouse,
    const Clock& clock) {
  auto loaded = ModelSet::load(project_dir);
  auto s = with_models(std::move(loaded.models), engine, timezone, config, warehouse, clock);
  if (!s) return s;
  (*s)->errors_ = std::move(loaded.errors);
  return s;
}

Result<CompiledQuery> SemanticService::compile(const Query& query) const {
  if (!dialect_) {
    return failed_precondition("the metrics layer has no SQL dialect for the warehouse engine '" +
                               engine_ + "': use /api/v1/sql, or the duckdb or clickhouse engine");
  }
  CompileContext ctx{dialect_.get(), timezone_, &tz_, clock_.now_us(), config_.max_rows};
  // Read per query: the rollups are published once built and change with the plan's columns.
  std::optional<warehouse::RollupInfo> rollups;
  if (config_.rollups) rollups = warehouse_.rollups();
  if (rollups) ctx.rollups = &*rollups;
  return semantic::compile(query, models_, ctx);
}

Result<Answer> SemanticService::run(const Query& query, std::chrono::milliseconds timeout) {
  auto started = std::chrono::steady_clock::now();
  auto compiled = compile(query);
  if (!compiled) return compiled.status();
  std::string key = statement_key(compiled->sql, compiled->params);
  Answer a;
  if (auto hit = cache_.get(key)) {
    a.result = std::move(*hit);
    a.cached = true;
  } else {
    uint64_t ticket = cache_.begin();
    warehouse::QueryOptions o;
    o.max_rows = config_.max_rows;
    o.timeout = std::min(timeout, config_.timeout);
    auto r = warehouse_.query(compiled->sql, compiled->params, o);
    if (!r) return r.status();
    a.result = reshape(*compiled, std::move(*r));
    cache_.put(key, ticket,
               CacheScope{compiled->tables, compiled->scope_start_us, compiled->scope_end_us},
               a.result);
  }
  a.compiled = std::move(*compiled);
  a.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return a;
}

Result<Answer> SemanticService::run_sql(const std::string& sql,
                                        const std::vector<warehouse::Value>& params,
                                        const std::vector<std::string>& tables,
                                        std::chrono::milliseconds timeout) {
  auto started = std::chrono::steady_clock::now();
  std::string key = statement_key(sql, params);
  Answer a;
  a.compiled.sql = sql;
  a.compiled.params = params;
  a.compiled.tables = tables;
  if (auto hit = cache_.get(key)) {
    a.result = std::move(*hit);
    a.cached = true;
  } else {
    uint64_t ticket = cache_.begin();
    warehouse::QueryOptions o;
    o.max_rows = config_.max_rows;
    o.timeout = std::min(timeout, config_.timeout);
    auto r = warehouse_.query(sql, params, o);
    if (!r) return r.status();
    a.result = std::move(*r);
    cache_.put(key, ticket, CacheScope{tables, INT64_MIN, INT64_MAX}, a.result);
  }
  a.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return a;
}

}  // namespace basalt::semantic
