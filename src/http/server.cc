#include "http/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <pthread.h>

#include <charconv>
#include <list>
#include <optional>
#include <thread>

#include "common/thread_priority.h"
#include "http/content_coding.h"

namespace basalt::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void append_number(size_t n, std::string& out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

void append_header(std::string_view name, std::string_view value, std::string& out) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

// A connection as the stop() pass and the deadline sweep see it. Lives in its coroutine's
// frame; only touched on its worker's thread.
struct Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)) {}
  // Ends the socket's operations in progress with operation_aborted.
  void cancel() {
    boost::system::error_code ignored;
    (void)socket.cancel(ignored);
  }
  tcp::socket socket;
  // The socket's operations in progress are cancelled once this passes (Deadline below).
  Clock::time_point deadline = Clock::time_point::max();
  bool timed_out = false;  // the sweep cancelled them
  bool idle = true;        // waiting for the next request's header
};

// Bounds the socket operations awaited while it lives: the worker's sweep cancels them once
// `timeout` has passed, and then `check` turns their operation_aborted into Beast's timeout.
// One time stamp per operation instead of a timer armed and cancelled for each: the timers
// were a tenth of a small request's instructions on the I/O thread.
class Deadline {
 public:
  Deadline(Connection& conn, std::chrono::milliseconds timeout) : conn_(conn) {
    conn_.deadline = Clock::now() + timeout;
    conn_.timed_out = false;
  }
  ~Deadline() { conn_.deadline = Clock::time_point::max(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  boost::system::error_code check(boost::system::error_code ec) const {
    if (ec == asio::error::operation_aborted && conn_.timed_out) return beast::error::timeout;
    return ec;
  }

 private:
  Connection& conn_;
};

struct Worker {
  std::list<Connection*> connections;  // only touched on ctx's thread; outlives ctx's frames
  asio::io_context ctx{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::thread thread;
};

// How often a worker looks for connections past their deadline: a tenth of the shortest
// timeout, within 10..250 ms, so a timeout fires at most that late.
std::chrono::milliseconds sweep_period(const ServerOptions& o) {
  auto shortest = std::min(o.read_timeout, o.idle_timeout);
  return std::clamp<std::chrono::milliseconds>(shortest / 10, std::chrono::milliseconds(10),
                                               std::chrono::milliseconds(250));
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions o, Router r) : options(std::move(o)), router(std::move(r)) {}

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> sweep(Worker& worker);
  asio::awaitable<void> serve(Worker& worker, tcp::socket socket);
  asio::awaitable<Response> handle(Request& request, std::string_view& route_label);
  asio::awaitable<void> answer_and_close(Connection& conn, const Response& response,
                                         std::string_view origin, std::string& out);
  void add_cors(std::string_view origin, std::string& out) const;
  void serialize_head(const Response& r, std::string_view origin, bool keep_alive,
                      std::string& out) const;

  ServerOptions options;
  Router router;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<tcp::acceptor> acceptor;  // on workers[0]
  uint16_t port = 0;
  size_t next_worker = 0;  // accept loop only
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> live_connections{0};
  bool started = false;
  bool stopped = false;
};

Server::Server(ServerOptions options, Router router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}

Server::~Server() { stop(); }

uint16_t Server::port() const { return impl_->port; }

Status Server::start() {
  Impl& s = *impl_;
  if (s.started) return failed_precondition("server already started");
  // At least two by default: on a single usable CPU a second thread lets one request's parse
  // of a large body share the core with the others (bench/README.md, the threads A/B).
  size_t threads = s.options.threads ? s.options.threads : std::max<size_t>(2, usable_cpus());
  for (size_t i = 0; i < threads; ++i) s.workers.push_back(std::make_unique<Worker>());

  boost::system::error_code ec;
  auto address = asio::ip::make_address(s.options.bind, ec);
  if (ec) return invalid_argument("bad bind address \"" + s.options.bind + "\": " + ec.message());
  tcp::endpoint endpoint(address, s.options.port);
  s.acceptor = std::make_unique<tcp::acceptor>(s.workers[0]->ctx);
  std::string where = s.options.bind + ":" + std::to_string(s.options.port);
  if (s.acceptor->open(endpoint.protocol(), ec); ec)
    return unavailable("cannot open socket for " + where + ": " + ec.message());
  (void)s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (s.acceptor->bind(endpoint, ec); ec)
    return unavailable("cannot bind " + where + ": " + ec.message());
  if (s.acceptor->listen(asio::socket_base::max_listen_connections, ec); ec)
    return unavailable("cannot listen on " + where + ": " + ec.message());
  s.port = s.acceptor->local_endpoint().port();

  asio::co_spawn(s.workers[0]->ctx, s.accept_loop(), asio::detached);
  for (auto& w : s.workers) {
    asio::co_spawn(w->ctx, s.sweep(*w), asio::detached);
    w->guard.emplace(w->ctx.get_executor());
    // "<name>-io" (at most 15 characters), for top and perf.
    std::string thread_name = s.options.name.substr(0, 12) + "-io";
    w->thread = std::thread([ctx = &w->ctx, thread_name] {
      pthread_setname_np(pthread_self(), thread_name.c_str());
      ctx->run();
    });
  }
  s.started = true;
  spdlog::info("{}: listening on {}:{} with {} I/O thread(s)", s.options.name, s.options.bind,
               s.port, threads);
  return Status::ok();
}

void Server::stop(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.stopping.store(true);
  asio::post(s.workers[0]->ctx, [&s] {
    boost::system::error_code ec;
    (void)s.acceptor->close(ec);
  });
  auto close_connections = [&s](bool only_idle) {
    for (auto& w : s.workers) {
      asio::post(w->ctx, [w = w.get(), only_idle] {
        for (Connection* c : w->connections)
          if (!only_idle || c->idle) c->cancel();
      });
    }
  };
  close_connections(true);
  auto wait_until = [&s](Clock::time_point deadline) {
    while (s.live_connections.load() > 0 && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  };
  wait_until(Clock::now() + grace);
  if (s.live_connections.load() > 0) {
    spdlog::warn("{}: {} connection(s) still busy after the grace period; closing them",
                 s.options.name, s.live_connections.load());
    close_connections(false);
    wait_until(Clock::now() + std::chrono::milliseconds(500));
  }
  for (auto& w : s.workers) {
    w->guard.reset();
    w->ctx.stop();
  }
  for (auto& w : s.workers)
    if (w->thread.joinable()) w->thread.join();
  s.acceptor.reset();
  spdlog::info("{}: stopped", s.options.name);
}

asio::awaitable<void> Server::Impl::accept_loop() {
  asio::steady_timer backoff(workers[0]->ctx);
  while (!stopping.load(std::memory_order_relaxed)) {
    Worker& w = *workers[next_worker++ % workers.size()];
    auto [ec, socket] = co_await acceptor->async_accept(w.ctx, kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping.load()) break;
      spdlog::warn("{}: accept failed: {}", options.name, ec.message());
      backoff.expires_after(std::chrono::milliseconds(10));  // e.g. out of file descriptors
      co_await backoff.async_wait(kTuple);
      continue;
    }
    asio::co_spawn(w.ctx, serve(w, tcp::socket(std::move(socket))), asio::detached);
  }
}

asio::awaitable<void> Server::Impl::sweep(Worker& worker) {
  asio::steady_timer timer(worker.ctx);
  const auto period = sweep_period(options);
  while (true) {
    timer.expires_after(period);
    auto [ec] = co_await timer.async_wait(kTuple);
    if (ec) break;
    const auto now = Clock::now();
    for (Connection* c : worker.connections) {
      if (c->deadline > now || c->timed_out) continue;
      c->timed_out = true;
      c->cancel();
    }
  }
}

void Server::Impl::add_cors(std::string_view origin, std::string& out) const {
  if (origin.empty() || options.cors_origins.empty()) return;
  for (const auto& allowed : options.cors_origins) {
    if (allowed == "*") {
      append_header("Access-Control-Allow-Origin", "*", out);
      return;
    }
    if (allowed == origin) {
      append_header("Access-Control-Allow-Origin", origin, out);
      append_header("Vary", "Origin", out);
      return;
    }
  }
}

void Server::Impl::serialize_head(const Response& r, std::string_view origin, bool keep_alive,
                                  std::string& out) const {
  out.clear();
  out.append("HTTP/1.1 ");
  append_number(static_cast<size_t>(r.status), out);
  out.push_back(' ');
  auto reason = bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(r.status)));
  out.append(reason.data(), reason.size());
  out.append("\r\n");
  if (!r.content_type.empty()) append_header("Content-Type", r.content_type, out);
  out.append("Content-Length: ");
  append_number(r.body.size(), out);
  out.append("\r\n");
  if (!keep_alive) out.append("Connection: close\r\n");
  add_cors(origin, out);
  for (const auto& [name, value] : r.headers) append_header(name, value, out);
  out.append("\r\n");
}

