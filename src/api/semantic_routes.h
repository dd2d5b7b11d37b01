#pragma once
// Everything of the semantic layer that `basalt up` serves on the console port, built from the
// project configuration: the models (SemanticService), the console database (API keys, charts,
// dashboards), access control, the query, content and data APIs, and the loader hook that
// invalidates the result cache.
//
// Thread safety: see the parts; the object must outlive the Server and the Loader's thread.

#include <memory>

#include "api/access_control.h"
#include "api/content_api.h"
#include "api/data_api_routes.h"
#include "api/key_store.h"
#include "api/query_api.h"
#include "common/config.h"
#include "common/metrics.h"
#include "http/blocking_pool.h"
#include "http/router.h"
#include "loader/loader.h"
#include "semantic/semantic_service.h"
#include "warehouse/warehouse.h"

namespace basalt::api {

class SemanticRoutes {
 public:
  // REQUIRES: called before loader.start() has delivered commits that should invalidate (the
  // listener is added here). Logs model errors; fails on a bad time zone or an unreadable
  // console database.
  static Result<std::unique_ptr<SemanticRoutes>> open(const ProjectConfig& config,
                                                      warehouse::Warehouse& warehouse,
                                                      loader::Loader& loader,
                                                      http::BlockingPool& pool,
                                                      MetricsRegistry& metrics);
  // Also GET /api/v1/catalog?q=… (viewer+): the data-asset catalogue.
  void register_routes(http::Router& router);

  semantic::SemanticService& semantic() { return *semantic_; }
  const AccessControl& access() const { return *access_; }

 private:
  SemanticRoutes() = default;
  std::unique_ptr<semantic::SemanticService> semantic_;
  std::unique_ptr<SqliteApiStore> store_;
  std::unique_ptr<AccessControl> access_;
  std::unique_ptr<QueryApi> query_;
  std::unique_ptr<ContentApi> content_;
  std::unique_ptr<DataApiRoutes> data_;
  http::BlockingPool* pool_ = nullptr;
  warehouse::Warehouse* warehouse_ = nullptr;
  std::filesystem::path project_dir_;
  std::vector<std::string> source_names_;
};

}  // namespace basalt::api
