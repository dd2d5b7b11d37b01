#pragma once
// The Segment-compatible ingest API: /v1/{track,identify,page,screen,group,alias,batch,import},
// /v1/validate (the whole pipeline on a batch, writing nothing), /healthz, /readyz and
// /metrics, registered on an http::Router. A request is answered only
// once all its records (events and quarantined ones) are durable in the WAL, with one append.
// The wire contract is in docs/ingest_api.md.
//
// Thread safety: handlers run on any I/O thread at once; the service is immutable after
// construction apart from lock-free metrics. It must outlive the Server it is registered on.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collect/ingest_parser.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"
#include "http/router.h"
#include "http/server.h"
#include "schema/compiled_plan.h"
#include "wal/wal.h"

namespace basalt::collect {

class IngestService {
 public:
  // `readiness` is asked by /readyz (ok: ready); it may be called from any I/O thread.
  IngestService(const IngestConfig& config, const std::vector<SourceConfig>& sources, wal::Wal& wal,
                const Clock& clock, MetricsRegistry& metrics, std::function<Status()> readiness);
  ~IngestService();

  void register_routes(http::Router& router);

  // The tracking plan enforced from the next request on (null: none, nothing is checked).
  // Requests already running keep the plan they started with. Any thread.
  void set_plan(std::shared_ptr<const schema::CompiledPlan> plan);
  // The enrichment stages (transforms, user agents, GeoIP); borrowed, they must outlive the
  // service. Call before serving.
  void set_enrichment(const Enrichment& enrichment);
  // `detail` returns a JSON value added to every /readyz answer as "detail" (e.g. the lag of
  // each stream sink, which never makes the node unready by itself). Call before serving.
  void set_readiness_detail(std::function<std::string()> detail);

  // Re-submits one quarantined event (`raw` as stored; `call_type` "" for a batch item, else
  // the /v1/<type> it came on) through the current pipeline, as sent by `source` at
  // `received_at_us`. When nothing of it is refused its events are appended to the WAL and
  // the call returns once they are durable; otherwise nothing is written and the reason is
  // returned. An event without a messageId gets "replay-<quarantine_id>" (the k-th further
  // event a transform fans it out into, "replay-<quarantine_id>-<k>"), so replaying twice
  // stores each once. Blocking; any thread but an I/O thread of this service.
  struct Resubmitted {
    bool accepted = false;
    size_t events = 0;
    std::string reason;
  };
  Result<Resubmitted> resubmit(const std::string& source, int64_t received_at_us,
                               const std::string& raw, const std::string& call_type,
                               const std::string& ip, const std::string& quarantine_id);

  // Options for the ingest server: bind, port, threads and body limit from the config, CORS
  // open to any origin, and an observer that feeds basalt_http_* metrics.
  http::ServerOptions server_options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::collect