asio::awaitable<void> Server::Impl::answer_and_close(Connection& conn, const Response& response,
                                                     std::string_view origin, std::string& out) {
  serialize_head(response, origin, false, out);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(out), asio::buffer(response.body)};
  {
    Deadline deadline(conn, options.read_timeout);
    auto [ec, n] = co_await asio::async_write(conn.socket, buffers, kTuple);
    if (ec) co_return;
  }
  // Half-close, then drain what the client still sends for a moment, so the unread request
  // body does not turn our close into a reset that destroys the answer on the way.
  boost::system::error_code ignored;
  (void)conn.socket.shutdown(tcp::socket::shutdown_send, ignored);
  std::array<char, 8192> scratch;
  Deadline deadline(conn, std::chrono::milliseconds(500));
  size_t drained = 0;
  while (drained < (8u << 20)) {
    auto [rec, got] = co_await conn.socket.async_read_some(asio::buffer(scratch), kTuple);
    if (rec) break;
    drained += got;
  }
}

asio::awaitable<Response> Server::Impl::handle(Request& request, std::string_view& route_label) {
  try {
    std::string_view origin = request.header("Origin");
    if (request.verb() == bhttp::verb::options && !origin.empty()) {
      std::string_view wanted = request.header("Access-Control-Request-Method");
      if (!wanted.empty()) {
        auto m = router.match(wanted, request.path());
        if (m.status == 404)
          co_return Response::error(404, "no route for " + std::string(request.path()));
        Response r;
        r.status = 204;
        r.content_type.clear();
        if (!options.cors_origins.empty()) {
          r.headers.emplace_back("Access-Control-Allow-Methods", m.allow + ", OPTIONS");
          std::string_view asked = request.header("Access-Control-Request-Headers");
          r.headers.emplace_back(
              "Access-Control-Allow-Headers",
              asked.empty() ? std::string("Content-Type, Authorization, Content-Encoding")
                            : std::string(asked));
          r.headers.emplace_back("Access-Control-Max-Age", "86400");
        }
        route_label = "preflight";
        co_return r;
      }
    }
    auto m = router.match(request.method(), request.path());
    if (m.status == 404)
      co_return Response::error(404, "no route for " + std::string(request.path()));
    if (m.status == 405) {
      Response r = Response::error(
          405, "method " + std::string(request.method()) + " not allowed on " +
                   std::string(request.path()) + " (allowed: " + m.allow + ")");
      r.headers.emplace_back("Allow", std::move(m.allow));
      co_return r;
    }
    route_label = m.route->pattern;
    std::string_view encoding = request.header("Content-Encoding");
    if (!encoding.empty() && !iequals(encoding, "identity")) {
      auto decoded = decode_body(encoding, request.body(), options.max_body_bytes);
      if (!decoded.is_ok()) {
        int code = decoded.status().code() == StatusCode::kFailedPrecondition
                       ? 415
                       : http_status_of(decoded.status().code());
        co_return Response::error(code, decoded.status().message());
      }
      request.body() = std::move(*decoded);
    }
    if (!m.params.empty()) request.set_path_params(std::move(m.params));
    if (m.route->sync) co_return m.route->sync(request);
    co_return co_await m.route->async(request);
  } catch (const std::exception& e) {
    spdlog::error("{}: handler for {} {} failed: {}", options.name, request.method(),
                  request.path(), e.what());
    co_return Response::error(500, "internal error");
  }
}

