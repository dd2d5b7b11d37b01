#include "api/console_api.h"

#include <chrono>

#include "api/query_json.h"

namespace basalt::api {

namespace {

// Compares in time independent of where the strings differ, so a token cannot be guessed
// byte by byte from response times (its length may show; tokens are long and random).
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

http::Response error_response(const Status& s) {
  auto r = http::Response::error(http_status_of(s.code()), s.message());
  if (s.code() == StatusCode::kUnauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"basalt\"");
  }
  return r;
}

}  // namespace

ConsoleApi::ConsoleApi(const ApiConfig& config, warehouse::Warehouse& warehouse, wal::Wal& wal,
                       http::BlockingPool& pool, std::function<nlohmann::json()> status)
    : config_(config), warehouse_(warehouse), wal_(wal), pool_(pool), status_(std::move(status)) {}

http::ServerOptions ConsoleApi::server_options() const {
  http::ServerOptions o;
  o.name = "console";
  o.bind = config_.bind;
  o.port = config_.port;
  o.threads = 2;
  o.max_body_bytes = 1 << 20;
  return o;
}

Status ConsoleApi::authorize(const http::Request& request) const {
  if (access_) {
    auto who = access_->require(request, request.method() == "GET" ? Role::kViewer : Role::kAdmin);
    return who ? Status::ok() : who.status();
  }
  if (config_.admin_token.empty()) {
    return {StatusCode::kUnauthenticated,
            "no admin token is configured (set api.admin_token in basalt.yaml or "
            "BASALT_ADMIN_TOKEN)"};
  }
  std::string_view h = request.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!h.starts_with(kBearer)) {
    return {StatusCode::kUnauthenticated, "missing 'Authorization: Bearer <token>' header"};
  }
  if (!same_secret(h.substr(kBearer.size()), config_.admin_token)) {
    return {StatusCode::kUnauthenticated, "unknown token"};
  }
  return Status::ok();
}

void ConsoleApi::register_routes(http::Router& router) {
  router.add("GET", "/healthz", [](const http::Request&) {
    return http::Response::json(200, R"({"status":"ok"})");
  });

  // Who the bearer token is, for the web console's sign-in: an API key's name and role, or the
  // configured admin token (role "admin").
  router.add("GET", "/api/v1/whoami", [this](const http::Request& req) {
    if (access_) {
      auto who = access_->authenticate(req);
      if (!who) return error_response(who.status());
      return http::Response::json(
          200, nlohmann::json{{"role", role_name(who->role)}, {"name", who->name}}.dump());
    }
    if (Status s = authorize(req); !s.is_ok()) return error_response(s);
    return http::Response::json(200, R"({"role":"admin","name":"admin"})");
  });

  router.add("GET", "/api/v1/status", [this](const http::Request& req) {
    if (Status s = authorize(req); !s.is_ok()) return error_response(s);
    wal::WalStats w = wal_.stats();
    nlohmann::json body = status_ ? status_() : nlohmann::json::object();
    body["wal"] = {{"first_lsn", w.first_lsn},       {"durable_end", w.durable_end},
                   {"bytes_on_disk", w.bytes_on_disk}, {"segments", w.segments},
                   {"writable", wal_.writable()}};
    return http::Response::json(200, body.dump());
  });

  router.add_async("POST", "/api/v1/sql",
                   [this](http::Request& req) -> boost::asio::awaitable<http::Response> {
                     if (Status s = authorize(req); !s.is_ok()) co_return error_response(s);
                     auto body = nlohmann::json::parse(req.body(), nullptr, false);
                     if (body.is_discarded() || !body.is_object()) {
                       co_return http::Response::error(
                           400, "the body must be a JSON object like {\"sql\":\"SELECT 1\"}");
                     }
                     if (!body.contains("sql") || !body["sql"].is_string()) {
                       co_return http::Response::error(400, "\"sql\" must be a string");
                     }
                     warehouse::QueryOptions options;
                     if (body.contains("max_rows")) {
                       if (!body["max_rows"].is_number_unsigned()) {
                         co_return http::Response::error(
                             400, "\"max_rows\" must be a positive whole number");
                       }
                       options.max_rows = body["max_rows"].get<size_t>();
                     }
                     if (body.contains("timeout_ms")) {
                       if (!body["timeout_ms"].is_number_unsigned()) {
                         co_return http::Response::error(
                             400, "\"timeout_ms\" must be a positive whole number");
                       }
                       options.timeout = std::chrono::milliseconds(body["timeout_ms"].get<int64_t>());
                     }
                     std::string sql = body["sql"].get<std::string>();
                     auto started = std::chrono::steady_clock::now();
                     auto query = [this, sql = std::move(sql), options] {
                       return warehouse_.query(sql, options);
                     };
                     auto result = co_await pool_.run(std::move(query));
                     if (!result) co_return error_response(result.status());
                     nlohmann::json out = query_result_to_json(*result);
                     out["elapsed_ms"] = std::chrono::duration<double, std::milli>(
                                             std::chrono::steady_clock::now() - started)
                                             .count();
                     co_return http::Response::json(200, out.dump());
                   });
}

}  // namespace basalt::api
