#include "http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <thread>

#include "http/blocking_pool.h"
#include "http/client.h"
#include "http/content_coding.h"

namespace basalt::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

Router test_router() {
  Router r;
  r.add("GET", "/hello", [](const Request& req) {
    return Response::text(200, "hello " + std::string(req.query("name")));
  });
  r.add("POST", "/echo", [](const Request& req) {
    Response resp = Response::text(200, req.body());
    resp.headers.emplace_back("X-Remote", req.remote_address());
    return resp;
  });
  r.add("GET", "/items/{id}", [](const Request& req) {
    return Response::json(200, "{\"id\":\"" + std::string(req.path_param("id")) + "\"}");
  });
  r.add_async("GET", "/slow", [](Request&) -> asio::awaitable<Response> {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(300ms);
    co_await timer.async_wait(asio::use_awaitable);
    co_return Response::text(200, "slow done");
  });
  return r;
}

struct TestServer {
  explicit TestServer(ServerOptions o = {}, Router r = test_router())
      : server(std::move(o), std::move(r)) {
    Status s = server.start();
    EXPECT_TRUE(s.is_ok()) << s.to_string();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server.port()); }
  std::unique_ptr<Client> client() const {
    auto c = Client::connect_to(url(), 5s);
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    return std::move(*c);
  }
  Server server;
};

ClientResponse send(Client& c, std::string method, std::string target, std::string body = {},
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  auto r = c.send({std::move(method), std::move(target), std::move(headers), std::move(body)});
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : ClientResponse{};
}

TEST(ServerTest, RoutesUnknownPathsAndWrongMethods) {
  TestServer s;
  EXPECT_NE(s.server.port(), 0);
  auto c = s.client();
  auto r = send(*c, "GET", "/hello?name=Ada%20L");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello Ada L");
  r = send(*c, "GET", "/items/42");
  EXPECT_EQ(r.body, R"({"id":"42"})");
  r = send(*c, "GET", "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"success":false,"error":"no route for /nope"})");
  r = send(*c, "DELETE", "/hello");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET");
  EXPECT_NE(r.body.find("\"success\":false"), std::string::npos);
  r = send(*c, "POST", "/echo", "abc");
  EXPECT_EQ(r.body, "abc");
  EXPECT_EQ(r.header("X-Remote"), "127.0.0.1");
}

TEST(ServerTest, BodyOverTheLimitIs413BeforeReadingIt) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  TestServer s(o);
  auto c = s.client();
  auto r = send(*c, "POST", "/echo", std::string(1001, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, R"({"success":false,"error":"request body exceeds the limit of 1000 bytes"})");
  EXPECT_EQ(r.header("Connection"), "close");
  // The client reconnects and the server still serves.
  r = send(*c, "POST", "/echo", std::string(1000, 'y'));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 1000u);
}

TEST(ServerTest, LargeBodyBeyondLimitIsAnsweredWithoutReadingIt) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  TestServer s(o);
  // Announce 50 MB but send only the header: the answer must come at once.
  asio::io_context ctx;
  asio::ip::tcp::socket sock(ctx);
  sock.connect({asio::ip::make_address("127.0.0.1"), s.server.port()});
  std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n";
  asio::write(sock, asio::buffer(req));
  std::string got;
  boost::system::error_code ec;
  asio::read(sock, asio::dynamic_buffer(got), ec);  // until the server closes
  EXPECT_EQ(got.substr(0, 12), "HTTP/1.1 413");
}

// Sends `bytes` on a new connection and reads until the server closes it; `elapsed` is how
// long that took.
std::string send_raw_until_closed(uint16_t port, const std::string& bytes,
                                  std::chrono::milliseconds& elapsed) {
  asio::io_context ctx;
  asio::ip::tcp::socket sock(ctx);
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  auto t0 = std::chrono::steady_clock::now();
  asio::write(sock, asio::buffer(bytes));
  std::string got;
  boost::system::error_code ec;
  asio::read(sock, asio::dynamic_buffer(got), ec);
  elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0);
  return got;
}

