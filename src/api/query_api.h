#pragma once
// The query API on the console port (docs/query_api.md):
//   POST /api/v1/query            a metrics query or an analysis → JSON or CSV (analyst+);
//                                 "async":true answers 202 with an id at once
//   GET  /api/v1/query/{id}       the state and, once done, the answer of an async query
//   GET  /api/v1/models           the models with their dimensions, measures and metrics (viewer+)
//
// Thread safety: handlers run on any I/O thread; queries run on the BlockingPool (sync) or on
// the API's own worker threads (async). The object must outlive the Server.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api/access_control.h"
#include "http/blocking_pool.h"
#include "http/router.h"
#include "semantic/semantic_service.h"

namespace basalt::api {

class QueryApi {
 public:
  // `complete_until` gives the ISO 8601 instant up to which the warehouse holds every
  // acknowledged event (the loader's position); it may be empty.
  QueryApi(semantic::SemanticService& semantic, const AccessControl& access,
           http::BlockingPool& pool, std::function<std::string()> complete_until);
  ~QueryApi();  // waits for async queries to finish

  void register_routes(http::Router& router);

  // How many async queries may run at once; more are refused with 429.
  static constexpr size_t kMaxAsyncRunning = 4;

 private:
  struct Job {
    std::string state = "running";  // running, done, failed
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::chrono::steady_clock::time_point finished;
  };
  // The full answer of one request body: status, content type, body.
  http::Response answer(const nlohmann::json& body, bool csv);
  void reap_locked();

  semantic::SemanticService& semantic_;
  const AccessControl& access_;
  http::BlockingPool& pool_;
  std::function<std::string()> complete_until_;

  std::mutex mu_;
  std::map<std::string, Job> jobs_;   // protected by mu_
  size_t running_ = 0;                // protected by mu_
  std::vector<std::thread> threads_;  // protected by mu_
  uint64_t next_id_ = 1;              // protected by mu_
};

}  // namespace basalt::api