asio::awaitable<void> Server::Impl::serve(Worker& worker, tcp::socket socket) {
  live_connections.fetch_add(1);
  Connection conn(std::move(socket));
  auto self = worker.connections.insert(worker.connections.end(), &conn);
  struct Unregister {
    Impl& impl;
    Worker& worker;
    std::list<Connection*>::iterator it;
    ~Unregister() {
      worker.connections.erase(it);
      impl.live_connections.fetch_sub(1);
    }
  } unregister{*this, worker, self};

  boost::system::error_code ec;
  auto endpoint = conn.socket.remote_endpoint(ec);
  std::string remote;
  if (!ec) {
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped())
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    remote = address.to_string();
  }
  (void)conn.socket.set_option(tcp::no_delay(true), ec);

  beast::flat_buffer buffer;
  std::string head;
  bool first = true;
  while (true) {
    conn.idle = true;
    if (stopping.load(std::memory_order_relaxed)) break;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
    parser.body_limit(options.max_body_bytes);
    boost::system::error_code hec;
    {
      Deadline deadline(conn, first ? options.read_timeout : options.idle_timeout);
      auto [rec, n] = co_await bhttp::async_read_header(conn.socket, buffer, parser, kTuple);
      hec = deadline.check(rec);
    }
    first = false;
    conn.idle = false;
    std::string_view origin;
    if (parser.is_header_done()) origin = parser.get()[bhttp::field::origin];
    if (hec) {
      if (hec == bhttp::error::body_limit) {
        co_await answer_and_close(
            conn,
            Response::error(413, "request body exceeds the limit of " +
                                     std::to_string(options.max_body_bytes) + " bytes"),
            origin, head);
      } else if (hec == bhttp::error::header_limit) {
        co_await answer_and_close(conn, Response::error(431, "request header fields too large"),
                                  origin, head);
      } else if (hec != bhttp::error::end_of_stream && hec != asio::error::operation_aborted &&
                 hec != beast::error::timeout && hec != asio::error::eof &&
                 hec != asio::error::connection_reset) {
        co_await answer_and_close(
            conn, Response::error(400, "malformed request: " + hec.message()), origin, head);
      }
      break;
    }
    auto started = Clock::now();
    if (!parser.is_done()) {
      if (iequals(parser.get()[bhttp::field::expect], "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        Deadline deadline(conn, options.read_timeout);
        auto [cec, cn] = co_await asio::async_write(
            conn.socket, asio::buffer(kContinue.data(), kContinue.size()), kTuple);
        if (cec) break;
      }
      if (auto length = parser.content_length(); length && *length <= options.max_body_bytes) {
        // The body reader reserves the length; reserving more first is kept (never shrunk).
        parser.get().body().reserve(static_cast<size_t>(*length) + options.body_padding);
      }
      boost::system::error_code bec;
      {
        Deadline deadline(conn, options.read_timeout);
        auto [rec, n] = co_await bhttp::async_read(conn.socket, buffer, parser, kTuple);
        bec = deadline.check(rec);
      }
      if (bec) {
        if (bec == bhttp::error::body_limit) {
          co_await answer_and_close(
              conn,
              Response::error(413, "request body exceeds the limit of " +
                                       std::to_string(options.max_body_bytes) + " bytes"),
              origin, head);
        } else if (bec == beast::error::timeout) {
          co_await answer_and_close(conn, Response::error(408, "request body not received in time"),
                                    origin, head);
        } else if (bec != asio::error::operation_aborted && bec != asio::error::eof &&
                   bec != bhttp::error::partial_message && bec != asio::error::connection_reset) {
          co_await answer_and_close(
              conn, Response::error(400, "malformed request body: " + bec.message()), origin,
              head);
        }
        break;
      }
    }

    Request request(parser.release(), remote);
    std::string_view route_label = "unmatched";
    Response response = co_await handle(request, route_label);
    bool keep_alive = request.keep_alive() && !stopping.load(std::memory_order_relaxed);
    serialize_head(response, request.header("Origin"), keep_alive, head);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(response.body)};
    boost::system::error_code wec;
    {
      Deadline deadline(conn, options.read_timeout);
      auto [rec, n] = co_await asio::async_write(conn.socket, buffers, kTuple);
      wec = rec;
    }

    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (options.observer) {
      options.observer(RequestLog{request.method(), request.path(), route_label, response.status,
                                  seconds, request.body().size()});
    }
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("{}: {} \"{} {}\" {} {}B {:.3f}ms", options.name, remote, request.method(),
                    request.target(), response.status, response.body.size(), seconds * 1e3);
    }
    if (wec || !keep_alive) break;
    if (buffer.capacity() > (1u << 20)) buffer.shrink_to_fit();
  }
  (void)conn.socket.shutdown(tcp::socket::shutdown_both, ec);
  (void)conn.socket.close(ec);
}

}  // namespace basalt::http
