#include "api/tracking_api.h"

#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "api/query_json.h"

namespace basalt::api {

namespace {

using nlohmann::json;
using warehouse::Value;

// Distinct values at most this many: a string property is "low-cardinality" and its top
// values are listed.
constexpr int64_t kLowCardinality = 20;
constexpr size_t kTopValues = 5;

http::Response error_response(const Status& s) {
  return http::Response::error(http_status_of(s.code()), s.message());
}

json value_json(const Value& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return nullptr;
}

int64_t int_of(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  return 0;
}

std::string sql_string(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

// The timestamp (µs) as JSON: ISO text is what DuckDB prints; µs since the epoch is exact.
json time_json(const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return nullptr;
  return int_of(v);
}

bool is_list(const schema::PropertyDefinition* def) {
  return def && def->type == schema::PropertyType::kStringList;
}

std::string query_param(const http::Request& r, std::string_view name) {
  return std::string(r.query(name));
}

// DuckDB: FILTER clauses, JSON functions, information_schema.
class DuckDbTrackingSql final : public TrackingSql {
 public:
  std::string columns() const override {
    return "SELECT table_name || '.' || column_name FROM information_schema.columns "
           "WHERE table_schema = 'main' AND table_name IN ('events', 'users')";
  }
  std::string event_volume() const override {
    return "SELECT event, count(*) FILTER (WHERE received_at >= date_trunc('day', now())), "
           "count(*) FILTER (WHERE received_at >= now() - INTERVAL 7 DAY), "
           "epoch_us(max(received_at)) FROM events WHERE type = 'track' GROUP BY event";
  }
  std::string property_counts(const std::string& q, const std::string& name, bool,
                              bool distinct) const override {
    const std::string path = sql_string("$." + name);
    return "count(" + q + "), count(*) FILTER (WHERE json_exists(properties, " + path +
           ") AND json_type(properties, " + path + ") <> 'NULL' AND " + q + " IS NULL), " +
           (distinct ? "approx_count_distinct(" + q + ")" : std::string("NULL"));
  }
  std::string users() const override { return "users"; }
  std::string present(const std::string& q, bool) const override { return q + " IS NOT NULL"; }
  std::string count_present(const std::string& q, bool) const override {
    return "count(" + q + ")";
  }
  std::string quote(const std::string& name) const override { return "\"" + name + "\""; }
};

// ClickHouse (18.16 and later): -If combinators, visitParam* on the properties text,
// system.columns, `users` read FINAL (a ReplacingMergeTree), the µs companion of received_at;
// an absent string[] is an empty array, not NULL.
class ClickHouseTrackingSql final : public TrackingSql {
 public:
  std::string columns() const override {
    return "SELECT concat(table, '.', name) FROM system.columns WHERE database = "
           "currentDatabase() AND table IN ('events', 'users')";
  }
  std::string event_volume() const override {
    return "SELECT event, countIf(received_at >= toStartOfDay(now(), 'UTC')), "
           "countIf(received_at >= now() - INTERVAL 7 DAY), max(received_at_us) "
           "FROM events WHERE type = 'track' GROUP BY event";
  }
  std::string property_counts(const std::string& q, const std::string& name, bool list,
                              bool distinct) const override {
    // visitParam* find the first `"name":` of the text: the plan's properties are top-level
    // names, and a nested object using the same name before it is rare.
    const std::string key = sql_string(name);
    return count_present(q, list) + ", countIf(visitParamHas(properties, " + key +
           ") AND visitParamExtractRaw(properties, " + key + ") != 'null' AND NOT (" +
           present(q, list) + ")), " + (distinct ? "uniq(" + q + ")" : std::string("NULL"));
  }
  std::string users() const override { return "users FINAL"; }
  std::string present(const std::string& q, bool list) const override {
    return list ? "notEmpty(" + q + ")" : "isNotNull(" + q + ")";
  }
  std::string count_present(const std::string& q, bool list) const override {
    return "countIf(" + present(q, list) + ")";
  }
  std::string quote(const std::string& name) const override { return "`" + name + "`"; }
};

}  // namespace

// Every engine with statistics is listed here.
std::unique_ptr<TrackingSql> make_tracking_sql(const std::string& engine) {
  if (engine == "duckdb") return std::make_unique<DuckDbTrackingSql>();
  if (engine == "clickhouse") return std::make_unique<ClickHouseTrackingSql>();
  return nullptr;
}

TrackingApi::TrackingApi(warehouse::Warehouse& warehouse, http::BlockingPool& pool,
                         const Clock& clock, TrackingApiHooks hooks)
    : warehouse_(warehouse),
      pool_(pool),
      clock_(clock),
      hooks_(std::move(hooks)),
      sql_(make_tracking_sql(hooks_.engine)) {}

Result<std::string> TrackingApi::tracking_json() {
  auto plan = hooks_.plan ? hooks_.plan() : nullptr;
  json out = json::object();
  out["events"] = json::array();
  out["properties"] = json::array();
  out["user_attributes"] = json::array();
  out["sources"] = json::array();
  if (!plan) return out.dump();
  out["default_mode"] = std::string(schema::enforcement_mode_name(plan->default_mode));
  for (const auto& s : plan->sources) {
    out["sources"].push_back({{"source", s.source},
                              {"mode", std::string(schema::enforcement_mode_name(s.mode))}});
  }
  auto run = [&](const std::string& sql,
                 const std::vector<Value>& params = {}) -> Result<warehouse::QueryResult> {
    return warehouse_.query(sql, params, warehouse::QueryOptions{});
  };
  if (!sql_) {
    return failed_precondition("the tracking statistics have no SQL for the warehouse engine '" +
                               hooks_.engine + "'");
  }
  const TrackingSql& d = *sql_;
  // Which typed columns exist (a property just added may not be loaded yet).
  std::set<std::string> columns;
  {
    auto r = run(d.columns());
    if (!r) return r.status();
    for (const auto& row : r->rows) {
      if (const auto* s = std::get_if<std::string>(&row[0])) columns.insert(*s);
    }
  }
  // Volume per event: today (UTC), the last 7 days, last seen (received_at, µs).
  std::map<std::string, json> event_stats;
  {
    auto r = run(d.event_volume());
    if (!r) return r.status();
    for (const auto& row : r->rows) {
      if (const auto* name = std::get_if<std::string>(&row[0])) {
        event_stats[*name] = {{"today", int_of(row[1])},
                              {"last_7_days", int_of(row[2])},
                              {"last_seen_us", time_json(row[3])}};
      }
    }
  }
  for (const auto& p : plan->properties) {
    json j = {{"name", p.name},
              {"type", std::string(schema::property_type_name(p.type))},
              {"column", "p_" + p.name},
              {"description", p.description},
              {"owner", p.owner},
              {"pii", p.pii},
              {"location", p.location.to_string()}};
    if (!p.allowed.empty()) j["allowed"] = p.allowed;
    if (p.min) j["min"] = *p.min;
    if (p.max) j["max"] = *p.max;
    if (!p.regex.empty()) j["regex"] = p.regex;
    out["properties"].push_back(std::move(j));
  }
  for (const auto& e : plan->events) {
    json ej = {{"name", e.name},
               {"description", e.description},
               {"owner", e.owner},
               {"status", e.status == schema::EventStatus::kActive ? "active" : "deprecated"},
               {"location", e.location.to_string()},
               {"properties", json::array()},
               {"versions", json::array()}};
    for (const auto& v : e.versions) {
      ej["versions"].push_back({{"version", v.version}, {"date", v.date}, {"change", v.change}});
    }
    auto st = event_stats.find(e.name);
    ej["stats"] = st != event_stats.end()
                      ? st->second
                      : json{{"today", 0}, {"last_7_days", 0}, {"last_seen_us", nullptr}};
    // Per property over the last 7 days: present, null (absent or null), invalid (sent but
    // refused by the plan, so its typed column is NULL: lenient sources only).
    std::string sql = "SELECT count(*)";
    std::vector<const schema::EventProperty*> measured;
    for (const auto& ep : e.properties) {
      const std::string col = "p_" + ep.name;
      if (!columns.contains("events." + col)) continue;
      const schema::PropertyDefinition* def = plan->find_property(ep.name);
      sql += ", " + d.property_counts(d.quote(col), ep.name, is_list(def),
                                      def && def->type == schema::PropertyType::kString);
      measured.push_back(&ep);
    }
    sql += " FROM events WHERE type = 'track' AND event = $1 AND received_at >= now() - "
           "INTERVAL 7 DAY";
    auto r = run(sql, {Value(e.name)});
    if (!r) return r.status();
    const auto& row = r->rows.at(0);
    const int64_t n = int_of(row[0]);
    size_t k = 0;
    for (const auto& ep : e.properties) {
      const schema::PropertyDefinition* def = plan->find_property(ep.name);
      json pj = {{"name", ep.name},
                 {"required", ep.required},
                 {"type", def ? std::string(schema::property_type_name(def->type)) : ""}};
      if (k < measured.size() && measured[k] == &ep) {
        const int64_t present = int_of(row[1 + 3 * k]);
        const int64_t invalid = int_of(row[2 + 3 * k]);
        const int64_t nulls = n - present - invalid;
        json stats = {{"events_7_days", n},
                      {"present", present},
                      {"null_rate", n ? double(nulls) / double(n) : 0.0},
                      {"invalid_rate", n ? double(invalid) / double(n) : 0.0}};
        const Value& distinct = row[3 + 3 * k];
        if (!std::holds_alternative<std::monostate>(distinct) && present > 0 &&
            int_of(distinct) <= kLowCardinality) {
          const std::string q = d.quote("p_" + ep.name);
          // Aliases in GROUP BY and ORDER BY: ClickHouse 18.16 has no positions there.
          auto top = run("SELECT " + q + " AS v, count(*) AS n FROM events WHERE type = 'track' "
                         "AND event = $1 AND received_at >= now() - INTERVAL 7 DAY AND " +
                             d.present(q, false) + " GROUP BY v ORDER BY n DESC, v LIMIT " +
                             std::to_string(kTopValues),
                         {Value(e.name)});
          if (!top) return top.status();
          stats["top_values"] = json::array();
          for (const auto& t : top->rows) {
            stats["top_values"].push_back({{"value", value_json(t[0])}, {"count", int_of(t[1])}});
          }
        }
        pj["stats"] = std::move(stats);
        ++k;
      }
      ej["properties"].push_back(std::move(pj));
    }
    out["events"].push_back(std::move(ej));
  }
  for (const auto& a : plan->attributes) {
    json aj = {{"name", a.name},
               {"type", std::string(schema::property_type_name(a.type))},
               {"column", "a_" + a.name},
               {"merge", std::string(schema::merge_rule_name(a.merge))},
               {"description", a.description},
               {"owner", a.owner},
               {"pii", a.pii},
               {"location", a.location.to_string()}};
    if (columns.contains("users.a_" + a.name)) {
      const std::string q = d.quote("a_" + a.name);
      auto r = run("SELECT count(*), " +
                   d.count_present(q, a.type == schema::PropertyType::kStringList) + " FROM " +
                   d.users());
      if (!r) return r.status();
      aj["stats"] = {{"users", int_of(r->rows.at(0)[0])}, {"set", int_of(r->rows.at(0)[1])}};
    }
    out["user_attributes"].push_back(std::move(aj));
  }
  return out.dump();
}

Result<std::string> TrackingApi::undeclared_json(size_t limit) {
  auto plan = hooks_.plan ? hooks_.plan() : nullptr;
  json out = {{"events", json::array()}, {"properties", json::array()}};
  // Strict sources never store what is undeclared; every other source may.
  std::string strict = "''";
  std::string declared_events = "''";
  std::string declared_pairs = "('', '')";
  if (plan) {
    for (const auto& s : plan->sources) {
      if (s.mode == schema::EnforcementMode::kStrict) strict += ", " + sql_string(s.source);
    }
    for (const auto& e : plan->events) {
      declared_events += ", " + sql_string(e.name);
      for (const auto& p : e.properties)
        declared_pairs += ", (" + sql_string(e.name) + ", " + sql_string(p.name) + ")";
    }
  }
  const std::string lim = std::to_string(limit);
  auto events = warehouse_.query(
      "SELECT source, event, count(*) AS n, epoch_us(max(received_at)) AS last_seen, "
      "to_json(list(properties ORDER BY received_at DESC)[1:3])::VARCHAR AS samples FROM events "
      "WHERE type = 'track' AND source NOT IN (" + strict + ") AND event NOT IN (" +
          declared_events + ") GROUP BY ALL ORDER BY n DESC, event LIMIT " + lim,
      {}, warehouse::QueryOptions{});
  if (!events) return events.status();
  for (const auto& row : events->rows) {
    const auto* text = std::get_if<std::string>(&row[4]);
    json parsed = json::parse(text ? *text : "[]", nullptr, false);
    if (!parsed.is_array()) parsed = json::array();
    out["events"].push_back({{"source", value_json(row[0])},
                             {"event", value_json(row[1])},
                             {"count", int_of(row[2])},
                             {"last_seen_us", time_json(row[3])},
                             {"sample_properties", parsed}});
  }
  auto props = warehouse_.query(
      "WITH declared(event, key) AS (VALUES " + declared_pairs + "), k AS ("
      "SELECT source, event, received_at, unnest(json_keys(properties)) AS key, properties "
      "FROM events WHERE type = 'track' AND source NOT IN (" + strict + ") AND event IN (" +
          declared_events + ")) "
      "SELECT k.source, k.event, k.key, count(*) AS n, epoch_us(max(k.received_at)), "
      "to_json(list(DISTINCT json_extract(k.properties, '$.\"' || replace(k.key, '\"', '\\\"') || '\"'))[1:5])::VARCHAR "
      "FROM k ANTI JOIN declared AS d ON d.event = k.event AND d.key = k.key "
      "GROUP BY ALL ORDER BY n DESC, k.event, k.key LIMIT " + lim,
      {}, warehouse::QueryOptions{});
  if (!props) return props.status();
  for (const auto& row : props->rows) {
    json samples = json::array();
    if (const auto* s = std::get_if<std::string>(&row[5])) {
      json list = json::parse(*s, nullptr, false);  // a JSON array of the values as sent
      if (list.is_array()) samples = std::move(list);
    }
    out["properties"].push_back({{"source", value_json(row[0])},
                                 {"event", value_json(row[1])},
                                 {"property", value_json(row[2])},
                                 {"count", int_of(row[3])},
                                 {"last_seen_us", time_json(row[4])},
                                 {"sample_values", samples}});
  }
  return out.dump();
}

Result<std::string> TrackingApi::quarantine_json(const std::string& source,
                                                 const std::string& reason, int64_t since_us,
                                                 size_t limit) {
  auto r = warehouse_.query(
      "SELECT q.quarantine_id, epoch_us(q.received_at), q.source, q.reason, q.raw, q.ip, "
      "q.call_type, epoch_us(r.replayed_at) FROM quarantine AS q LEFT JOIN quarantine_replays "
      "AS r ON r.quarantine_id = q.quarantine_id WHERE ($1 = '' OR q.source = $1) AND "
      "($2 = '' OR contains(lower(q.reason), lower($2))) AND q.received_at >= make_timestamptz($3) "
      "ORDER BY q.received_at DESC LIMIT " + std::to_string(limit),
      {Value(source), Value(reason), Value(since_us)}, warehouse::QueryOptions{});
  if (!r) return r.status();
  json out = {{"events", json::array()}};
  for (const auto& row : r->rows) {
    out["events"].push_back({{"quarantine_id", value_json(row[0])},
                             {"received_at_us", time_json(row[1])},
                             {"source", value_json(row[2])},
                             {"reason", value_json(row[3])},
                             {"raw", value_json(row[4])},
                             {"ip", value_json(row[5])},
                             {"call_type", value_json(row[6])},
                             {"replayed_at_us", time_json(row[7])}});
  }
  return out.dump();
}

json replay_answer(bool dry_run) {
  return {{"dry_run", dry_run},
          {"replayed", 0},
          {"still_refused", 0},
          {"events_stored", 0},
          {"results", json::array()}};
}

void add_replay_outcome(json& answer, json item, const ReplayResult& r) {
  if (r.accepted) {
    answer["replayed"] = answer["replayed"].get<int64_t>() + 1;
    answer["events_stored"] = answer["events_stored"].get<int64_t>() + int64_t(r.events);
    item["status"] = "replayed";
    item["events"] = r.events;
  } else {
    answer["still_refused"] = answer["still_refused"].get<int64_t>() + 1;
    item["status"] = "refused";
    item["reason"] = r.reason;
  }
  answer["results"].push_back(std::move(item));
}

Result<std::string> TrackingApi::replay_json(int64_t since_us, const std::string& source,
                                             bool dry_run) {
  if (!hooks_.resubmit) return failed_precondition("replay is not available in this process");
  auto rows = warehouse_.query(
      "SELECT q.quarantine_id, q.source, epoch_us(q.received_at), q.raw, "
      "coalesce(q.call_type, '') FROM quarantine AS q WHERE q.quarantine_id IS NOT NULL AND "
      "q.received_at >= make_timestamptz($1) AND ($2 = '' OR q.source = $2) AND "
      "q.quarantine_id NOT IN (SELECT quarantine_id FROM quarantine_replays) "
      "ORDER BY q.received_at, q.quarantine_id",
      {Value(since_us), Value(source)}, warehouse::QueryOptions{});
  if (!rows) return rows.status();
  json out = replay_answer(dry_run);
  for (const auto& row : rows->rows) {
    QuarantineRow q;
    q.quarantine_id = std::get<std::string>(row[0]);
    if (const auto* s = std::get_if<std::string>(&row[1])) q.source = *s;
    q.received_at_us = int_of(row[2]);
    if (const auto* s = std::get_if<std::string>(&row[3])) q.raw = *s;
    if (const auto* s = std::get_if<std::string>(&row[4])) q.call_type = *s;
    json item = {{"quarantine_id", q.quarantine_id}, {"source", q.source}};
    if (dry_run) {
      out["results"].push_back(std::move(item));
      continue;
    }
    auto result = hooks_.resubmit(q);
    if (!result) return result.status();  // e.g. the WAL is not writable: stop here
    if (result->accepted) {
      auto marked = warehouse_.query(
          "INSERT INTO quarantine_replays (quarantine_id, replayed_at, events) VALUES ($1, "
          "now(), $2) ON CONFLICT DO NOTHING",
          {Value(q.quarantine_id), Value(static_cast<int64_t>(result->events))},
          warehouse::QueryOptions{});
      if (!marked) return marked.status();
    }
    add_replay_outcome(out, std::move(item), *result);
  }
  return out.dump();
}

void TrackingApi::register_routes(http::Router& router) {
  auto guarded = [this](auto work) {
    return [this, work](http::Request& req) -> boost::asio::awaitable<http::Response> {
      if (Status s = hooks_.authorize(req); !s.is_ok()) co_return error_response(s);
      Result<std::string> body = co_await pool_.run([&req, work] { return work(req); });
      if (!body) co_return error_response(body.status());
      co_return http::Response::json(200, std::move(*body));
    };
  };
  auto number = [](const http::Request& r, std::string_view name, int64_t fallback) {
    std::string v = query_param(r, name);
    if (v.empty()) return fallback;
    try {
      return static_cast<int64_t>(std::stoll(v));
    } catch (...) {
      return int64_t{-1};
    }
  };
  router.add_async("GET", "/api/v1/tracking", guarded([this](http::Request&) {
                     return tracking_json();
                   }));
  router.add_async("GET", "/api/v1/tracking/undeclared",
                   guarded([this, number](http::Request& r) -> Result<std::string> {
                     int64_t limit = number(r, "limit", 100);
                     if (limit <= 0 || limit > 10000)
                       return invalid_argument("limit must be a whole number from 1 to 10000");
                     return undeclared_json(static_cast<size_t>(limit));
                   }));
  router.add_async("GET", "/api/v1/quarantine",
                   guarded([this, number](http::Request& r) -> Result<std::string> {
                     int64_t limit = number(r, "limit", 100);
                     if (limit <= 0 || limit > 10000)
                       return invalid_argument("limit must be a whole number from 1 to 10000");
                     int64_t since = number(r, "since_us", 0);
                     if (since < 0) return invalid_argument("since_us must be µs since the epoch");
                     return quarantine_json(query_param(r, "source"), query_param(r, "reason"),
                                            since, static_cast<size_t>(limit));
                   }));
  router.add_async("POST", "/api/v1/quarantine/replay",
                   guarded([this](http::Request& r) -> Result<std::string> {
                     json body = json::parse(r.body().empty() ? "{}" : r.body(), nullptr, false);
                     if (!body.is_object())
                       return invalid_argument(
                           R"(the body must be a JSON object like {"since_us":0,"source":"app"})");
                     if (!body.contains("since_us") || !body["since_us"].is_number_integer())
                       return invalid_argument("\"since_us\" (µs since the epoch) is required");
                     std::string source =
                         body.contains("source") && body["source"].is_string()
                             ? body["source"].get<std::string>()
                             : "";
                     bool dry_run = body.value("dry_run", false);
                     return replay_json(body["since_us"].get<int64_t>(), source, dry_run);
                   }));
}

}  // namespace basalt::api
