// basalt dag …: Domino's DAGs from the command line. Locally they act on the project folder and
// its metadata store (DATA_DIR/domino.db, or domino.store), which a running scheduler (basalt up
// / basalt domino) picks up at once; with --api URL --token T (or BASALT_API / BASALT_TOKEN)
// they act through a running server's /api/v1/domino routes instead. --format json everywhere.
//
// basalt domino [PROJECT_DIR]: the scheduler alone, until SIGINT or SIGTERM.

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/clock.h"
#include "common/config.h"
#include "domino/domino_api.h"
#include "domino/domino_commands.h"
#include "domino/domino_service.h"
#include "domino/operations.h"
#include "domino/task_process.h"
#include "http/client.h"
#include "warehouse/warehouse.h"

namespace basalt::domino {

namespace {

constexpr int64_t kUs = 1'000'000;

template <typename T>
T value_or(const Result<T>& r, T fallback) {
  return r.is_ok() ? r.value() : fallback;
}

struct Common {
  std::string project = "examples/demo";
  std::string data;  // default: project_data_dir(project)
  std::string format = "table";
  std::string api;    // default: $BASALT_API; empty: act locally
  std::string token;  // default: $BASALT_TOKEN

  std::string api_url() const {
    if (!api.empty()) return api;
    const char* env = std::getenv("BASALT_API");
    return env ? env : "";
  }
};

void add_common(CLI::App& app, Common& c) {
  app.add_option("--project", c.project, "project folder (basalt.yaml, dags/)")
      ->capture_default_str();
  app.add_option("--data", c.data, "data dir (default: BASALT_DATA_DIR or basalt.yaml's data_dir)");
  app.add_option("--format", c.format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--api", c.api,
                 "act through a running server's console API at this URL (default: $BASALT_API)");
  app.add_option("--token", c.token, "the server's admin token (default: $BASALT_TOKEN)");
}

// Percent-encodes one path segment or query value.
std::string encode(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += fmt::format("%{:02X}", ch);
    }
  }
  return out;
}

// A running server's /api/v1/domino routes.
class Remote {
 public:
  explicit Remote(const Common& c) : url_(c.api_url()), token_(c.token) {
    if (token_.empty()) {
      const char* env = std::getenv("BASALT_TOKEN");
      token_ = env ? env : "";
    }
  }
  // The answer's JSON (a string for text answers); an HTTP error becomes a Status with the
  // server's message.
  Result<nlohmann::json> call(const std::string& method, const std::string& target,
                              const nlohmann::json& body = nullptr) const {
    auto client = http::Client::connect_to(url_, std::chrono::minutes(1));
    if (!client)
      return Status(client.status().code(), fmt::format("{}: {}", url_, client.status().message()));
    http::ClientRequest req;
    req.method = method;
    req.target = "/api/v1/domino" + target;
    req.headers = {{"Authorization", "Bearer " + token_}};
    if (!body.is_null()) {
      req.headers.emplace_back("Content-Type", "application/json");
      req.body = body.dump();
    }
    auto r = (*client)->send(req);
    if (!r) return Status(r.status().code(), fmt::format("{}: {}", url_, r.status().message()));
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (r->status != 200) {
      std::string message = j.is_object() && j.contains("error") && j["error"].is_string()
                                ? j["error"].get<std::string>()
                                : r->body;
      StatusCode code = r->status == 401   ? StatusCode::kUnauthenticated
                        : r->status == 403 ? StatusCode::kPermissionDenied
                        : r->status == 404 ? StatusCode::kNotFound
                        : r->status == 400 ? StatusCode::kInvalidArgument
                        : r->status == 409 ? StatusCode::kFailedPrecondition
                                           : StatusCode::kInternal;
      return Status(code, fmt::format("{} (HTTP {} from {})", message, r->status, url_));
    }
    if (j.is_discarded()) return nlohmann::json(r->body);  // a text answer (a log)
    return j;
  }

 private:
  std::string url_;
  std::string token_;
};

int fail(const std::string& command, const Status& s) {
  std::cerr << "basalt dag " << command << ": " << s.message() << "\n";
  return exit_code_of(s.code());
}

// The project's DAGs, settings and store, opened for one command.
struct Project {
  std::filesystem::path dir, data;
  DominoConfig config;
  TaskRegistry registry = make_default_task_registry();
  DagSet dags;
  std::unique_ptr<MetadataStore> store;

  Result<const Dag*> dag(const std::string& id) const {
    const Dag* d = dags.find(id);
    if (!d) {
      for (const auto& e : dags.errors) {
        if (e.find(id) != std::string::npos)
          return invalid_argument("DAG '" + id + "' has errors: " + e);
      }
      return not_found(fmt::format("no DAG '{}' in {}", id, (dir / "dags").string()));
    }
    return d;
  }
};

Result<std::unique_ptr<Project>> open_project(const Common& c) {
  auto p = std::make_unique<Project>();
  p->dir = c.project;
  p->data = c.data.empty() ? project_data_dir(p->dir) : std::filesystem::path(c.data);
  auto config = load_domino_config(p->dir);
  if (!config) return config.status();
  p->config = *config;
  p->dags = load_dags(p->dir / "dags", p->registry);
  for (const auto& e : p->dags.errors) std::cerr << e << "\n";
  auto store = open_metadata_store(p->config.store, p->data);
  if (!store) return store.status();
  p->store = std::move(*store);
  return p;
}

