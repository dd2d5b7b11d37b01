#include "api/data_api_routes.h"

#include <fmt/format.h>

#include <cmath>

#include "api/answer_format.h"

namespace basalt::api {

int64_t RateLimiter::take(const std::string& key, double per_minute) {
  if (per_minute <= 0) return 0;
  std::lock_guard lock(mu_);
  int64_t now = clock_.now_us();
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{per_minute, now});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(per_minute, b.tokens + (now - b.at_us) / 60e6 * per_minute);
    b.at_us = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  double seconds = (1 - b.tokens) / per_minute * 60;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(seconds)));
}

DataApiRoutes::DataApiRoutes(semantic::DataApiSet apis, std::string project,
                             semantic::SemanticService& semantic, const AccessControl& access,
                             http::BlockingPool& pool, const Clock& clock)
    : apis_(std::move(apis)),
      project_(std::move(project)),
      semantic_(semantic),
      access_(access),
      pool_(pool),
      limiter_(clock) {}

http::Response DataApiRoutes::call(const semantic::DataApi& api, const http::Request& req) {
  auto args = semantic::bind_arguments(api, req.query_params());
  if (!args) return http::Response::error(400, args.status().message());
  std::string format(req.query("format"));
  if (!format.empty() && format != "json" && format != "csv") {
    return http::Response::error(400, "format must be json or csv");
  }
  Result<semantic::Answer> a = internal_error("unset");
  if (!api.query.is_null()) {
    auto q = semantic::instantiate_query(api, *args);
    if (!q) return http::Response::error(400, q.status().message());
    a = semantic_.run(*q, semantic_.config().timeout);
  } else {
    // The statement's placeholders in the configured warehouse's dialect.
    const semantic::Dialect* dialect = semantic_.dialect();
    if (!dialect) {
      return http::Response::error(
          412, "the warehouse engine '" + semantic_.engine() + "' has no SQL dialect");
    }
    auto st =
        semantic::instantiate_sql(api, *args, [&](size_t i) { return dialect->placeholder(i); });
    if (!st) return http::Response::error(400, st.status().message());
    a = semantic_.run_sql(st->sql, st->params, api.tables, semantic_.config().timeout);
  }
  if (!a) return http::Response::error(http_status_of(a.status().code()), a.status().message());
  if (format == "csv") {
    auto r = http::Response::text(200, answer_csv(a->result), "text/csv; charset=utf-8");
    r.headers.emplace_back("X-Basalt-Cached", a->cached ? "true" : "false");
    return r;
  }
  nlohmann::json out = answer_json(*a, semantic_.config().max_rows);
  out.erase("sql");  // callers of a published API see its answer, not its statement
  return http::Response::json(200, out.dump());
}

void DataApiRoutes::register_routes(http::Router& router) {
  router.add("GET", "/data/v1/openapi.json", [this](const http::Request& req) {
    auto who = access_.authenticate(req);
    if (!who) return access_.deny(who.status());
    return http::Response::json(200, semantic::openapi_document(apis_, project_).dump());
  });
  router.add("GET", "/api/v1/apis", [this](const http::Request& req) {
    auto who = access_.require(req, Role::kViewer);
    if (!who) return access_.deny(who.status());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& a : apis_.apis()) {
      nlohmann::json params = nlohmann::json::array();
      for (const auto& p : a.params) {
        params.push_back({{"name", p.name},
                          {"type", p.type},
                          {"required", p.required},
                          {"description", p.description}});
      }
      list.push_back({{"name", a.name},
                      {"description", a.description},
                      {"owner", a.owner},
                      {"path", "/data/v1/" + a.name},
                      {"params", params},
                      {"kind", a.query.is_null() ? "sql" : "query"},
                      {"tables", a.tables},
                      {"file", a.location.to_string()}});
    }
    return http::Response::json(200, nlohmann::json{{"apis", list}}.dump());
  });
  router.add_async(
      "GET", "/data/v1/{name}",
      [this](http::Request& req) -> boost::asio::awaitable<http::Response> {
        auto who = access_.require(req, Role::kService);
        if (!who) co_return access_.deny(who.status());
        std::string name(req.path_param("name"));
        const semantic::DataApi* api = apis_.find(name);
        if (!api)
          co_return http::Response::error(404,
                                          "no data API '" + name + "' (see /data/v1/openapi.json)");
        if (who->role == Role::kService &&
            std::find(who->apis.begin(), who->apis.end(), name) == who->apis.end()) {
          co_return access_.deny(
              {StatusCode::kPermissionDenied,
               "key '" + who->name + "' is not scoped to data API '" + name + "'"});
        }
        if (int64_t wait = limiter_.take(who->key_id.empty() ? who->name : who->key_id,
                                         who->rate_per_minute)) {
          auto r = access_.deny(
              {StatusCode::kResourceExhausted,
               fmt::format("key '{}' is over its rate limit of {} requests a minute; retry in {} s",
                           who->name, who->rate_per_minute, wait)});
          r.headers.emplace_back("Retry-After", std::to_string(wait));
          co_return r;
        }
        auto work = [this, api, &req] { return call(*api, req); };
        http::Response reply = co_await pool_.run(std::move(work));
        co_return reply;
      });
}

}  // namespace basalt::api
