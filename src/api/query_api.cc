#include "api/query_api.h"

#include <fmt/format.h>

#include <random>

#include "api/answer_format.h"

namespace basalt::api {

namespace {

nlohmann::json model_json(const semantic::Model& m) {
  nlohmann::json dims = nlohmann::json::array(), measures = nlohmann::json::array(),
                 metrics = nlohmann::json::array(), joins = nlohmann::json::array();
  for (const auto& d : m.dimensions) {
    dims.push_back({{"name", d.name},
                    {"description", d.description},
                    {"type", d.type.empty() ? "string" : d.type}});
  }
  for (const auto& x : m.measures) {
    measures.push_back({{"name", x.name},
                        {"agg", semantic::aggregation_name(x.agg)},
                        {"description", x.description},
                        {"format", x.format.empty() ? "number" : x.format}});
  }
  for (const auto& x : m.metrics) {
    metrics.push_back({{"name", x.name},
                       {"expr", x.expr},
                       {"description", x.description},
                       {"format", x.format.empty() ? "number" : x.format}});
  }
  for (const auto& j : m.joins) joins.push_back({{"model", j.model}, {"on", j.on}});
  return {{"name", m.name},     {"table", m.table},
          {"time", m.time},     {"description", m.description},
          {"owner", m.owner},   {"joins", joins},
          {"dimensions", dims}, {"measures", measures},
          {"metrics", metrics}, {"file", m.location.to_string()}};
}

}  // namespace

QueryApi::QueryApi(semantic::SemanticService& semantic, const AccessControl& access,
                   http::BlockingPool& pool, std::function<std::string()> complete_until)
    : semantic_(semantic),
      access_(access),
      pool_(pool),
      complete_until_(std::move(complete_until)) {}

QueryApi::~QueryApi() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads)
    if (t.joinable()) t.join();
}

http::Response QueryApi::answer(const nlohmann::json& body, bool csv) {
  auto q = semantic::parse_query(body);
  if (!q) return http::Response::error(400, q.status().message());
  std::chrono::milliseconds timeout = semantic_.config().timeout;
  if (body.contains("timeout_ms")) {
    if (!body["timeout_ms"].is_number_unsigned() || body["timeout_ms"].get<uint64_t>() == 0) {
      return http::Response::error(400, "\"timeout_ms\" must be a positive whole number");
    }
    timeout = std::min(timeout, std::chrono::milliseconds(body["timeout_ms"].get<int64_t>()));
  }
  auto a = semantic_.run(*q, timeout);
  if (!a) {
    const Status& s = a.status();
    std::string m = s.message();
    if (s.code() == StatusCode::kDeadlineExceeded) {
      m += "; narrow the query or run it with \"async\":true and a longer timeout_ms";
    }
    return http::Response::error(http_status_of(s.code()), m);
  }
  if (csv) {
    auto r = http::Response::text(200, answer_csv(a->result), "text/csv; charset=utf-8");
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + q->model + ".csv\"");
    r.headers.emplace_back("X-Basalt-Cached", a->cached ? "true" : "false");
    if (a->result.truncated) r.headers.emplace_back("X-Basalt-Truncated", "true");
    return r;
  }
  nlohmann::json out = answer_json(*a, semantic_.config().max_rows);
  if (complete_until_) out["complete_until"] = complete_until_();
  return http::Response::json(200, out.dump());
}

void QueryApi::reap_locked() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (it->second.state != "running" && now - it->second.finished > std::chrono::hours(1)) {
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

void QueryApi::register_routes(http::Router& router) {
  router.add_async(
      "POST", "/api/v1/query",
      [this](http::Request& req) -> boost::asio::awaitable<http::Response> {
        auto who = access_.require(req, Role::kAnalyst);
        if (!who) co_return access_.deny(who.status());
        auto body = nlohmann::json::parse(req.body(), nullptr, false);
        if (body.is_discarded() || !body.is_object()) {
          co_return http::Response::error(
              400,
              "the body must be a JSON object like {\"model\":\"events\",\"metrics\":[\"dau\"]}");
        }
        std::string format = std::string(req.query("format"));
        if (body.contains("format")) {
          if (!body["format"].is_string())
            co_return http::Response::error(400, "\"format\" must be \"json\" or \"csv\"");
          format = body["format"].get<std::string>();
        }
        if (!format.empty() && format != "json" && format != "csv") {
          co_return http::Response::error(400, "\"format\" must be \"json\" or \"csv\"");
        }
        bool csv = format == "csv";
        bool async =
            body.contains("async") && body["async"].is_boolean() && body["async"].get<bool>();
        if (!async) {
          auto work = [this, body = std::move(body), csv] { return answer(body, csv); };
          http::Response reply = co_await pool_.run(std::move(work));
          co_return reply;
        }
        // Async: checked at once (bad queries fail now), then run on a worker thread.
        if (auto q = semantic::parse_query(body); !q)
          co_return http::Response::error(400, q.status().message());
        std::string id;
        {
          std::lock_guard lock(mu_);
          reap_locked();
          if (running_ >= kMaxAsyncRunning) {
            auto r = http::Response::error(
                429,
                fmt::format("{} async queries are running already; try again later", running_));
            r.headers.emplace_back("Retry-After", "5");
            co_return r;
          }
          std::mt19937_64 rng(std::random_device{}());
          id = fmt::format("q{}_{:012x}", next_id_++, rng() & 0xffffffffffffULL);
          jobs_[id] = Job{};
          ++running_;
          threads_.emplace_back([this, id, body = std::move(body), csv] {
            http::Response r = answer(body, csv);
            std::lock_guard lock(mu_);
            Job& j = jobs_[id];
            j.state = r.status == 200 ? "done" : "failed";
            j.status = r.status;
            j.content_type = r.content_type;
            j.body = std::move(r.body);
            j.finished = std::chrono::steady_clock::now();
            --running_;
          });
        }
        nlohmann::json out = {{"id", id}, {"state", "running"}, {"poll", "/api/v1/query/" + id}};
        co_return http::Response::json(202, out.dump());
      });

  router.add("GET", "/api/v1/query/{id}", [this](const http::Request& req) {
    auto who = access_.require(req, Role::kAnalyst);
    if (!who) return access_.deny(who.status());
    std::string id(req.path_param("id"));
    std::lock_guard lock(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end())
      return http::Response::error(
          404, "no async query '" + id + "' (finished ones are kept for an hour)");
    const Job& j = it->second;
    if (j.state == "running") {
      auto r = http::Response::json(202, nlohmann::json{{"id", id}, {"state", "running"}}.dump());
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    http::Response r;
    r.status = j.status;
    r.content_type = j.content_type;
    r.body = j.body;
    r.headers.emplace_back("X-Basalt-Query-State", j.state);
    return r;
  });

  router.add("GET", "/api/v1/models", [this](const http::Request& req) {
    auto who = access_.require(req, Role::kViewer);
    if (!who) return access_.deny(who.status());
    nlohmann::json models = nlohmann::json::array();
    for (const auto& m : semantic_.models().models()) models.push_back(model_json(m));
    nlohmann::json out = {
        {"models", models}, {"errors", semantic_.errors()}, {"timezone", semantic_.timezone()}};
    return http::Response::json(200, out.dump());
  });
}

}  // namespace basalt::api