std::string when(int64_t us, const TimeZone& tz) {
  return us == 0 ? "-" : format_iso8601(us / kUs, tz);
}

std::string duration_text(int64_t from_us, int64_t to_us) {
  if (from_us == 0 || to_us == 0) return "-";
  return fmt::format("{:.1f}s", static_cast<double>(to_us - from_us) / kUs);
}

std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size(); ++i)
      out += fmt::format("{:<{}}", r[i], i + 1 < r.size() ? width[i] + 2 : 0);
    out += "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

// Runs a scheduler in this process until the given runs have ended (backfill --wait).
Status run_locally(Project& p, const std::vector<DagRun>& runs, std::optional<int> parallel) {
  SchedulerOptions so;
  so.project_dir = p.dir;
  so.data_dir = p.data;
  so.config = p.config;
  so.create_scheduled_runs = false;
  // Its own lease name: a running server on this host must not drive the same runs.
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  so.scheduler_id = fmt::format("{}/backfill-{}", host, getpid());
  Scheduler s(so, *p.store, p.registry);
  std::vector<Dag> dags = p.dags.dags;
  if (parallel) {
    for (auto& d : dags)
      if (d.id == runs.front().dag_id) d.max_active_runs = *parallel;
  }
  s.set_dags(std::move(dags));
  BASALT_RETURN_IF_ERROR(s.recover());
  while (true) {
    BASALT_RETURN_IF_ERROR(s.tick());
    bool done = true;
    for (const auto& r : runs) {
      auto now = p.store->run_by_id(r.id);
      if (!now) return now.status();
      if (*now && ((*now)->state == RunState::kQueued || (*now)->state == RunState::kRunning))
        done = false;
    }
    if (done) return Status::ok();
    s.wait(std::chrono::milliseconds(100));
  }
}

// What a command prints: `json` with --format json, `text` otherwise.
struct Output {
  nlohmann::json json;
  std::string text;
  int exit_code = 0;
};

// A command's two ways to act: on the local project, or through a server (null: local only).
using Action = std::function<Result<Output>(const Common&)>;

// Registers the callback of `cmd`: picks the way (--api / BASALT_API), prints the output,
// and turns a failure into a message on stderr and an exit code.
void on_run(CLI::App* cmd, std::shared_ptr<Common> c, int& exit_code, Action local, Action remote) {
  std::string name = cmd->get_name();
  cmd->callback([=, &exit_code] {
    // stdout carries the answer (JSON with --format json); the log goes to stderr.
    static const auto stderr_log = spdlog::stderr_logger_mt("basalt-dag");
    spdlog::set_default_logger(stderr_log);
    Result<Output> out = internal_error("no action");
    if (!c->api_url().empty()) {
      out = remote ? remote(*c)
                   : Result<Output>(invalid_argument(fmt::format(
                         "{} runs in this process; leave out --api (and unset BASALT_API)", name)));
    } else {
      out = local(*c);
    }
    if (!out) {
      exit_code = fail(name, out.status());
      return;
    }
    if (c->format == "json") {
      std::cout << (out->json.is_string() ? out->json.get<std::string>() : out->json.dump(2))
                << "\n";
    } else {
      std::cout << out->text;
    }
    exit_code = out->exit_code;
  });
}

// The DAG a local command names, with its project opened.
struct LocalDag {
  std::unique_ptr<Project> project;
  const Dag* dag = nullptr;
};

Result<LocalDag> open_dag(const Common& c, const std::string& id) {
  auto p = open_project(c);
  if (!p) return p.status();
  auto d = (*p)->dag(id);
  if (!d) return d.status();
  return LocalDag{std::move(*p), *d};
}

// DAG RUN TASK positional arguments shared by clear, mark, logs, why.
struct Target {
  std::string dag, run, task;
  // /dags/DAG/runs/RUN/tasks/TASK, encoded.
  std::string path() const {
    return fmt::format("/dags/{}/runs/{}/tasks/{}", encode(dag), encode(run), encode(task));
  }
};

void add_target(CLI::App& cmd, Target& t) {
  cmd.add_option("DAG", t.dag)->required();
  cmd.add_option("RUN", t.run, "run id or logical date")->required();
  cmd.add_option("TASK", t.task)->required();
}

// The target's DAG and run, for a local command.
struct LocalRun {
  LocalDag dag;
  DagRun run;
};

Result<LocalRun> open_run(const Common& c, const Target& t) {
  auto d = open_dag(c, t.dag);
  if (!d) return d.status();
  auto run = resolve_run(*d->project->store, *d->dag, t.run);
  if (!run) return run.status();
  return LocalRun{std::move(*d), *run};
}

std::string list_text(const nlohmann::json& dags) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : dags) {
    rows.push_back({d.value("dag", ""), d.value("schedule", ""), d.value("timezone", ""),
                    d.value("paused", false) ? "yes" : "no", std::to_string(d.value("tasks", 0)),
                    d.value("last_run_state", "-"), d.value("next_run_at", "-"),
                    d.value("owner", "")});
  }
  return table(
      {"DAG", "SCHEDULE", "TIMEZONE", "PAUSED", "TASKS", "LAST RUN", "NEXT RUN AT", "OWNER"}, rows);
}

