#pragma once
// The tracking plan for everyone, on the console API (admin token):
//   GET  /api/v1/tracking              the dictionary (events, properties, user attributes,
//                                      sources) with descriptions and owners, and live
//                                      statistics from the warehouse per event and property
//   GET  /api/v1/tracking/undeclared   events and properties the plan does not declare, seen
//                                      from non-strict sources, with sample values
//   GET  /api/v1/quarantine            refused events (?source=&reason=&since=&limit=)
//   POST /api/v1/quarantine/replay     re-submits quarantined events through the current
//                                      pipeline, each at most once (see replay below)
// Queries run on a BlockingPool, never on an I/O thread. Formats in docs/tracking_plan.md.
//
// Thread safety: handlers run on any I/O thread; the API must outlive the Server.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "http/blocking_pool.h"
#include "http/router.h"
#include "schema/tracking_plan.h"
#include "warehouse/warehouse.h"

namespace basalt::api {

// One quarantined event to re-submit.
struct QuarantineRow {
  std::string quarantine_id;
  std::string source;
  int64_t received_at_us = 0;
  std::string raw;
  std::string call_type;  // "track"… for a single call; "" for a batch item
};

// What re-submitting one row gave: accepted (its events are durable in the WAL), or still
// refused with the reason.
struct ReplayResult {
  bool accepted = false;
  size_t events = 0;  // events stored (a transform may fan out or drop)
  std::string reason;
};

struct TrackingApiHooks {
  std::function<Status(const http::Request&)> authorize;
  std::function<std::shared_ptr<const schema::TrackingPlan>()> plan;
  // Runs one row through ingest with the current plan and appends what is accepted to the
  // WAL (blocking). Null: replay is unavailable.
  std::function<Result<ReplayResult>(const QuarantineRow&)> resubmit;
};

class TrackingApi {
 public:
  TrackingApi(warehouse::Warehouse& warehouse, http::BlockingPool& pool, const Clock& clock,
              TrackingApiHooks hooks);
  void register_routes(http::Router& router);

  // The work behind the routes (also for tests and the CLI), blocking.
  Result<std::string> tracking_json();
  Result<std::string> undeclared_json(size_t limit);
  Result<std::string> quarantine_json(const std::string& source, const std::string& reason,
                                      int64_t since_us, size_t limit);
  // Re-submits every quarantined row received at or after `since_us` (of `source`, when
  // given) that has not been replayed yet. Each accepted row is recorded in
  // quarantine_replays, so a later replay skips it: each event is stored once. Rows still
  // refused stay quarantined (no new quarantine row) and can be replayed after a further fix.
  Result<std::string> replay_json(int64_t since_us, const std::string& source, bool dry_run);

 private:
  warehouse::Warehouse& warehouse_;
  http::BlockingPool& pool_;
  const Clock& clock_;
  TrackingApiHooks hooks_;
};

}  // namespace basalt::api
