#pragma once
// The configured stream sinks of a process: builds each Sink from its SinkConfig (the one
// place sink types are listed), runs a SinkRunner per sink, and reports them for /readyz,
// /metrics and the start-up lines of `basalt up` and `basalt collect`.
//
// Thread safety: start() and stop() from the owning thread; the rest from any thread.

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"
#include "stream/sink.h"
#include "stream/sink_runner.h"
#include "wal/wal.h"

namespace basalt::stream {

// A Sink for `config` (type redis or kafka); kInvalidArgument for a bad URL or property.
Result<std::unique_ptr<Sink>> make_sink(const SinkConfig& config);

class StreamSinks {
 public:
  // Builds every sink of `sinks` over `wal` (whose configuration `wal_config` gives the disk
  // budget). Borrows wal, clock and metrics.
  static Result<std::unique_ptr<StreamSinks>> create(const std::vector<SinkConfig>& sinks,
                                                     const WalConfig& wal_config, wal::Wal& wal,
                                                     const Clock& clock, MetricsRegistry& metrics);
  ~StreamSinks();

  Status start();
  void stop();  // idempotent; the destructor calls it

  bool empty() const { return runners_.empty(); }
  // "name: description" per sink.
  std::vector<std::string> descriptions() const;
  // A JSON array with each sink's name, lag, counters, connection state and last error.
  std::string detail_json() const;
  const std::vector<std::unique_ptr<SinkRunner>>& runners() const { return runners_; }

 private:
  StreamSinks() = default;
  std::vector<std::unique_ptr<SinkRunner>> runners_;
};

}  // namespace basalt::stream