void add_list(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto* cmd = dag.add_subcommand("list", "list the project's DAGs");
  add_common(*cmd, *c);
  Action local = [](const Common& c) -> Result<Output> {
    auto p = open_project(c);
    if (!p) return p.status();
    auto& pr = **p;
    nlohmann::json out = nlohmann::json::array();
    int64_t now = SystemClock::instance().now_us() / kUs;
    for (const auto& d : pr.dags.dags) {
      bool paused = value_or(pr.store->is_paused(d.id), false);
      RunFilter f;
      f.dag_id = d.id;
      f.limit = 1;
      auto last = pr.store->list_runs(f);
      std::string last_state = last && !last->empty() ? run_state_name(last->front().state) : "-";
      std::string next = "-";
      if (d.schedule) {
        // The next run starts when the interval after the current one ends.
        auto end = d.schedule->next_after(std::max(now, d.start_date), d.tz);
        if (end) next = format_iso8601(*end, d.tz);
      }
      out.push_back({{"dag", d.id},
                     {"schedule", d.schedule ? d.schedule->text() : "none"},
                     {"timezone", d.tz.name()},
                     {"paused", paused},
                     {"tasks", d.tasks.size()},
                     {"last_run_state", last_state},
                     {"next_run_at", next},
                     {"owner", d.owner},
                     {"hash", d.hash}});
    }
    return Output{out, list_text(out), pr.dags.errors.empty() ? 0 : 1};
  };
  Action remote = [](const Common& c) -> Result<Output> {
    auto r = Remote(c).call("GET", "/dags");
    if (!r) return r.status();
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : (*r)["dags"]) {
      const auto& last = d["last_run"];
      std::string next = d.value("next_run_at", "");
      out.push_back({{"dag", d["dag"]},
                     {"schedule", d["schedule"]},
                     {"timezone", d["timezone"]},
                     {"paused", d["paused"]},
                     {"tasks", d["graph"]["nodes"].size()},
                     {"last_run_state", last.is_object() ? last.value("state", "-") : "-"},
                     {"next_run_at", next.empty() ? "-" : next},
                     {"owner", d["owner"]},
                     {"hash", d["hash"]}});
    }
    for (const auto& e : (*r)["errors"]) std::cerr << e.get<std::string>() << "\n";
    return Output{out, list_text(out), (*r)["errors"].empty() ? 0 : 1};
  };
  on_run(cmd, c, exit_code, local, remote);
}

std::string show_text(const nlohmann::json& g) {
  std::string out = fmt::format(
      "{} — {}\nfile {}\nschedule {} ({}), catchup {}, max_active_runs {}, max_active_tasks "
      "{}\nhash {}{}\n\n",
      g.value("dag", ""), g.value("description", ""), g.value("file", ""), g.value("schedule", ""),
      g.value("timezone", ""), g.value("catchup", false), g.value("max_active_runs", 0),
      g.value("max_active_tasks", 0), g.value("hash", ""),
      g.value("paused", false) ? " (paused)" : "");
  std::vector<std::vector<std::string>> rows;
  std::map<std::string, std::string> rules;
  if (g.contains("graph")) {
    for (const auto& n : g["graph"]["nodes"])
      rules[n.value("id", "")] = n.value("trigger_rule", "");
  }
  for (const auto& t : g["tasks"]) {
    std::string up;
    for (const auto& u : t["upstream"]) up += (up.empty() ? "" : ",") + u.get<std::string>();
    std::string id = t.value("id", "");
    rows.push_back({id, t.value("type", ""), up.empty() ? "-" : up,
                    t.value("trigger_rule", rules[id]), std::to_string(t.value("retries", 0)),
                    t.value("pool", ""), std::to_string(t.value("priority", 0))});
  }
  out += table({"TASK", "TYPE", "UPSTREAM", "TRIGGER", "RETRIES", "POOL", "PRIORITY"}, rows);
  if (!g["versions"].empty()) {
    out += "\ndefinition history:\n";
    for (const auto& h : g["versions"])
      out += "  " + h.value("first_seen", "") + "  " + h.value("hash", "") + "\n";
  }
  return out;
}

void add_show(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto id = std::make_shared<std::string>();
  auto* cmd = dag.add_subcommand("show", "a DAG's definition, tasks and definition history");
  add_common(*cmd, *c);
  cmd->add_option("DAG", *id)->required();
  Action local = [id](const Common& c) -> Result<Output> {
    auto d = open_dag(c, *id);
    if (!d) return d.status();
    const Dag& g = *d->dag;
    auto versions = d->project->store->dag_versions(g.id);
    if (!versions) return versions.status();
    nlohmann::json tasks = nlohmann::json::array();
    for (const auto& t : g.tasks) {
      tasks.push_back({{"id", t.id},
                       {"type", t.type},
                       {"upstream", t.upstream},
                       {"trigger_rule", trigger_rule_name(t.trigger_rule)},
                       {"retries", t.retries},
                       {"pool", t.pool},
                       {"priority", t.priority},
                       {"timeout_s", t.timeout.count()},
                       {"fields", t.fields}});
    }
    nlohmann::json history = nlohmann::json::array();
    for (const auto& v : *versions)
      history.push_back({{"hash", v.hash}, {"first_seen", when(v.first_seen_us, g.tz)}});
    nlohmann::json out = {{"dag", g.id},
                          {"description", g.description},
                          {"owner", g.owner},
                          {"file", g.file.string()},
                          {"schedule", g.schedule ? g.schedule->text() : "none"},
                          {"timezone", g.tz.name()},
                          {"start_date", format_iso8601(g.start_date, g.tz)},
                          {"catchup", g.catchup},
                          {"max_active_runs", g.max_active_runs},
                          {"max_active_tasks", g.max_active_tasks},
                          {"params", g.params},
                          {"hash", g.hash},
                          {"paused", value_or(d->project->store->is_paused(g.id), false)},
                          {"tasks", tasks},
                          {"versions", history}};
    return Output{out, show_text(out)};
  };
  Action remote = [id](const Common& c) -> Result<Output> {
    auto r = Remote(c).call("GET", "/dags/" + encode(*id));
    if (!r) return r.status();
    return Output{*r, show_text(*r)};
  };
  on_run(cmd, c, exit_code, local, remote);
}

