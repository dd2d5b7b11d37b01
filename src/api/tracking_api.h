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
#include <nlohmann/json.hpp>
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

// A replay's answer, {"dry_run", "replayed", "still_refused", "events_stored", "results"}: the
// same from the API and from `basalt quarantine replay` (docs/tracking_plan.md).
nlohmann::json replay_answer(bool dry_run);
// Adds one resubmitted entry (`item`: its quarantine_id and source) with its outcome.
void add_replay_outcome(nlohmann::json& answer, nlohmann::json item, const ReplayResult& r);

struct TrackingApiHooks {
  std::function<Status(const http::Request&)> authorize;
  std::function<std::shared_ptr<const schema::TrackingPlan>()> plan;
  // Runs one row through ingest with the current plan and appends what is accepted to the
  // WAL (blocking). Null: replay is unavailable.
  std::function<Result<ReplayResult>(const QuarantineRow&)> resubmit;
  // The warehouse engine ("duckdb", "clickhouse"): how the statistics' SQL is spelled.
  std::string engine = "duckdb";
};

// How the tracking statistics are spelled in one warehouse engine's SQL (one implementation
// per engine in tracking_api.cc, chosen by make_tracking_sql). Fragments take quoted column
// names the API built from the plan; values are bound as parameters, never spliced.
class TrackingSql {
 public:
  virtual ~TrackingSql() = default;
  // A statement answering one text column "table.column" for every column of events and users.
  virtual std::string columns() const = 0;
  // A statement answering per track event: event, events since the start of today (UTC),
  // events in the last 7 days, the last received_at as µs since the epoch.
  virtual std::string event_volume() const = 0;
  // The select-list items of one property's statistics over the events of the last 7 days:
  // rows with a value in `column`, rows whose `properties` hold `name` with a non-null value
  // but `column` none (refused by the plan), and (when `distinct`) an approximate count of
  // distinct values, else NULL. `list`: the column holds a string[] property.
  virtual std::string property_counts(const std::string& column, const std::string& name, bool list,
                                      bool distinct) const = 0;
  // The current rows of `users` in FROM.
  virtual std::string users() const = 0;
  // The condition "`column` has a value" (`list`: a string[] column).
  virtual std::string present(const std::string& column, bool list) const = 0;
  // An aggregate: the rows where `column` has a value.
  virtual std::string count_present(const std::string& column, bool list) const = 0;
  // `name` quoted as an identifier.
  virtual std::string quote(const std::string& name) const = 0;
};

// The spelling of `engine`; nullptr when it has none.
std::unique_ptr<TrackingSql> make_tracking_sql(const std::string& engine);

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
  std::unique_ptr<TrackingSql> sql_;  // nullptr: an engine without one (statistics refused)
};

}  // namespace basalt::api
