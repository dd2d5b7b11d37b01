// Built when the HTTP client library (basalt_http) is not part of the build: --out still works.
#include "gen/body_sink.h"

namespace basalt::gen {

Result<std::unique_ptr<BodySink>> open_http_sink(const std::string&, const std::string&) {
  return failed_precondition("this build of basalt has no HTTP client: use --out");
}

}  // namespace basalt::gen