void add_trigger(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto id = std::make_shared<std::string>();
  auto date = std::make_shared<std::string>();
  auto params = std::make_shared<std::vector<std::string>>();
  auto* cmd =
      dag.add_subcommand("trigger", "create a manual run (picked up by the running scheduler)");
  add_common(*cmd, *c);
  cmd->add_option("DAG", *id)->required();
  cmd->add_option("--date", *date, "logical date (default: now)");
  cmd->add_option("--param", *params, "KEY=VALUE (repeatable; overrides the DAG's params)");
  auto conf = [params]() -> Result<nlohmann::json> {
    nlohmann::json conf = nlohmann::json::object();
    for (const auto& kv : *params) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) return invalid_argument("--param takes KEY=VALUE, not " + kv);
      auto v = nlohmann::json::parse(kv.substr(eq + 1), nullptr, false);
      conf[kv.substr(0, eq)] = v.is_discarded() ? nlohmann::json(kv.substr(eq + 1)) : v;
    }
    return conf;
  };
  auto created = [id](const nlohmann::json& run) {
    return Output{run, fmt::format("created run {} of {}\n", run.value("run_id", ""), *id)};
  };
  Action local = [=](const Common& c) -> Result<Output> {
    auto d = open_dag(c, *id);
    if (!d) return d.status();
    auto params = conf();
    if (!params) return params.status();
    std::optional<UnixSeconds> logical;
    if (!date->empty()) {
      auto t = parse_time(*date, d->dag->tz);
      if (!t) return t.status();
      logical = *t;
    }
    Project& p = *d->project;
    SchedulerOptions so;
    so.project_dir = p.dir;
    so.data_dir = p.data;
    so.config = p.config;
    Scheduler s(so, *p.store, p.registry);
    s.set_dags({*d->dag});
    auto run = s.trigger(*id, logical, *params);
    if (!run) return run.status();
    return created(run_json(*run, d->dag->tz));
  };
  Action remote = [=](const Common& c) -> Result<Output> {
    auto params = conf();
    if (!params) return params.status();
    nlohmann::json body = {{"params", *params}};
    if (!date->empty()) body["date"] = *date;
    auto r = Remote(c).call("POST", "/dags/" + encode(*id) + "/trigger", body);
    if (!r) return r.status();
    return created(*r);
  };
  on_run(cmd, c, exit_code, local, remote);
}

void add_backfill(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto id = std::make_shared<std::string>();
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto parallel = std::make_shared<int>(0);
  auto rerun = std::make_shared<bool>(false);
  auto wait = std::make_shared<bool>(false);
  auto* cmd = dag.add_subcommand("backfill", "create runs for past logical dates");
  add_common(*cmd, *c);
  cmd->add_option("DAG", *id)->required();
  cmd->add_option("--from", *from, "first logical date")->required();
  cmd->add_option("--to", *to, "last logical date (a date includes that whole day)")->required();
  cmd->add_option("--parallel", *parallel,
                  "runs at once (with --wait; default: the DAG's max_active_runs)");
  cmd->add_flag("--rerun-failed", *rerun, "clear and rerun failed runs in the range");
  cmd->add_flag("--wait", *wait, "run them in this process and wait (no server needed)");
  auto listed = [id](const nlohmann::json& runs) {
    std::string text = fmt::format("{} run(s) of {} to backfill\n", runs.size(), *id);
    for (const auto& r : runs) text += "  " + r.value("run_id", "") + "\n";
    return Output{nlohmann::json{{"runs", runs}}, text};
  };
  Action local = [=](const Common& c) -> Result<Output> {
    auto d = open_dag(c, *id);
    if (!d) return d.status();
    auto range = parse_date_range(*d->dag, *from, *to);
    if (!range) return range.status();
    Project& p = *d->project;
    SchedulerOptions so;
    so.project_dir = p.dir;
    so.data_dir = p.data;
    so.config = p.config;
    Scheduler s(so, *p.store, p.registry);
    s.set_dags({*d->dag});
    auto runs = s.backfill(*id, range->first, range->second, *rerun);
    if (!runs) return runs.status();
    nlohmann::json created = nlohmann::json::array();
    for (const auto& r : *runs) created.push_back(run_json(r, d->dag->tz));
    Output out = listed(created);
    if (!*wait || runs->empty()) return out;
    if (c.format != "json") std::cout << out.text << std::flush;  // before the tasks' own output
    out.text.clear();
    BASALT_RETURN_IF_ERROR(
        run_locally(p, *runs, *parallel > 0 ? std::optional<int>(*parallel) : std::nullopt));
    nlohmann::json ended = nlohmann::json::array();
    for (const auto& r : *runs) {
      auto now = p.store->run_by_id(r.id);
      if (!now) return now.status();
      if (!*now) continue;
      ended.push_back(run_json(**now, d->dag->tz));
      out.exit_code |= (*now)->state != RunState::kSuccess;
      out.text += fmt::format("  {} {}\n", r.run_id, run_state_name((*now)->state));
    }
    out.json["runs"] = ended;
    return out;
  };
  Action remote = [=](const Common& c) -> Result<Output> {
    if (*wait) {
      return invalid_argument(
          "--wait runs the backfill in this process: leave out --api, or leave out --wait "
          "and the server runs it");
    }
    auto r = Remote(c).call("POST", "/dags/" + encode(*id) + "/backfill",
                            {{"from", *from}, {"to", *to}, {"rerun_failed", *rerun}});
    if (!r) return r.status();
    return listed((*r)["runs"]);
  };
  on_run(cmd, c, exit_code, local, remote);
}

