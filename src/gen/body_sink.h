#pragma once
// Where `basalt gen` sends bodies: a file, or an HTTP ingest endpoint. Private to gen/.

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace basalt::gen {

class BodySink {
 public:
  virtual ~BodySink() = default;
  // `single_event`: the body is one event object (for /v1/track) rather than a batch.
  virtual Status send(std::string_view body, bool single_event) = 0;
  virtual Status finish() = 0;
};

// One body per line; `path` "-" is stdout.
Result<std::unique_ptr<BodySink>> open_file_sink(const std::string& path);

// POSTs to base_url + "/v1/batch" or "/v1/track" with HTTP Basic auth (the write key as the
// user, no password). Errors from the server map to the status code of its HTTP status.
Result<std::unique_ptr<BodySink>> open_http_sink(const std::string& base_url,
                                                 const std::string& write_key);

}  // namespace basalt::gen
