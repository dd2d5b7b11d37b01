#include "http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>
#include <strings.h>

namespace basalt::http {

namespace {

// RFC 4648 base64 of `text`, for the Authorization header.
std::string base64(std::string_view text) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((text.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < text.size(); i += 3) {
    const uint32_t v = static_cast<uint8_t>(text[i]) << 16 |
                       static_cast<uint8_t>(text[i + 1]) << 8 | static_cast<uint8_t>(text[i + 2]);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63],
            kAlphabet[v & 63]};
  }
  if (i + 1 == text.size()) {
    const uint32_t v = static_cast<uint8_t>(text[i]) << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == text.size()) {
    const uint32_t v = static_cast<uint8_t>(text[i]) << 16 | static_cast<uint8_t>(text[i + 1]) << 8;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

}  // namespace

std::string basic_authorization(std::string_view user, std::string_view password) {
  std::string credentials(user);
  credentials += ':';
  credentials += password;
  return "Basic " + base64(credentials);
}

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::string ClientResponse::header(const std::string& name) const {
  for (const auto& [n, v] : headers)
    if (strcasecmp(n.c_str(), name.c_str()) == 0) return v;
  return {};
}

namespace {

class BeastClient final : public Client {
 public:
  BeastClient(std::string url, std::string host, std::string port, std::chrono::milliseconds timeout)
      : url_(std::move(url)), host_(std::move(host)), port_(std::move(port)), timeout_(timeout) {}

  Status connect() {
    stream_.emplace(ctx_);
    boost::system::error_code ec;
    tcp::resolver resolver(ctx_);
    auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec) return unavailable("cannot resolve " + url_ + ": " + ec.message());
    stream_->expires_after(timeout_);
    bool done = false;
    stream_->async_connect(endpoints, [&](boost::system::error_code e, const tcp::endpoint&) {
      ec = e;
      done = true;
    });
    run_until(done);
    if (ec == beast::error::timeout)
      return Status(StatusCode::kDeadlineExceeded, "connecting to " + url_ + " timed out");
    if (ec) {
      stream_.reset();
      return unavailable("cannot connect to " + url_ + ": " + ec.message());
    }
    boost::system::error_code ignored;
    (void)stream_->socket().set_option(tcp::no_delay(true), ignored);
    buffer_.clear();
    return Status::ok();
  }

  Result<ClientResponse> send(const ClientRequest& request) override {
    bool fresh = false;
    if (!stream_) {
      BASALT_RETURN_IF_ERROR(connect());
      fresh = true;
    }
    auto r = exchange(request);
    // A reused connection the server closed while idle fails before any answer: retry once on
    // a new connection.
    if (!r.is_ok() && !fresh && r.status().code() == StatusCode::kUnavailable) {
      BASALT_RETURN_IF_ERROR(connect());
      r = exchange(request);
    }
    return r;
  }

 private:
  void run_until(bool& done) {
    ctx_.restart();
    while (!done && ctx_.run_one() > 0) {
    }
  }

  Result<ClientResponse> exchange(const ClientRequest& request) {
    bhttp::request<bhttp::string_body> req;
    req.method_string(request.method);
    req.target(request.target);
    req.version(11);
    req.set(bhttp::field::host, host_ + ":" + port_);
    for (const auto& [name, value] : request.headers) req.set(name, value);
    req.body() = request.body;
    req.prepare_payload();
    if (request.body.empty() && (request.method == "GET" || request.method == "HEAD" ||
                                 request.method == "OPTIONS" || request.method == "DELETE"))
      req.erase(bhttp::field::content_length);

    boost::system::error_code ec;
    bool done = false;
    stream_->expires_after(timeout_);
    bhttp::async_write(*stream_, req, [&](boost::system::error_code e, size_t) {
      ec = e;
      done = true;
    });
    run_until(done);
    if (ec) return fail(ec, "sending to");

    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    if (request.method == "HEAD") parser.skip(true);
    done = false;
    stream_->expires_after(timeout_);
    bhttp::async_read(*stream_, buffer_, parser, [&](boost::system::error_code e, size_t) {
      ec = e;
      done = true;
    });
    run_until(done);
    if (ec) return fail(ec, "reading from");
    auto res = parser.release();
    ClientResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res)
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    out.body = std::move(res.body());
    if (!res.keep_alive()) close();
    return out;
  }

  Status fail(boost::system::error_code ec, const char* what) {
    close();
    if (ec == beast::error::timeout)
      return Status(StatusCode::kDeadlineExceeded,
                    std::string(what) + " " + url_ + " timed out after " +
                        std::to_string(timeout_.count()) + " ms");
    return unavailable(std::string(what) + " " + url_ + " failed: " + ec.message());
  }

  void close() {
    if (!stream_) return;
    boost::system::error_code ignored;
    (void)stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    (void)stream_->socket().close(ignored);
    stream_.reset();
    buffer_.clear();
  }

  std::string url_, host_, port_;
  std::chrono::milliseconds timeout_;
  asio::io_context ctx_{1};
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

}  // namespace

Result<std::unique_ptr<Client>> Client::connect_to(const std::string& base_url,
                                                   std::chrono::milliseconds timeout) {
  std::string_view rest = base_url;
  constexpr std::string_view kScheme = "http://";
  if (rest.substr(0, kScheme.size()) != kScheme)
    return invalid_argument("URL must start with http:// : " + base_url);
  rest.remove_prefix(kScheme.size());
  if (auto slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
  std::string host, port = "80";
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return invalid_argument("bad URL: " + base_url);
    host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = std::string(rest.substr(close + 2));
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = std::string(rest.substr(0, colon));
    port = std::string(rest.substr(colon + 1));
  } else {
    host = std::string(rest);
  }
  if (host.empty() || port.empty()) return invalid_argument("bad URL: " + base_url);
  auto client = std::make_unique<BeastClient>(base_url, host, port, timeout);
  BASALT_RETURN_IF_ERROR(client->connect());
  return std::unique_ptr<Client>(std::move(client));
}

}  // namespace basalt::http