void add_clear(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto t = std::make_shared<Target>();
  auto downstream = std::make_shared<bool>(false);
  auto* cmd = dag.add_subcommand("clear", "reset a task (and its downstream) to run again");
  add_common(*cmd, *c);
  add_target(*cmd, *t);
  cmd->add_flag("--downstream", *downstream, "also every task downstream of it");
  auto cleared = [](const nlohmann::json& j) {
    std::string list;
    for (const auto& i : j["cleared"]) list += (list.empty() ? "" : ", ") + i.get<std::string>();
    return Output{j, fmt::format("cleared {} in run {}\n", list, j.value("run_id", ""))};
  };
  Action local = [=](const Common& c) -> Result<Output> {
    auto r = open_run(c, *t);
    if (!r) return r.status();
    auto ids = clear_task(*r->dag.project->store, *r->dag.dag, r->run, t->task, *downstream);
    if (!ids) return ids.status();
    return cleared({{"run_id", r->run.run_id}, {"cleared", *ids}});
  };
  Action remote = [=](const Common& c) -> Result<Output> {
    auto r = Remote(c).call("POST", t->path() + "/clear", {{"downstream", *downstream}});
    if (!r) return r.status();
    return cleared(*r);
  };
  on_run(cmd, c, exit_code, local, remote);
}

void add_mark(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto t = std::make_shared<Target>();
  auto state = std::make_shared<std::string>();
  auto* cmd = dag.add_subcommand("mark", "set a task instance to success or failed by hand");
  add_common(*cmd, *c);
  add_target(*cmd, *t);
  cmd->add_option("STATE", *state, "success or failed")
      ->required()
      ->check(CLI::IsMember({"success", "failed"}));
  auto marked = [=](const nlohmann::json& j) {
    return Output{j,
                  fmt::format("marked {} {} in run {}\n", t->task, *state, j.value("run_id", ""))};
  };
  Action local = [=](const Common& c) -> Result<Output> {
    auto r = open_run(c, *t);
    if (!r) return r.status();
    BASALT_RETURN_IF_ERROR(
        mark_task(*r->dag.project->store, *r->dag.dag, r->run, t->task, *parse_task_state(*state)));
    return marked({{"run_id", r->run.run_id}, {"task", t->task}, {"state", *state}});
  };
  Action remote = [=](const Common& c) -> Result<Output> {
    auto r = Remote(c).call("POST", t->path() + "/mark", {{"state", *state}});
    if (!r) return r.status();
    return marked(*r);
  };
  on_run(cmd, c, exit_code, local, remote);
}

void add_pause(CLI::App& dag, int& exit_code, bool pause) {
  auto c = std::make_shared<Common>();
  auto id = std::make_shared<std::string>();
  auto* cmd = dag.add_subcommand(
      pause ? "pause" : "unpause",
      pause ? "stop creating and starting runs of a DAG" : "resume a paused DAG");
  add_common(*cmd, *c);
  cmd->add_option("DAG", *id)->required();
  auto answer = [=] {
    return Output{nlohmann::json{{"dag", *id}, {"paused", pause}},
                  *id + (pause ? " paused\n" : " unpaused\n")};
  };
  Action local = [=](const Common& c) -> Result<Output> {
    auto d = open_dag(c, *id);
    if (!d) return d.status();
    BASALT_RETURN_IF_ERROR(d->project->store->set_paused(*id, pause));
    return answer();
  };
  Action remote = [=](const Common& c) -> Result<Output> {
    auto r = Remote(c).call("POST", "/dags/" + encode(*id) + (pause ? "/pause" : "/unpause"),
                            nlohmann::json::object());
    if (!r) return r.status();
    return answer();
  };
  on_run(cmd, c, exit_code, local, remote);
}

