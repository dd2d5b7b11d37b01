#pragma once
// A small blocking HTTP/1.1 client (Boost.Beast) for the CLI, the generator and tests.
// One Client keeps one connection alive and reconnects when the server closed it.
// Not thread-safe: one Client per thread.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace basalt::http {

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first header with this name (case-insensitive), or "".
  std::string header(const std::string& name) const;
};

struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";  // path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// "Basic base64(user:password)", the Authorization header value of HTTP Basic auth (a write key
// is sent as the user with an empty password).
std::string basic_authorization(std::string_view user, std::string_view password = "");

class Client {
 public:
  // `base_url` is http://host:port (no TLS).
  static Result<std::unique_ptr<Client>> connect_to(const std::string& base_url,
                                                    std::chrono::milliseconds timeout);
  virtual ~Client() = default;
  // Errors: kUnavailable naming the URL when the server cannot be reached; kDeadlineExceeded
  // past the timeout. An HTTP error status is a successful call with that status.
  virtual Result<ClientResponse> send(const ClientRequest& request) = 0;
};

}  // namespace basalt::http
