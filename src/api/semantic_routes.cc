#include "api/semantic_routes.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <ctime>

#include "common/clock.h"

namespace basalt::api {

namespace {

std::string iso8601(int64_t us) {
  std::time_t t = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace

Result<std::unique_ptr<SemanticRoutes>> SemanticRoutes::open(const ProjectConfig& config,
                                                             warehouse::Warehouse& warehouse,
                                                             loader::Loader& loader,
                                                             http::BlockingPool& pool,
                                                             MetricsRegistry& metrics) {
  std::unique_ptr<SemanticRoutes> r(new SemanticRoutes());
  auto s =
      semantic::SemanticService::open(config.project_dir, config.warehouse.engine, config.timezone,
                                      config.query, warehouse, SystemClock::instance());
  if (!s) return s.status();
  r->semantic_ = std::move(*s);
  for (const auto& e : r->semantic_->errors()) spdlog::error("{}", e);
  auto store = SqliteApiStore::open(config.data_dir / "console.db");
  if (!store) return store.status();
  r->store_ = std::move(*store);
  r->access_ = std::make_unique<AccessControl>(config.api, r->store_.get(), metrics);
  r->query_ = std::make_unique<QueryApi>(*r->semantic_, *r->access_, pool, [&loader] {
    loader::LoaderStats st = loader.stats();
    int64_t now = SystemClock::instance().now_us();
    return iso8601(now - static_cast<int64_t>(st.lag_seconds * 1e6));
  });
  r->content_ =
      std::make_unique<ContentApi>(*r->store_, *r->store_, *r->semantic_, *r->access_, pool);
  auto apis = semantic::DataApiSet::load(config.project_dir, r->semantic_->models());
  for (const auto& e : apis.errors) spdlog::error("{}", e);
  r->data_ = std::make_unique<DataApiRoutes>(std::move(apis.apis), config.name, *r->semantic_,
                                             *r->access_, pool, SystemClock::instance());
  semantic::SemanticService* sem = r->semantic_.get();
  loader.add_commit_listener([sem](const loader::CommitInfo& c) {
    sem->on_commit({"events", c.min_event_us, c.max_event_us});
    if (c.users_changed) sem->on_commit({"users", INT64_MIN, INT64_MAX});
  });
  metrics.gauge_callback("basalt_query_cache_entries", "Answers in the result cache",
                         [sem] { return static_cast<double>(sem->cache_stats().entries); });
  metrics.gauge_callback("basalt_query_cache_hits", "Result cache hits since start",
                         [sem] { return static_cast<double>(sem->cache_stats().hits); });
  metrics.gauge_callback("basalt_query_cache_misses", "Result cache misses since start",
                         [sem] { return static_cast<double>(sem->cache_stats().misses); });
  return r;
}

void SemanticRoutes::register_routes(http::Router& router) {
  query_->register_routes(router);
  content_->register_routes(router);
  data_->register_routes(router);
}

}  // namespace basalt::api