void add_runs(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto id = std::make_shared<std::string>();
  auto state = std::make_shared<std::string>();
  auto limit = std::make_shared<size_t>(20);
  auto* cmd = dag.add_subcommand("runs", "recent runs, newest first, with their task states");
  add_common(*cmd, *c);
  cmd->add_option("DAG", *id, "only this DAG");
  cmd->add_option("--state", *state, "queued, running, success or failed");
  cmd->add_option("--limit", *limit)->capture_default_str();
  Action local = [=](const Common& c) -> Result<Output> {
    auto p = open_project(c);
    if (!p) return p.status();
    RunFilter f;
    f.dag_id = *id;
    f.limit = *limit;
    if (!state->empty()) {
      f.state = parse_run_state(*state);
      if (!f.state) return invalid_argument("unknown run state " + *state);
    }
    auto runs = (*p)->store->list_runs(f);
    if (!runs) return runs.status();
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : *runs) {
      const Dag* d = (*p)->dags.find(r.dag_id);
      TimeZone tz = d ? d->tz : TimeZone::utc();
      auto j = run_json(r, tz);
      auto tis = (*p)->store->task_instances(r.id);
      nlohmann::json tasks = nlohmann::json::object();
      std::map<std::string, int> counts;
      if (tis) {
        for (const auto& t : *tis) {
          tasks[t.task_id] = {
              {"state", task_state_name(t.state)},
              {"tries", t.try_number},
              {"duration_s", t.ended_us && t.started_us ? (t.ended_us - t.started_us) / 1e6 : 0.0}};
          ++counts[task_state_name(t.state)];
        }
      }
      j["tasks"] = tasks;
      j["definition_changed"] = d && d->hash != r.dag_hash;
      std::string summary;
      for (const auto& [s, n] : counts)
        summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", n, s);
      std::string changed = d && d->hash != r.dag_hash ? " *" : "";
      rows.push_back({r.dag_id, r.run_id, run_state_name(r.state),
                      duration_text(r.started_us, r.ended_us), summary.empty() ? "-" : summary,
                      r.dag_hash + changed});
      out.push_back(j);
    }
    std::string text = table({"DAG", "RUN", "STATE", "DURATION", "TASKS", "DEFINITION"}, rows);
    bool older = std::any_of(rows.begin(), rows.end(),
                             [](const auto& r) { return r.back().ends_with(" *"); });
    if (older) text += "(* the run used an older definition of the DAG)\n";
    return Output{out, text};
  };
  Action remote = [=](const Common& c) -> Result<Output> {
    std::string q = fmt::format("?limit={}", *limit);
    if (!id->empty()) q += "&dag=" + encode(*id);
    if (!state->empty()) q += "&state=" + encode(*state);
    auto r = Remote(c).call("GET", "/runs" + q);
    if (!r) return r.status();
    std::vector<std::vector<std::string>> rows;
    for (const auto& j : (*r)["runs"]) {
      auto text = [&](const char* k) {
        return j[k].is_string() ? j[k].get<std::string>() : std::string("-");
      };
      rows.push_back({text("dag"), text("run_id"), text("state"), text("started_at"),
                      text("ended_at"),
                      text("dag_hash") + (j.value("definition_changed", false) ? " *" : "")});
    }
    return Output{(*r)["runs"],
                  table({"DAG", "RUN", "STATE", "STARTED", "ENDED", "DEFINITION"}, rows)};
  };
  on_run(cmd, c, exit_code, local, remote);
}

void add_logs(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto t = std::make_shared<Target>();
  auto attempt = std::make_shared<int>(0);
  auto* cmd = dag.add_subcommand("logs", "a task attempt's output (the latest attempt by default)");
  add_common(*cmd, *c);
  add_target(*cmd, *t);
  cmd->add_option("--attempt", *attempt, "attempt number");
  auto text_of = [](const std::string& log) { return Output{nlohmann::json{{"log", log}}, log}; };
  Action local = [=](const Common& c) -> Result<Output> {
    auto r = open_run(c, *t);
    if (!r) return r.status();
    auto attempts = r->dag.project->store->attempts(r->run.id, t->task);
    if (!attempts) return attempts.status();
    if (attempts->empty()) return not_found(t->task + " has not run in " + r->run.run_id);
    const TaskAttempt* a = &attempts->back();
    if (*attempt > 0) {
      a = nullptr;
      for (const auto& x : *attempts)
        if (x.try_number == *attempt) a = &x;
      if (!a) return not_found(fmt::format("no attempt {}", *attempt));
    }
    std::ifstream in(a->log_path);
    if (!in) return not_found("log file " + a->log_path + " is gone");
    std::stringstream ss;
    ss << in.rdbuf();
    return text_of(ss.str());
  };
  Action remote = [=](const Common& c) -> Result<Output> {
    std::string q = *attempt > 0 ? fmt::format("?attempt={}", *attempt) : "";
    auto r = Remote(c).call("GET", t->path() + "/log" + q);
    if (!r) return r.status();
    return text_of(r->is_string() ? r->get<std::string>() : r->dump());
  };
  on_run(cmd, c, exit_code, local, remote);
}

void add_why(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto t = std::make_shared<Target>();
  auto* cmd = dag.add_subcommand("why", "why a task instance is not running");
  add_common(*cmd, *c);
  add_target(*cmd, *t);
  auto answer = [t](nlohmann::json j) {
    j["dag"] = t->dag;
    return Output{j, j.value("why", "") + "\n"};
  };
  Action local = [=](const Common& c) -> Result<Output> {
    auto r = open_run(c, *t);
    if (!r) return r.status();
    auto text = explain_task(*r->dag.project->store, *r->dag.dag, r->dag.project->config, r->run,
                             t->task, SystemClock::instance().now_us());
    if (!text) return text.status();
    return answer({{"run_id", r->run.run_id}, {"task", t->task}, {"why", *text}});
  };
  Action remote = [=](const Common& c) -> Result<Output> {
    auto r = Remote(c).call("GET", t->path() + "/why");
    if (!r) return r.status();
    return answer(*r);
  };
  on_run(cmd, c, exit_code, local, remote);
}

