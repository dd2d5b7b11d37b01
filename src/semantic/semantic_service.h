#pragma once
// The semantic layer as the API uses it: the project's models, the dialect of its warehouse,
// its time zone, and the result cache, over one Warehouse.
//
// Thread safety: run() and the on_commit calls may be called from any thread concurrently.

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "semantic/compiler.h"
#include "semantic/model.h"
#include "semantic/result_cache.h"
#include "warehouse/warehouse.h"

namespace basalt::semantic {

struct Answer {
  CompiledQuery compiled;
  warehouse::QueryResult result;
  bool cached = false;
  double elapsed_ms = 0;
};

class SemanticService {
 public:
  // Loads PROJECT/models/*.yaml. Model errors do not stop the service (the valid models are
  // served; errors() lists the others); an unknown time zone or engine does (kInvalidArgument).
  static Result<std::unique_ptr<SemanticService>> open(const std::filesystem::path& project_dir,
                                                       const std::string& engine,
                                                       const std::string& timezone,
                                                       const QueryConfig& config,
                                                       warehouse::Warehouse& warehouse,
                                                       const Clock& clock);
  // For tests: given models.
  static Result<std::unique_ptr<SemanticService>> with_models(
      ModelSet models, const std::string& engine, const std::string& timezone,
      const QueryConfig& config, warehouse::Warehouse& warehouse, const Clock& clock);

  // Compiles without running (for the SQL preview and validation).
  Result<CompiledQuery> compile(const Query& query) const;
  // Compiles, answers from the cache when it can, else runs with `timeout` (capped by the
  // configured timeout) and caches the answer. Errors: the compiler's kInvalidArgument,
  // the warehouse's (kDeadlineExceeded on timeout).
  Result<Answer> run(const Query& query, std::chrono::milliseconds timeout);
  // Runs a published statement (data APIs' SQL form) with the same cache; `tables` scope it.
  Result<Answer> run_sql(const std::string& sql, const std::vector<warehouse::Value>& params,
                         const std::vector<std::string>& tables, std::chrono::milliseconds timeout);

  // The loader is about to commit `change`, and has committed it (or given up): the cache
  // serves and keeps no answer it touches in between (ResultCache::begin_change).
  void on_commit_begin(const DataChange& change) { cache_.begin_change(change); }
  void on_commit_end(const DataChange& change) { cache_.end_change(change); }
  // A change already committed.
  void on_commit(const DataChange& change) { cache_.invalidate(change); }

  const ModelSet& models() const { return models_; }
  const std::vector<std::string>& errors() const { return errors_; }
  const QueryConfig& config() const { return config_; }
  const std::string& timezone() const { return timezone_; }
  // The warehouse engine and its SQL dialect (null for an engine without one).
  const std::string& engine() const { return engine_; }
  const Dialect* dialect() const { return dialect_.get(); }
  const domino::TimeZone& tz() const { return tz_; }
  ResultCache::Stats cache_stats() const { return cache_.stats(); }

 private:
  SemanticService(ModelSet models, std::unique_ptr<Dialect> dialect, std::string timezone,
                  domino::TimeZone tz, const QueryConfig& config, warehouse::Warehouse& warehouse,
                  const Clock& clock);

  ModelSet models_;
  std::vector<std::string> errors_;
  std::unique_ptr<Dialect> dialect_;  // null when the warehouse engine has none
  std::string engine_;
  std::string timezone_;
  domino::TimeZone tz_;
  QueryConfig config_;
  warehouse::Warehouse& warehouse_;
  const Clock& clock_;
  ResultCache cache_;
};

// The cache key of a statement: its text and bound values.
std::string statement_key(const std::string& sql, const std::vector<warehouse::Value>& params);

}  // namespace basalt::semantic
