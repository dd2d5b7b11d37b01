#include "api/semantic_routes.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <ctime>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "domino/task_type.h"
#include "schema/tracking_plan.h"

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
  auto apis = semantic::DataApiSet::load(config.project_dir, r->semantic_->models(),
                                         r->semantic_->engine());
  for (const auto& e : apis.errors) spdlog::error("{}", e);
  r->data_ = std::make_unique<DataApiRoutes>(std::move(apis.apis), config.name, *r->semantic_,
                                             *r->access_, pool, SystemClock::instance());
  r->pool_ = &pool;
  r->warehouse_ = &warehouse;
  r->project_dir_ = config.project_dir;
  for (const auto& src : config.sources) r->source_names_.push_back(src.name);
  semantic::SemanticService* sem = r->semantic_.get();
  loader.add_commit_listener([sem](const loader::CommitInfo& c) {
    auto note = [&](const semantic::DataChange& change) {
      c.stored ? sem->on_commit_end(change) : sem->on_commit_begin(change);
    };
    note({"events", c.min_event_us, c.max_event_us});
    if (c.users_changed) note({"users", INT64_MIN, INT64_MAX});
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
  router.add_async(
      "GET", "/api/v1/catalog",
      [this](http::Request& req) -> boost::asio::awaitable<http::Response> {
        auto who = access_->require(req, Role::kViewer);
        if (!who) co_return access_->deny(who.status());
        auto work = [this, search = std::string(req.query("q"))] {
          auto plan = schema::load_tracking_plan(project_dir_, source_names_);
          domino::DagSet dags =
              domino::load_dags(project_dir_ / "dags", domino::make_default_task_registry());
          catalog::CatalogInputs in;
          in.warehouse = warehouse_;
          in.plan = plan ? &*plan : nullptr;
          in.models = &semantic_->models();
          in.apis = &data_->apis();
          in.dags = &dags;
          for (const char* kind : {"chart", "dashboard"}) {
            auto items = store_->list_items(kind);
            if (!items) continue;
            for (const auto& it : *items) {
              catalog::SavedConsumer c{kind, it.id, it.name, "", {}, {}};
              auto body = nlohmann::json::parse(it.body, nullptr, false);
              if (body.is_object() && body.contains("query") && body["query"].is_object()) {
                c.model = body["query"].value("model", "");
                if (body["query"].contains("metrics") && body["query"]["metrics"].is_array()) {
                  for (const auto& m : body["query"]["metrics"])
                    if (m.is_string()) c.metrics.push_back(m.get<std::string>());
                }
              }
              if (body.is_object() && body.contains("charts") && body["charts"].is_array()) {
                for (const auto& ch : body["charts"]) {
                  if (ch.is_string())
                    c.charts.push_back(ch.get<std::string>());
                  else if (ch.is_object() && ch.contains("id") && ch["id"].is_string())
                    c.charts.push_back(ch["id"].get<std::string>());
                }
              }
              in.saved.push_back(std::move(c));
            }
          }
          auto cat = catalog::build_catalog(in, search);
          if (!cat)
            return http::Response::error(http_status_of(cat.status().code()),
                                         cat.status().message());
          return http::Response::json(200, cat->dump());
        };
        http::Response reply = co_await pool_->run(std::move(work));
        co_return reply;
      });
}

}  // namespace basalt::api