std::string preview_text(const nlohmann::json& runs) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : runs) {
    std::string start = r.value("data_interval_start", "");
    rows.push_back(
        {start.substr(0, 10), start, r.value("data_interval_end", ""), r.value("run_at", "")});
  }
  return table({"DS", "DATA INTERVAL START", "DATA INTERVAL END", "RUN AT"}, rows);
}

void add_preview(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto id = std::make_shared<std::string>();
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto* cmd = dag.add_subcommand(
      "preview", "the runs a schedule or a backfill would create, without creating them");
  add_common(*cmd, *c);
  cmd->add_option("DAG", *id)->required();
  cmd->add_option("--from", *from, "first logical date")->required();
  cmd->add_option("--to", *to, "last logical date (a date includes that whole day)")->required();
  Action local = [=](const Common& c) -> Result<Output> {
    // The DAG files alone: no store is needed (nor created).
    TaskRegistry registry = make_default_task_registry();
    DagSet set = load_dags(std::filesystem::path(c.project) / "dags", registry);
    for (const auto& e : set.errors) std::cerr << e << "\n";
    const Dag* d = set.find(*id);
    if (!d) return not_found("no valid DAG '" + *id + "'");
    auto range = parse_date_range(*d, *from, *to);
    if (!range) return range.status();
    auto runs = preview_runs(*d, range->first, range->second);
    if (!runs) return runs.status();
    return Output{*runs, preview_text(*runs)};
  };
  Action remote = [=](const Common& c) -> Result<Output> {
    auto r = Remote(c).call("GET", fmt::format("/dags/{}/preview?from={}&to={}", encode(*id),
                                               encode(*from), encode(*to)));
    if (!r) return r.status();
    return Output{*r, preview_text(*r)};
  };
  on_run(cmd, c, exit_code, local, remote);
}

// The project's warehouse for a sql/check task on engine "warehouse" in `dag test`: opened
// read-write, or read-only when a running server holds it (a task that writes then fails
// with DuckDB's message).
Result<std::unique_ptr<warehouse::Warehouse>> open_warehouse(const Common& c) {
  ProjectConfig config;
  if (auto loaded = load_project_config(c.project); loaded.is_ok()) config = std::move(*loaded);
  BASALT_RETURN_IF_ERROR(apply_environment(config, [](const char* n) { return std::getenv(n); }));
  config.data_dir = c.data.empty() ? project_data_dir(c.project) : std::filesystem::path(c.data);
  warehouse::WarehouseOptions wo;
  wo.path = config.warehouse_path().string();
  wo.memory_limit_bytes = config.warehouse.memory_limit_bytes;
  wo.checkpoint_threshold_bytes = config.warehouse.checkpoint_threshold_bytes;
  std::error_code ec;
  std::filesystem::create_directories(config.warehouse_path().parent_path(), ec);
  auto w = warehouse::make_warehouse(wo);
  if (w) return w;
  if (!std::filesystem::exists(wo.path)) return w.status();
  std::cerr << fmt::format("basalt dag test: {} is in use ({}); opening it read-only\n", wo.path,
                           w.status().message());
  wo.read_only = true;
  return warehouse::make_warehouse(wo);
}

