#include "domino/domino_api.h"

#include <fmt/format.h>

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "domino/operations.h"
#include "domino/template.h"

namespace basalt::domino {

namespace {

constexpr size_t kLogTailBytes = 4096;

http::Response error_response(const Status& s) {
  return http::Response::error(http_status_of(s.code()), s.message());
}

std::string when(int64_t us, const TimeZone& tz) {
  return us ? format_iso8601(us / 1'000'000, tz) : "";
}

std::string tail_of(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  auto size = static_cast<size_t>(in.tellg());
  size_t from = size > bytes ? size - bytes : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string out(size - from, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

// Nodes (with the states of `tis` when given) and edges of a DAG.
nlohmann::json graph_json(const Dag& d, const std::vector<TaskInstance>* tis) {
  std::map<std::string, const TaskInstance*> by_id;
  if (tis)
    for (const auto& t : *tis) by_id[t.task_id] = &t;
  nlohmann::json nodes = nlohmann::json::array(), edges = nlohmann::json::array();
  for (const auto& t : d.tasks) {
    auto it = by_id.find(t.id);
    nodes.push_back({{"id", t.id},
                     {"type", t.type},
                     {"pool", t.pool},
                     {"priority", t.priority},
                     {"trigger_rule", trigger_rule_name(t.trigger_rule)},
                     {"state", it == by_id.end() ? "none" : task_state_name(it->second->state)}});
    for (const auto& u : t.upstream) edges.push_back({{"from", u}, {"to", t.id}});
  }
  return {{"nodes", nodes}, {"edges", edges}};
}

Result<nlohmann::json> body_json(const http::Request& req) {
  if (req.body().empty()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(req.body(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument("the body must be a JSON object");
  return j;
}

}  // namespace

nlohmann::json run_json(const DagRun& r, const TimeZone& tz) {
  return {{"dag", r.dag_id},
          {"run_id", r.run_id},
          {"type", run_type_name(r.type)},
          {"state", run_state_name(r.state)},
          {"logical_date", format_iso8601(r.logical_date, tz)},
          {"data_interval_start", format_iso8601(r.interval_start, tz)},
          {"data_interval_end", format_iso8601(r.interval_end, tz)},
          {"dag_hash", r.dag_hash},
          {"params", r.params},
          {"started_at", when(r.started_us, tz)},
          {"ended_at", when(r.ended_us, tz)},
          {"duration_s", r.started_us && r.ended_us ? (r.ended_us - r.started_us) / 1e6 : 0.0}};
}

DominoApi::DominoApi(DominoService& service, std::function<Status(const http::Request&)> authorize)
    : service_(service), authorize_(std::move(authorize)) {}

void DominoApi::register_routes(http::Router& router) {
  // Every route: authorize, find the DAG (when the path names one), answer JSON.
  using Handler = std::function<Result<nlohmann::json>(const http::Request&, const Dag*)>;
  auto add = [this, &router](const char* method, const char* pattern, Handler h) {
    router.add(method, pattern, [this, h](const http::Request& req) {
      Status auth = authorize_(req);
      if (!auth.is_ok()) return error_response(auth);
      std::shared_ptr<const Dag> d;
      std::string id(req.path_param("dag"));
      if (!id.empty()) {
        d = service_.scheduler().find_dag(id);
        if (!d) return error_response(not_found(fmt::format("no DAG '{}'", id)));
      }
      auto r = h(req, d.get());
      if (!r) return error_response(r.status());
      if (r->is_string()) return http::Response::text(200, r->get<std::string>());
      return http::Response::json(200, r->dump());
    });
  };
  MetadataStore* store = &service_.store();
  auto find_run = [store](const http::Request& req, const Dag& d) {
    return resolve_run(*store, d, std::string(req.path_param("run")));
  };

  add("GET", "/api/v1/domino/dags",
      [this, store](const http::Request&, const Dag*) -> Result<nlohmann::json> {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& d : service_.scheduler().all_dags()) {
          RunFilter f;
          f.dag_id = d->id;
          f.limit = 1;
          auto last = store->list_runs(f);
          if (!last) return last.status();
          std::vector<TaskInstance> tis;
          if (!last->empty()) {
            auto t = store->task_instances(last->front().id);
            if (!t) return t.status();
            tis = *t;
          }
          auto paused = store->is_paused(d->id);
          if (!paused) return paused.status();
          // When the scheduler next creates a run: the next fire time ends the current interval.
          std::optional<UnixSeconds> next;
          if (d->schedule && !*paused) next = d->schedule->next_after(std::time(nullptr), d->tz);
          out.push_back(
              {{"dag", d->id},
               {"description", d->description},
               {"owner", d->owner},
               {"next_run_at", next ? format_iso8601(*next, d->tz) : ""},
               {"schedule", d->schedule ? d->schedule->text() : "none"},
               {"timezone", d->tz.name()},
               {"paused", *paused},
               {"hash", d->hash},
               {"last_run", last->empty() ? nlohmann::json() : run_json(last->front(), d->tz)},
               {"graph", graph_json(*d, last->empty() ? nullptr : &tis)}});
        }
        return nlohmann::json{{"dags", out}, {"errors", service_.dag_errors()}};
      });

  add("GET", "/api/v1/domino/dags/{dag}",
      [store](const http::Request&, const Dag* d) -> Result<nlohmann::json> {
        auto versions = store->dag_versions(d->id);
        if (!versions) return versions.status();
        nlohmann::json history = nlohmann::json::array();
        for (const auto& v : *versions)
          history.push_back({{"hash", v.hash}, {"first_seen", when(v.first_seen_us, d->tz)}});
        nlohmann::json tasks = nlohmann::json::array();
        for (const auto& t : d->tasks) {
          tasks.push_back({{"id", t.id},
                           {"type", t.type},
                           {"upstream", t.upstream},
                           {"retries", t.retries},
                           {"timeout_s", t.timeout.count()},
                           {"pool", t.pool},
                           {"priority", t.priority},
                           {"fields", t.fields}});
        }
        auto paused = store->is_paused(d->id);
        if (!paused) return paused.status();
        return nlohmann::json{{"dag", d->id},
                              {"description", d->description},
                              {"owner", d->owner},
                              {"file", d->file.string()},
                              {"schedule", d->schedule ? d->schedule->text() : "none"},
                              {"timezone", d->tz.name()},
                              {"catchup", d->catchup},
                              {"max_active_runs", d->max_active_runs},
                              {"max_active_tasks", d->max_active_tasks},
                              {"params", d->params},
                              {"paused", *paused},
                              {"hash", d->hash},
                              {"versions", history},
                              {"tasks", tasks},
                              {"graph", graph_json(*d, nullptr)}};
      });

  add("GET", "/api/v1/domino/runs",
      [this, store](const http::Request& req, const Dag*) -> Result<nlohmann::json> {
        RunFilter f;
        f.dag_id = std::string(req.query("dag"));
        std::shared_ptr<const Dag> d =
            f.dag_id.empty() ? nullptr : service_.scheduler().find_dag(f.dag_id);
        TimeZone tz = d ? d->tz : TimeZone::utc();
        if (req.has_query("state")) {
          f.state = parse_run_state(std::string(req.query("state")));
          if (!f.state) return invalid_argument("state must be queued, running, success or failed");
        }
        for (const char* key : {"from", "to"}) {
          if (!req.has_query(key)) continue;
          auto t = parse_time(std::string(req.query(key)), tz);
          if (!t) return t.status();
          (std::string(key) == "from" ? f.from : f.to) = *t;
        }
        if (req.has_query("limit"))
          f.limit = std::clamp<size_t>(
              std::strtoul(std::string(req.query("limit")).c_str(), nullptr, 10), 1, 1000);
        auto runs = store->list_runs(f);
        if (!runs) return runs.status();
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : *runs) {
          auto rd = service_.scheduler().find_dag(r.dag_id);
          auto j = run_json(r, rd ? rd->tz : TimeZone::utc());
          j["definition_changed"] = rd && rd->hash != r.dag_hash;
          out.push_back(j);
        }
        return nlohmann::json{{"runs", out}};
      });

  add("GET", "/api/v1/domino/dags/{dag}/runs/{run}",
      [store, find_run](const http::Request& req, const Dag* d) -> Result<nlohmann::json> {
        auto run = find_run(req, *d);
        if (!run) return run.status();
        auto tis = store->task_instances(run->id);
        if (!tis) return tis.status();
        nlohmann::json tasks = nlohmann::json::array();
        for (const auto& t : d->tasks) {
          TaskInstance ti;
          for (const auto& x : *tis)
            if (x.task_id == t.id) ti = x;
          auto attempts = store->attempts(run->id, t.id);
          if (!attempts) return attempts.status();
          nlohmann::json aj = nlohmann::json::array();
          for (const auto& a : *attempts) {
            aj.push_back({{"attempt", a.try_number},
                          {"state", task_state_name(a.state)},
                          {"started_at", when(a.started_us, d->tz)},
                          {"ended_at", when(a.ended_us, d->tz)},
                          {"duration_s",
                           a.started_us && a.ended_us ? (a.ended_us - a.started_us) / 1e6 : 0.0},
                          {"exit_code", a.exit_code},
                          {"message", a.message}});
          }
          tasks.push_back(
              {{"task", t.id},
               {"type", t.type},
               {"state", task_state_name(ti.state)},
               {"tries", ti.try_number},
               {"message", ti.message},
               {"attempts", aj},
               {"log_tail",
                attempts->empty() ? "" : tail_of(attempts->back().log_path, kLogTailBytes)}});
        }
        auto j = run_json(*run, d->tz);
        j["tasks"] = tasks;
        j["graph"] = graph_json(*d, &*tis);
        return j;
      });

  add("GET", "/api/v1/domino/dags/{dag}/runs/{run}/tasks/{task}/log",
      [store, find_run](const http::Request& req, const Dag* d) -> Result<nlohmann::json> {
        auto run = find_run(req, *d);
        if (!run) return run.status();
        auto attempts = store->attempts(run->id, std::string(req.path_param("task")));
        if (!attempts) return attempts.status();
        if (attempts->empty()) return not_found("the task has not run in this run");
        int wanted = req.has_query("attempt") ? std::atoi(std::string(req.query("attempt")).c_str())
                                              : attempts->back().try_number;
        for (const auto& a : *attempts) {
          if (a.try_number == wanted) return nlohmann::json(tail_of(a.log_path, SIZE_MAX));
        }
        return not_found(fmt::format("no attempt {}", wanted));
      });

  add("GET", "/api/v1/domino/dags/{dag}/runs/{run}/tasks/{task}/why",
      [this, store, find_run](const http::Request& req, const Dag* d) -> Result<nlohmann::json> {
        auto run = find_run(req, *d);
        if (!run) return run.status();
        auto text = explain_task(*store, *d, service_.config(), *run,
                                 std::string(req.path_param("task")), 0);
        if (!text) return text.status();
        return nlohmann::json{
            {"run_id", run->run_id}, {"task", req.path_param("task")}, {"why", *text}};
      });

  add("POST", "/api/v1/domino/dags/{dag}/trigger",
      [this](const http::Request& req, const Dag* d) -> Result<nlohmann::json> {
        auto body = body_json(req);
        if (!body) return body.status();
        std::optional<UnixSeconds> date;
        if (body->contains("date")) {
          auto t = parse_time((*body)["date"].is_string() ? (*body)["date"].get<std::string>() : "",
                              d->tz);
          if (!t) return t.status();
          date = *t;
        }
        auto run = service_.scheduler().trigger(d->id, date,
                                                body->value("params", nlohmann::json::object()));
        if (!run) return run.status();
        return run_json(*run, d->tz);
      });

  add("POST", "/api/v1/domino/dags/{dag}/backfill",
      [this](const http::Request& req, const Dag* d) -> Result<nlohmann::json> {
        auto body = body_json(req);
        if (!body) return body.status();
        if (!(*body)["from"].is_string() || !(*body)["to"].is_string()) {
          return invalid_argument("the body needs from and to (dates or times)");
        }
        auto range = parse_date_range(*d, (*body)["from"].get<std::string>(),
                                      (*body)["to"].get<std::string>());
        if (!range) return range.status();
        auto runs = service_.scheduler().backfill(d->id, range->first, range->second,
                                                  body->value("rerun_failed", false));
        if (!runs) return runs.status();
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : *runs) out.push_back(run_json(r, d->tz));
        return nlohmann::json{{"runs", out}};
      });

  add("GET", "/api/v1/domino/dags/{dag}/preview",
      [](const http::Request& req, const Dag* d) -> Result<nlohmann::json> {
        if (!req.has_query("from") || !req.has_query("to"))
          return invalid_argument("preview needs ?from=…&to=…");
        auto range =
            parse_date_range(*d, std::string(req.query("from")), std::string(req.query("to")));
        if (!range) return range.status();
        return preview_runs(*d, range->first, range->second);
      });

  for (bool pause : {true, false}) {
    add("POST", pause ? "/api/v1/domino/dags/{dag}/pause" : "/api/v1/domino/dags/{dag}/unpause",
        [store, pause](const http::Request&, const Dag* d) -> Result<nlohmann::json> {
          BASALT_RETURN_IF_ERROR(store->set_paused(d->id, pause));
          return nlohmann::json{{"dag", d->id}, {"paused", pause}};
        });
  }

  add("POST", "/api/v1/domino/dags/{dag}/runs/{run}/tasks/{task}/clear",
      [store, find_run](const http::Request& req, const Dag* d) -> Result<nlohmann::json> {
        auto body = body_json(req);
        if (!body) return body.status();
        auto run = find_run(req, *d);
        if (!run) return run.status();
        auto ids = clear_task(*store, *d, *run, std::string(req.path_param("task")),
                              body->value("downstream", false));
        if (!ids) return ids.status();
        return nlohmann::json{{"run_id", run->run_id}, {"cleared", *ids}};
      });

  add("POST", "/api/v1/domino/dags/{dag}/runs/{run}/tasks/{task}/mark",
      [store, find_run](const http::Request& req, const Dag* d) -> Result<nlohmann::json> {
        auto body = body_json(req);
        if (!body) return body.status();
        auto state = parse_task_state(body->value("state", ""));
        if (!state) return invalid_argument("state must be success or failed");
        auto run = find_run(req, *d);
        if (!run) return run.status();
        BASALT_RETURN_IF_ERROR(
            mark_task(*store, *d, *run, std::string(req.path_param("task")), *state));
        return nlohmann::json{{"run_id", run->run_id},
                              {"task", req.path_param("task")},
                              {"state", task_state_name(*state)}};
      });
}

}  // namespace basalt::domino
