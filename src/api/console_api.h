#pragma once
// The console API on the console port: GET /healthz, and with the admin bearer token
// POST /api/v1/sql (SQL on the warehouse), GET /api/v1/status (WAL and loader state) and
// GET /api/v1/whoami (the token's role).
//
// Thread safety: handlers run on any I/O thread; SQL runs on the BlockingPool so I/O threads
// never block. The service must outlive the Server it is registered on.

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/access_control.h"
#include "common/config.h"
#include "common/metrics.h"
#include "http/blocking_pool.h"
#include "http/router.h"
#include "http/server.h"
#include "wal/wal.h"
#include "warehouse/warehouse.h"

namespace basalt::api {

class ConsoleApi {
 public:
  // `status` supplies extra fields for /api/v1/status (e.g. the loader's state); it may be
  // called from any I/O thread.
  ConsoleApi(const ApiConfig& config, warehouse::Warehouse& warehouse, wal::Wal& wal,
             http::BlockingPool& pool, std::function<nlohmann::json()> status);

  void register_routes(http::Router& router);
  http::ServerOptions server_options() const;

  // ok when the request carries "Authorization: Bearer <admin token>"; kUnauthenticated with
  // the reason otherwise. Other console routes (Domino's) use it too. With access control (see
  // use_access_control) API keys are accepted as well: reads (GET) need the viewer role,
  // everything else admin (kPermissionDenied, 403, with the reason).
  Status authorize(const http::Request& request) const;

  // Checks tokens through `access` (API keys with roles) from now on. REQUIRES: called before
  // the server starts; `access` outlives this object.
  void use_access_control(const AccessControl* access) { access_ = access; }

 private:
  ApiConfig config_;
  warehouse::Warehouse& warehouse_;
  wal::Wal& wal_;
  http::BlockingPool& pool_;
  std::function<nlohmann::json()> status_;
  const AccessControl* access_ = nullptr;
};

}  // namespace basalt::api
