#pragma once
// Saved charts and dashboards, and API keys, on the console port (docs/query_api.md):
//   GET/POST /api/v1/charts, GET/PUT/DELETE /api/v1/charts/{id}, GET /api/v1/charts/{id}/data
//   GET/POST /api/v1/dashboards, GET/PUT/DELETE /api/v1/dashboards/{id}
//   GET/POST /api/v1/keys, DELETE /api/v1/keys/{id}           (admin)
// Viewers read; analysts and admins write. A chart's "query" must compile when it is saved;
// a dashboard's "charts" must name saved charts.
//
// Thread safety: handlers run on any I/O thread; store and warehouse calls run on the pool.

#include "api/access_control.h"
#include "api/key_store.h"
#include "http/blocking_pool.h"
#include "http/router.h"
#include "semantic/semantic_service.h"

namespace basalt::api {

class ContentApi {
 public:
  ContentApi(ContentStore& content, KeyStore& keys, semantic::SemanticService& semantic,
             const AccessControl& access, http::BlockingPool& pool);
  void register_routes(http::Router& router);

 private:
  http::Response save(const std::string& kind, const std::string& id, const std::string& owner,
                      const std::string& body);
  ContentStore& content_;
  KeyStore& keys_;
  semantic::SemanticService& semantic_;
  const AccessControl& access_;
  http::BlockingPool& pool_;
};

nlohmann::json saved_item_json(const SavedItem& item);
nlohmann::json api_key_json(const ApiKey& key);

}  // namespace basalt::api
