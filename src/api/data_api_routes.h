#pragma once
// The published data APIs (apis/*.yaml) over HTTP on the console port:
//   GET /data/v1/<name>?param=…[&format=csv]  the API's answer (JSON like /api/v1/query, or CSV)
//   GET /data/v1/openapi.json                 the OpenAPI 3 document of every API
//   GET /api/v1/apis                          the APIs with their parameters (viewer+)
// Service keys call only the APIs they are scoped to; analysts and admins call any; viewers
// none. Keys with a rate limit get 429 with Retry-After past it (a token bucket per key,
// refilled continuously, holding one minute's allowance).
//
// Thread safety: handlers run on any I/O thread; queries on the BlockingPool.

#include <map>
#include <mutex>
#include <string>

#include "api/access_control.h"
#include "common/clock.h"
#include "http/blocking_pool.h"
#include "http/router.h"
#include "semantic/data_api.h"
#include "semantic/semantic_service.h"

namespace basalt::api {

// Per-key token buckets. Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(const Clock& clock) : clock_(clock) {}
  // 0 when the call may proceed (a token is taken), else the seconds until one is available.
  int64_t take(const std::string& key, double per_minute);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t at_us = 0;
  };
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;  // protected by mu_
};

class DataApiRoutes {
 public:
  DataApiRoutes(semantic::DataApiSet apis, std::string project, semantic::SemanticService& semantic,
                const AccessControl& access, http::BlockingPool& pool, const Clock& clock);
  void register_routes(http::Router& router);
  const semantic::DataApiSet& apis() const { return apis_; }

 private:
  http::Response call(const semantic::DataApi& api, const http::Request& req);

  semantic::DataApiSet apis_;
  std::string project_;
  semantic::SemanticService& semantic_;
  const AccessControl& access_;
  http::BlockingPool& pool_;
  RateLimiter limiter_;
};

}  // namespace basalt::api
