#include "api/content_api.h"

#include "api/answer_format.h"

namespace basalt::api {

namespace {

http::Response status_response(const Status& s) {
  return http::Response::error(http_status_of(s.code()), s.message());
}

}  // namespace

nlohmann::json saved_item_json(const SavedItem& it) {
  nlohmann::json body = nlohmann::json::parse(it.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) body = nlohmann::json::object();
  body["id"] = it.id;
  body["name"] = it.name;
  body["owner"] = it.owner;
  body["created_us"] = it.created_us;
  body["updated_us"] = it.updated_us;
  return body;
}

nlohmann::json api_key_json(const ApiKey& k) {
  nlohmann::json j = {{"id", k.id},
                      {"name", k.name},
                      {"role", role_name(k.role)},
                      {"apis", k.apis},
                      {"rate_per_minute", k.rate_per_minute},
                      {"created_us", k.created_us}};
  j["revoked_us"] = k.revoked_us ? nlohmann::json(*k.revoked_us) : nlohmann::json(nullptr);
  return j;
}

ContentApi::ContentApi(ContentStore& content, KeyStore& keys, semantic::SemanticService& semantic,
                       const AccessControl& access, http::BlockingPool& pool)
    : content_(content), keys_(keys), semantic_(semantic), access_(access), pool_(pool) {}

http::Response ContentApi::save(const std::string& kind, const std::string& id,
                                const std::string& owner, const std::string& text) {
  auto body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return http::Response::error(400, "the body must be a JSON object");
  if (!body.contains("name") || !body["name"].is_string() ||
      body["name"].get<std::string>().empty() || body["name"].get<std::string>().size() > 200) {
    return http::Response::error(400, "\"name\" must be a string of 1 to 200 characters");
  }
  for (const char* server : {"id", "owner", "created_us", "updated_us"}) body.erase(server);
  if (kind == "chart") {
    if (!body.contains("query") || !body["query"].is_object()) {
      return http::Response::error(400, "a chart needs \"query\": a query of POST /api/v1/query");
    }
    auto q = semantic::parse_query(body["query"]);
    if (!q) return http::Response::error(400, "\"query\": " + q.status().message());
    auto c = semantic_.compile(*q);
    if (!c) return http::Response::error(400, "\"query\": " + c.status().message());
  } else {
    if (body.contains("charts")) {
      if (!body["charts"].is_array())
        return http::Response::error(400, "\"charts\" must be a list of chart ids");
      for (const auto& c : body["charts"]) {
        std::string cid = c.is_string() ? c.get<std::string>()
                          : c.is_object() && c.contains("id") && c["id"].is_string()
                              ? c["id"].get<std::string>()
                              : "";
        if (cid.empty())
          return http::Response::error(400, "each of \"charts\" must be a chart id or {\"id\":…}");
        auto found = content_.get_item("chart", cid);
        if (!found)
          return http::Response::error(400,
                                       "\"charts\" names '" + cid + "', which is no saved chart");
      }
    }
  }
  std::string name = body["name"].get<std::string>();
  auto saved = id.empty() ? content_.create_item(kind, name, owner, body.dump())
                          : content_.update_item(kind, id, name, body.dump());
  if (!saved) return status_response(saved.status());
  return http::Response::json(id.empty() ? 201 : 200, saved_item_json(*saved).dump());
}

void ContentApi::register_routes(http::Router& router) {
  for (std::string kind : {"chart", "dashboard"}) {
    std::string base = "/api/v1/" + kind + "s";
    router.add_async(
        "GET", base, [this, kind](http::Request& req) -> boost::asio::awaitable<http::Response> {
          auto who = access_.require(req, Role::kViewer);
          if (!who) co_return access_.deny(who.status());
          auto work = [this, kind] {
            auto items = content_.list_items(kind);
            if (!items) return status_response(items.status());
            nlohmann::json list = nlohmann::json::array();
            for (const auto& i : *items) list.push_back(saved_item_json(i));
            return http::Response::json(200, nlohmann::json{{kind + "s", list}}.dump());
          };
          http::Response reply = co_await pool_.run(std::move(work));
          co_return reply;
        });
    router.add_async("POST", base,
                     [this, kind](http::Request& req) -> boost::asio::awaitable<http::Response> {
                       auto who = access_.require(req, Role::kAnalyst);
                       if (!who) co_return access_.deny(who.status());
                       auto work = [this, kind, owner = who->name, body = req.body()] {
                         return save(kind, "", owner, body);
                       };
                       http::Response reply = co_await pool_.run(std::move(work));
                       co_return reply;
                     });
    router.add_async("GET", base + "/{id}",
                     [this, kind](http::Request& req) -> boost::asio::awaitable<http::Response> {
                       auto who = access_.require(req, Role::kViewer);
                       if (!who) co_return access_.deny(who.status());
                       auto work = [this, kind, id = std::string(req.path_param("id"))] {
                         auto it = content_.get_item(kind, id);
                         if (!it) return status_response(it.status());
                         return http::Response::json(200, saved_item_json(*it).dump());
                       };
                       http::Response reply = co_await pool_.run(std::move(work));
                       co_return reply;
                     });
    router.add_async("PUT", base + "/{id}",
                     [this, kind](http::Request& req) -> boost::asio::awaitable<http::Response> {
                       auto who = access_.require(req, Role::kAnalyst);
                       if (!who) co_return access_.deny(who.status());
                       auto work = [this, kind, owner = who->name,
                                    id = std::string(req.path_param("id")),
                                    body = req.body()] { return save(kind, id, owner, body); };
                       http::Response reply = co_await pool_.run(std::move(work));
                       co_return reply;
                     });
    router.add_async("DELETE", base + "/{id}",
                     [this, kind](http::Request& req) -> boost::asio::awaitable<http::Response> {
                       auto who = access_.require(req, Role::kAnalyst);
                       if (!who) co_return access_.deny(who.status());
                       auto work = [this, kind, id = std::string(req.path_param("id"))] {
                         Status s = content_.delete_item(kind, id);
                         if (!s.is_ok()) return status_response(s);
                         return http::Response::json(200, R"({"deleted":true})");
                       };
                       http::Response reply = co_await pool_.run(std::move(work));
                       co_return reply;
                     });
  }
  router.add_async(
      "GET", "/api/v1/charts/{id}/data",
      [this](http::Request& req) -> boost::asio::awaitable<http::Response> {
        auto who = access_.require(req, Role::kViewer);
        if (!who) co_return access_.deny(who.status());
        auto work = [this, id = std::string(req.path_param("id"))] {
          auto it = content_.get_item("chart", id);
          if (!it) return status_response(it.status());
          auto body = nlohmann::json::parse(it->body, nullptr, false);
          auto q = semantic::parse_query(
              body.is_object() && body.contains("query") ? body["query"] : nlohmann::json());
          if (!q)
            return http::Response::error(
                409, "the saved chart's query no longer parses: " + q.status().message());
          auto a = semantic_.run(*q, semantic_.config().timeout);
          if (!a) return status_response(a.status());
          return http::Response::json(200, answer_json(*a, semantic_.config().max_rows).dump());
        };
        http::Response reply = co_await pool_.run(std::move(work));
        co_return reply;
      });

  router.add_async("GET", "/api/v1/keys",
                   [this](http::Request& req) -> boost::asio::awaitable<http::Response> {
                     auto who = access_.require(req, Role::kAdmin);
                     if (!who) co_return access_.deny(who.status());
                     auto work = [this] {
                       auto keys = keys_.list_keys();
                       if (!keys) return status_response(keys.status());
                       nlohmann::json list = nlohmann::json::array();
                       for (const auto& k : *keys) list.push_back(api_key_json(k));
                       return http::Response::json(200, nlohmann::json{{"keys", list}}.dump());
                     };
                     http::Response reply = co_await pool_.run(std::move(work));
                     co_return reply;
                   });
  router.add_async(
      "POST", "/api/v1/keys", [this](http::Request& req) -> boost::asio::awaitable<http::Response> {
        auto who = access_.require(req, Role::kAdmin);
        if (!who) co_return access_.deny(who.status());
        auto work = [this, text = req.body()] {
          auto body = nlohmann::json::parse(text, nullptr, false);
          if (body.is_discarded() || !body.is_object() || !body.contains("name") ||
              !body["name"].is_string() || !body.contains("role") || !body["role"].is_string()) {
            return http::Response::error(400,
                                         "the body must be "
                                         "{\"name\":…,\"role\":\"admin|analyst|viewer|service\","
                                         "\"apis\":[…],\"rate_per_minute\":N}");
          }
          auto role = parse_role(body["role"].get<std::string>());
          if (!role)
            return http::Response::error(400, "\"role\" must be admin, analyst, viewer or service");
          std::vector<std::string> apis;
          if (body.contains("apis")) {
            if (!body["apis"].is_array())
              return http::Response::error(400, "\"apis\" must be a list of data API names");
            for (const auto& a : body["apis"]) {
              if (!a.is_string())
                return http::Response::error(400, "\"apis\" must be a list of data API names");
              apis.push_back(a.get<std::string>());
            }
          }
          double rate = 0;
          if (body.contains("rate_per_minute")) {
            if (!body["rate_per_minute"].is_number())
              return http::Response::error(400, "\"rate_per_minute\" must be a number");
            rate = body["rate_per_minute"].get<double>();
          }
          auto k = keys_.create_key(body["name"].get<std::string>(), *role, apis, rate);
          if (!k) return status_response(k.status());
          nlohmann::json out = api_key_json(k->key);
          out["secret"] = k->secret;
          return http::Response::json(201, out.dump());
        };
        http::Response reply = co_await pool_.run(std::move(work));
        co_return reply;
      });
  router.add_async("DELETE", "/api/v1/keys/{id}",
                   [this](http::Request& req) -> boost::asio::awaitable<http::Response> {
                     auto who = access_.require(req, Role::kAdmin);
                     if (!who) co_return access_.deny(who.status());
                     auto work = [this, id = std::string(req.path_param("id"))] {
                       Status s = keys_.revoke_key(id);
                       if (!s.is_ok()) return status_response(s);
                       return http::Response::json(200, R"({"revoked":true})");
                     };
                     http::Response reply = co_await pool_.run(std::move(work));
                     co_return reply;
                   });
}

}  // namespace basalt::api
