#pragma once
// An HTTP/1.1 server (Boost.Beast over Asio, C++20 coroutines): keep-alive, one coroutine per
// connection, one io_context per I/O thread (connections are spread round-robin and never
// change thread, so a connection's state needs no lock). Bodies are decoded (gzip, deflate)
// before the handler runs; limits, parse errors, unknown routes and CORS are answered here
// with {"success":false,"error":"…"} bodies.
//
// Thread safety: start() and stop() from one controlling thread (never from an I/O thread).
// Handlers run on I/O threads, several at once.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/router.h"

namespace basalt::http {

// What the server tells the observer after each response (on the I/O thread, so keep it quick).
struct RequestLog {
  std::string_view method;
  std::string_view path;
  std::string_view route;  // the matched pattern, or "unmatched"
  int status = 0;
  double seconds = 0;      // from the end of the header read to the response written
  size_t body_bytes = 0;   // decoded request body
};

struct ServerOptions {
  std::string bind = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port; see Server::port()
  size_t threads = 1;  // I/O threads; 0: one per usable CPU, at least two
  size_t max_body_bytes = 1 << 20;  // raw and after decompression
  size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds read_timeout{10'000};   // to read one request or write a response
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive wait for the next request
  // Origins allowed for cross-origin requests; "*" allows any. Empty: no CORS headers.
  std::vector<std::string> cors_origins;
  // Spare capacity given to each request body before it is read, for handlers whose parser
  // reads past the end (simdjson's padding), so the body is never copied to make room.
  size_t body_padding = 0;
  std::function<void(const RequestLog&)> observer;
  std::string name = "http";  // for logs
};

class Server {
 public:
  Server(ServerOptions options, Router router);
  ~Server();  // stop() with the default grace
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the I/O threads. kUnavailable when the address cannot be bound.
  Status start();
  // The bound port (after start()).
  uint16_t port() const;
  // Stops accepting, closes idle keep-alive connections, lets in-flight requests finish for up
  // to `grace`, then closes what is left and joins the threads. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::http
