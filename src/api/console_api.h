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
  // the reason otherwise. Other console routes (Domino's) use it too.
  Status authorize(const http::Request& request) const;

 private:
  ApiConfig config_;
  warehouse::Warehouse& warehouse_;
  wal::Wal& wal_;
  http::BlockingPool& pool_;
  std::function<nlohmann::json()> status_;
};

}  // namespace basalt::api
