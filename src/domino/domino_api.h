#pragma once
// Domino's console API, registered on the console server's router, for the web UI and
// `basalt dag --api` (all JSON; the caller's `authorize` guards every route — the admin token):
//
//   GET  /api/v1/domino/dags                                   DAGs with graph and latest run
//   GET  /api/v1/domino/dags/{dag}                             one DAG, graph, definition history
//   GET  /api/v1/domino/runs?dag=&state=&from=&to=&limit=      runs, newest first
//   GET  /api/v1/domino/dags/{dag}/runs/{run}                  a run: task instances, attempts,
//                                                              durations, log tails
//   GET  /api/v1/domino/dags/{dag}/runs/{run}/tasks/{task}/log?attempt=N   full log (text)
//   GET  /api/v1/domino/dags/{dag}/runs/{run}/tasks/{task}/why
//   POST /api/v1/domino/dags/{dag}/trigger    {"date": "...", "params": {...}}
//   POST /api/v1/domino/dags/{dag}/backfill   {"from": "...", "to": "...", "rerun_failed": false}
//   POST /api/v1/domino/dags/{dag}/pause      and /unpause
//   POST /api/v1/domino/dags/{dag}/runs/{run}/tasks/{task}/clear   {"downstream": true}
//   POST /api/v1/domino/dags/{dag}/runs/{run}/tasks/{task}/mark    {"state": "success"}
//
// {run} is a run id (URL-encoded) or a logical date. Errors: {"success":false,"error":"..."}
// with the HTTP status of the Status code.
//
// Thread safety: handlers run on I/O threads; each does a few small SQLite queries.

#include <functional>
#include <nlohmann/json.hpp>

#include "common/status.h"
#include "domino/domino_service.h"
#include "http/router.h"

namespace basalt::domino {

// A run as the API and `basalt dag` print it: ids, states, the logical date and interval in
// the DAG's zone `tz`, params, start and end ("" until they happen) and duration in seconds.
nlohmann::json run_json(const DagRun& r, const TimeZone& tz);

class DominoApi {
 public:
  // `service` must outlive the router's server.
  DominoApi(DominoService& service, std::function<Status(const http::Request&)> authorize);
  void register_routes(http::Router& router);

 private:
  DominoService& service_;
  std::function<Status(const http::Request&)> authorize_;
};

}  // namespace basalt::domino