TEST(ServerTest, ABodyThatStopsArrivingIs408AfterTheReadTimeout) {
  ServerOptions o;
  o.read_timeout = 300ms;
  TestServer s(o);
  std::chrono::milliseconds elapsed{};
  std::string got = send_raw_until_closed(
      s.server.port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
      elapsed);
  EXPECT_EQ(got.substr(0, 12), "HTTP/1.1 408") << got;
  EXPECT_NE(got.find("request body not received in time"), std::string::npos) << got;
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 5s);
  // The other connections are served as before.
  auto c = s.client();
  EXPECT_EQ(send(*c, "GET", "/hello?name=still").body, "hello still");
}

TEST(ServerTest, AHeaderThatNeverEndsIsClosedAfterTheReadTimeout) {
  ServerOptions o;
  o.read_timeout = 300ms;
  TestServer s(o);
  std::chrono::milliseconds elapsed{};
  std::string got =
      send_raw_until_closed(s.server.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n", elapsed);
  EXPECT_EQ(got, "");
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 5s);
}

TEST(ServerTest, AHandlerSlowerThanTheReadTimeoutStillAnswers) {
  // The read timeout bounds reading and writing, not the handler's own time (/slow: 300 ms).
  ServerOptions o;
  o.read_timeout = 100ms;
  TestServer s(o);
  auto c = s.client();
  EXPECT_EQ(send(*c, "GET", "/slow").body, "slow done");
}

TEST(ServerTest, MalformedRequestLineIs400) {
  TestServer s;
  asio::io_context ctx;
  asio::ip::tcp::socket sock(ctx);
  sock.connect({asio::ip::make_address("127.0.0.1"), s.server.port()});
  asio::write(sock, asio::buffer(std::string("GARBAGE\x01 / HTTP/9\r\n\r\n")));
  std::string got;
  boost::system::error_code ec;
  asio::read(sock, asio::dynamic_buffer(got), ec);
  EXPECT_EQ(got.substr(0, 12), "HTTP/1.1 400");
  EXPECT_NE(got.find("\"success\":false"), std::string::npos);
}