void add_test(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto id = std::make_shared<std::string>();
  auto task = std::make_shared<std::string>();
  auto date = std::make_shared<std::string>();
  auto* cmd =
      dag.add_subcommand("test", "run one task for a date in the foreground, recording nothing");
  add_common(*cmd, *c);
  cmd->add_option("DAG", *id)->required();
  cmd->add_option("TASK", *task)->required();
  cmd->add_option("DATE", *date, "logical date (default: today)");
  Action local = [=](const Common& c) -> Result<Output> {
    std::filesystem::path dir = c.project;
    auto config = load_domino_config(dir);
    if (!config) return config.status();
    TaskRegistry registry = make_default_task_registry();
    DagSet set = load_dags(dir / "dags", registry);
    for (const auto& e : set.errors) std::cerr << e << "\n";
    const Dag* d = set.find(*id);
    if (!d) return not_found("no valid DAG '" + *id + "'");
    const TaskSpec* spec = d->task(*task);
    if (!spec) return not_found("DAG " + *id + " has no task '" + *task + "'");
    int64_t now = SystemClock::instance().now_us() / kUs;
    auto t = date->empty() ? Result<UnixSeconds>(now) : parse_time(*date, d->tz);
    if (!t) return t.status();
    DagRun run;
    run.dag_id = d->id;
    run.type = RunType::kManual;
    auto iv = d->schedule ? interval_at(*d, *t) : std::nullopt;
    if (!iv && d->schedule && !date->empty() && date->size() == 10) {
      // A date: the interval whose logical date falls on that day.
      auto ivs = intervals_between(*d, *t, *t + 86399, 1);
      if (!ivs.empty()) iv = ivs.front();
    }
    run.logical_date = iv ? iv->start : *t;
    run.interval_start = iv ? iv->start : *t;
    run.interval_end = iv ? iv->end : *t;
    run.run_id = make_run_id(RunType::kManual, run.logical_date, d->tz) + "__test";
    std::unique_ptr<warehouse::Warehouse> wh;
    std::string engine = field_string(*spec, "engine");
    if ((spec->type == "sql" || spec->type == "check") &&
        (engine.empty() || engine == "warehouse")) {
      auto w = open_warehouse(c);
      if (!w) return w.status();
      wh = std::move(*w);
    }
    TaskRunContext ctx{*d, *spec, template_context(*d, run, *task), *config, wh.get(), dir};
    auto plan = registry.find(spec->type)->plan(ctx);
    if (!plan) return plan.status();
    if (auto* cmdp = std::get_if<CommandPlan>(&*plan)) {
      std::string line;
      for (const auto& a : cmdp->argv) line += (line.empty() ? "" : " ") + a;
      std::cerr << "+ " << line << "\n";
      std::cout.flush();
      auto log = AttemptLog::onto(1);
      if (!log) return log.status();
      auto proc = TaskProcess::start(*cmdp, cmdp->cwd.empty() ? dir : cmdp->cwd, *log);
      if (!proc) return proc.status();
      std::optional<int> code;
      while (!(code = (*proc)->poll())) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      std::cerr << "exit code " << *code << "\n";
      return Output{nlohmann::json{{"exit_code", *code}}, "", *code == 0 ? 0 : 1};
    }
    if (auto* in = std::get_if<InProcessPlan>(&*plan)) {
      std::atomic<bool> cancelled{false};
      BASALT_RETURN_IF_ERROR(
          in->run([](std::string_view text) { std::cerr << text << std::flush; }, cancelled));
      return Output{nlohmann::json{{"ok", true}}, "ok\n"};
    }
    const auto& dep = std::get<DependencyPlan>(*plan);
    std::string dates;
    for (const auto& x : dep.dates) dates += (dates.empty() ? "" : ", ") + x;
    return Output{nlohmann::json{{"dag", dep.dag},
                                 {"task", dep.task},
                                 {"dates", dep.dates},
                                 {"all_runs_of_day", dep.all_runs_of_day}},
                  fmt::format("would wait for DAG {} task {} on {}{}\n", dep.dag, dep.task, dates,
                              dep.all_runs_of_day ? " (every run of the day)" : "")};
  };
  on_run(cmd, c, exit_code, local, nullptr);
}

std::atomic<bool> g_stop{false};

}  // namespace

void add_dag_command(CLI::App& root, int& exit_code) {
  auto* dag = root.add_subcommand("dag",
                                  "Domino DAGs: list, show, trigger, backfill, clear, mark, pause, "
                                  "runs, logs, why, preview, test");
  dag->require_subcommand(1);
  add_list(*dag, exit_code);
  add_show(*dag, exit_code);
  add_trigger(*dag, exit_code);
  add_backfill(*dag, exit_code);
  add_clear(*dag, exit_code);
  add_mark(*dag, exit_code);
  add_pause(*dag, exit_code, true);
  add_pause(*dag, exit_code, false);
  add_runs(*dag, exit_code);
  add_logs(*dag, exit_code);
  add_why(*dag, exit_code);
  add_preview(*dag, exit_code);
  add_test(*dag, exit_code);
}

void add_domino_command(CLI::App& root, int& exit_code) {
  auto project = std::make_shared<std::string>("examples/demo");
  auto data = std::make_shared<std::string>();
  auto* cmd =
      root.add_subcommand("domino", "run the Domino scheduler alone until SIGINT or SIGTERM");
  cmd->add_option("PROJECT_DIR", *project, "project folder")->capture_default_str();
  cmd->add_option("--data", *data, "data dir (default: BASALT_DATA_DIR or basalt.yaml's data_dir)");
  cmd->callback([=, &exit_code] {
    std::filesystem::path dir = *project;
    std::filesystem::path data_dir =
        data->empty() ? project_data_dir(dir) : std::filesystem::path(*data);
    // The scheduler's thread and the task processes must not see SIGINT/SIGTERM: block them
    // before any thread starts, and wait for them here.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // sql tasks on engine "warehouse" need the project's DuckDB file, which `basalt up` owns
    // when it runs; then they fail with a clear message and the rest still runs.
    std::unique_ptr<warehouse::Warehouse> wh;
    warehouse::WarehouseOptions wo;
    wo.path = (data_dir / "warehouse.duckdb").string();
    if (std::filesystem::exists(wo.path)) {
      auto w = warehouse::make_warehouse(wo);
      if (w)
        wh = std::move(*w);
      else
        spdlog::warn("domino: warehouse {} not available to sql tasks: {}", wo.path,
                     w.status().message());
    }
    DominoServiceOptions o;
    o.project_dir = dir;
    o.data_dir = data_dir;
    o.warehouse = wh.get();
    auto service = DominoService::open(o);
    if (!service) {
      std::cerr << "basalt domino: " << service.status().message() << "\n";
      exit_code = exit_code_of(service.status().code());
      return;
    }
    Status s = (*service)->start();
    if (!s.is_ok()) {
      std::cerr << "basalt domino: " << s.message() << "\n";
      exit_code = exit_code_of(s.code());
      return;
    }
    spdlog::info("domino: scheduling {} with data in {} ({} DAG error(s))", dir.string(),
                 data_dir.string(), (*service)->dag_errors().size());
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("domino: signal {}, stopping", sig);
    (*service)->stop();
    exit_code = 0;
  });
}

}  // namespace basalt::domino
