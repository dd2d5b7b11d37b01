#include <fmt/format.h>

#include <chrono>
#include <utility>

#include "gen/body_sink.h"
#include "http/client.h"

namespace basalt::gen {

namespace {

StatusCode code_of_http_status(int status) {
  switch (status) {
    case 400: return StatusCode::kInvalidArgument;
    case 401: return StatusCode::kUnauthenticated;
    case 403: return StatusCode::kPermissionDenied;
    case 404: return StatusCode::kNotFound;
    case 413: return StatusCode::kPayloadTooLarge;
    case 429: return StatusCode::kResourceExhausted;
    case 503: return StatusCode::kUnavailable;
    case 504: return StatusCode::kDeadlineExceeded;
    default: return status >= 500 ? StatusCode::kUnavailable : StatusCode::kInternal;
  }
}

class HttpSink final : public BodySink {
 public:
  HttpSink(std::unique_ptr<http::Client> client, std::string base_url, std::string prefix,
           std::string authorization)
      : client_(std::move(client)),
        base_url_(std::move(base_url)),
        prefix_(std::move(prefix)),
        authorization_(std::move(authorization)) {}

  Status send(std::string_view body, bool single_event) override {
    http::ClientRequest request;
    request.method = "POST";
    request.target = prefix_ + (single_event ? "/v1/track" : "/v1/batch");
    request.headers = {{"Content-Type", "application/json"}, {"Authorization", authorization_}};
    request.body = std::string(body);
    auto response = client_->send(request);
    if (!response) return response.status();
    if (response->status / 100 != 2) {
      // One line: the answer's start, whitespace folded.
      std::string excerpt;
      for (char c : std::string_view(response->body).substr(0, 200)) {
        const bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
        if (!space) excerpt.push_back(c);
        else if (!excerpt.empty() && excerpt.back() != ' ') excerpt.push_back(' ');
      }
      return {code_of_http_status(response->status),
              fmt::format("POST {}{} answered {}: {}", base_url_, request.target,
                          response->status, excerpt)};
    }
    return Status::ok();
  }
  Status finish() override { return Status::ok(); }

 private:
  std::unique_ptr<http::Client> client_;
  std::string base_url_;
  std::string prefix_;
  std::string authorization_;
};

}  // namespace

Result<std::unique_ptr<BodySink>> open_http_sink(const std::string& url,
                                                 const std::string& write_key) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0 || url.size() == kScheme.size()) {
    return invalid_argument(fmt::format("--post wants http://host:port[/prefix], not '{}'", url));
  }
  const size_t slash = url.find('/', kScheme.size());
  std::string base = slash == std::string::npos ? url : url.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : url.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  auto client = http::Client::connect_to(base, std::chrono::seconds(30));
  if (!client) return client.status();
  return std::unique_ptr<BodySink>(std::make_unique<HttpSink>(
      std::move(*client), std::move(base), std::move(prefix), http::basic_authorization(write_key)));
}

}  // namespace basalt::gen