TEST(ServerTest, GzipBodiesGoodMalformedBombAndUnknownEncoding) {
  ServerOptions o;
  o.max_body_bytes = 100000;
  TestServer s(o);
  auto c = s.client();
  std::string data(50000, 'a');
  auto r = send(*c, "POST", "/echo", gzip_compress(data), {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, data);
  r = send(*c, "POST", "/echo", "not gzip at all", {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("malformed compressed body"), std::string::npos);
  std::string bomb = gzip_compress(std::string(20 << 20, '\0'));
  ASSERT_LT(bomb.size(), o.max_body_bytes);
  r = send(*c, "POST", "/echo", bomb, {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("100000"), std::string::npos);
  r = send(*c, "POST", "/echo", "x", {{"Content-Encoding", "br"}});
  EXPECT_EQ(r.status, 415);
  EXPECT_NE(r.body.find("unsupported Content-Encoding"), std::string::npos);
}

TEST(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  TestServer s;
  asio::io_context ctx;
  asio::ip::tcp::socket sock(ctx);
  sock.connect({asio::ip::make_address("127.0.0.1"), s.server.port()});
  std::string buf;
  for (int i = 0; i < 3; ++i) {
    std::string body(1, 'k');
    body.push_back(static_cast<char>('0' + i));
    std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n";
    req += body;
    asio::write(sock, asio::buffer(req));
    size_t n = asio::read_until(sock, asio::dynamic_buffer(buf), "\r\n\r\n");
    std::string head = buf.substr(0, n);
    buf.erase(0, n);
    EXPECT_EQ(head.substr(0, 15), "HTTP/1.1 200 OK");
    EXPECT_EQ(head.find("Connection: close"), std::string::npos);
    if (buf.size() < 2) asio::read(sock, asio::dynamic_buffer(buf), asio::transfer_exactly(2 - buf.size()));
    EXPECT_EQ(buf.substr(0, 2), body);
    buf.erase(0, 2);
  }
}

TEST(ServerTest, CorsPreflightAndOriginHeader) {
  ServerOptions o;
  o.cors_origins = {"*"};
  TestServer s(o);
  auto c = s.client();
  auto r = send(*c, "OPTIONS", "/echo", "",
                {{"Origin", "https://app.example"},
                 {"Access-Control-Request-Method", "POST"},
                 {"Access-Control-Request-Headers", "content-type, authorization"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(r.header("Access-Control-Allow-Methods"), "POST, OPTIONS");
  EXPECT_EQ(r.header("Access-Control-Allow-Headers"), "content-type, authorization");
  r = send(*c, "POST", "/echo", "x", {{"Origin", "https://app.example"}});
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "*");

  ServerOptions strict;
  strict.cors_origins = {"https://good.example"};
  TestServer s2(strict);
  auto c2 = s2.client();
  r = send(*c2, "GET", "/hello", "", {{"Origin", "https://good.example"}});
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "https://good.example");
  r = send(*c2, "GET", "/hello", "", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "");
}

TEST(ServerTest, GracefulStopFinishesInFlightRequestAndClosesIdleOnes) {
  auto s = std::make_unique<TestServer>();
  auto idle = s->client();
  EXPECT_EQ(send(*idle, "GET", "/hello").status, 200);  // now idle on keep-alive
  auto busy = s->client();
  auto pending = std::async(std::launch::async, [&] { return busy->send({"GET", "/slow", {}, ""}); });
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  s->server.stop(5s);
  auto took = std::chrono::steady_clock::now() - t0;
  auto r = pending.get();
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slow done");
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_LT(took, 2s);  // the idle connection did not hold the stop for the grace period
  auto after = idle->send({"GET", "/hello", {}, ""});
  EXPECT_FALSE(after.is_ok());
  EXPECT_EQ(after.status().code(), StatusCode::kUnavailable);
}

TEST(ServerTest, BlockingWorkRunsOffTheIoThread) {
  BlockingPool pool(2);
  Router r;
  r.add_async("GET", "/work", [&pool](Request&) -> asio::awaitable<Response> {
    auto io_thread = std::this_thread::get_id();
    auto worker_thread = co_await pool.run([] {
      std::this_thread::sleep_for(20ms);
      return std::this_thread::get_id();
    });
    bool resumed_on_io = std::this_thread::get_id() == io_thread;
    co_return Response::json(200, std::string("{\"offloaded\":") +
                                      (worker_thread != io_thread ? "true" : "false") +
                                      ",\"resumed_on_io\":" + (resumed_on_io ? "true" : "false") +
                                      "}");
  });
  TestServer s({}, std::move(r));
  auto c = s.client();
  auto resp = send(*c, "GET", "/work");
  EXPECT_EQ(resp.body, R"({"offloaded":true,"resumed_on_io":true})");
}

TEST(ClientTest, ReconnectsAfterTheServerClosedAnIdleConnection) {
  ServerOptions o;
  o.idle_timeout = 100ms;
  TestServer s(o);
  auto c = s.client();
  EXPECT_EQ(send(*c, "GET", "/hello").status, 200);
  std::this_thread::sleep_for(400ms);  // the server closes the idle connection
  EXPECT_EQ(send(*c, "GET", "/hello?name=again").body, "hello again");
}

TEST(ClientTest, ConnectionRefusedNamesTheUrl) {
  uint16_t port;
  {
    TestServer s;
    port = s.server.port();
  }
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto c = Client::connect_to(url, 2s);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(c.status().message().find(url), std::string::npos) << c.status().message();
}

TEST(ClientTest, TimesOutOnASlowServer) {
  TestServer s;
  auto c = Client::connect_to(s.url(), 100ms);
  ASSERT_TRUE(c.is_ok());
  auto r = (*c)->send({"GET", "/slow", {}, ""});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace basalt::http
