#pragma once
// Maps (method, path) to a handler. Patterns are exact ("/v1/track"), with parameter segments
// ("/api/v1/query/{id}") or with a trailing "*" matching any rest ("/static/*"). Exact patterns
// win over parameter patterns, which are tried in the order they were added; prefix patterns
// come last, the longest prefix first (so "/*" is a fallback whatever the order of adding).
//
// Thread safety: add routes before the Router is handed to a Server; matching is then read-only
// and safe from any thread.

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/request.h"

namespace basalt::http {

// A handler that answers at once on the I/O thread. It must not block.
using SyncHandler = std::function<Response(const Request&)>;
// A coroutine handler, resumed on the connection's I/O thread; it may co_await I/O, the WAL or
// BlockingPool::run for blocking work.
using AsyncHandler = std::function<boost::asio::awaitable<Response>(Request&)>;

struct Route {
  std::string method;   // "GET", "POST", …
  std::string pattern;  // as given; also the metrics label
  SyncHandler sync;
  AsyncHandler async;
};

class Router {
 public:
  // REQUIRES: pattern starts with '/'; one handler per (method, pattern).
  void add(std::string method, std::string pattern, SyncHandler handler);
  void add_async(std::string method, std::string pattern, AsyncHandler handler);

  struct Match {
    const Route* route = nullptr;  // null: see status
    int status = 200;              // 404: no route has this path; 405: not with this method
    std::string allow;             // for 405 and preflights: "GET, POST"
    NameValues params;
  };
  Match match(std::string_view method, std::string_view path) const;

 private:
  struct Pattern {
    std::vector<std::string> segments;  // "{x}" parameters; last may be "*"
    std::vector<const Route*> routes;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  void add_route(std::unique_ptr<Route> route);
  static Match choose(const std::vector<const Route*>& routes, std::string_view method);

  std::vector<std::unique_ptr<Route>> routes_;
  std::unordered_map<std::string, std::vector<const Route*>, StringHash, std::equal_to<>> exact_;
  std::vector<Pattern> patterns_;
};

}  // namespace basalt::http
