// basalt dag …: Domino's DAGs from the command line, on the project folder and its data dir
// (DATA_DIR/domino.db). A running scheduler (basalt up / basalt domino) picks up what these
// commands write on its next pass. `--api` (acting through a running server) is not done yet.
//
// basalt domino [PROJECT_DIR]: the scheduler alone, until SIGINT or SIGTERM.

#include <fmt/format.h>
#include <unistd.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "domino/domino_commands.h"
#include "domino/domino_service.h"
#include "domino/operations.h"
#include "domino/task_process.h"
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
};

void add_common(CLI::App& app, Common& c) {
  app.add_option("--project", c.project, "project folder (basalt.yaml, dags/)")->capture_default_str();
  app.add_option("--data", c.data, "data dir (default: BASALT_DATA_DIR or basalt.yaml's data_dir)");
  app.add_option("--format", c.format, "table or json")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
}

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
        if (e.find(id) != std::string::npos) return invalid_argument("DAG '" + id + "' has errors: " + e);
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

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t i = 0; i < r.size(); ++i) out += fmt::format("{:<{}}", r[i], i + 1 < r.size() ? width[i] + 2 : 0);
    std::cout << out << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

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
          {"started_at", r.started_us ? nlohmann::json(when(r.started_us, tz)) : nlohmann::json()},
          {"ended_at", r.ended_us ? nlohmann::json(when(r.ended_us, tz)) : nlohmann::json()}};
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
    for (auto& d : dags) if (d.id == runs.front().dag_id) d.max_active_runs = *parallel;
  }
  s.set_dags(std::move(dags));
  BASALT_RETURN_IF_ERROR(s.recover());
  while (true) {
    BASALT_RETURN_IF_ERROR(s.tick());
    bool done = true;
    for (const auto& r : runs) {
      auto now = p.store->run_by_id(r.id);
      if (!now) return now.status();
      if (*now && ((*now)->state == RunState::kQueued || (*now)->state == RunState::kRunning)) done = false;
    }
    if (done) return Status::ok();
    s.wait(std::chrono::milliseconds(100));
  }
}

void add_list(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto* cmd = dag.add_subcommand("list", "list the project's DAGs");
  add_common(*cmd, *c);
  cmd->callback([c, &exit_code] {
    auto p = open_project(*c);
    if (!p) { exit_code = fail("list", p.status()); return; }
    auto& pr = **p;
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
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
      std::string schedule = d.schedule ? d.schedule->text() : "none";
      rows.push_back({d.id, schedule, d.tz.name(), paused ? "yes" : "no",
                      std::to_string(d.tasks.size()), last_state, next, d.owner});
      out.push_back({{"dag", d.id}, {"schedule", schedule}, {"timezone", d.tz.name()},
                     {"paused", paused}, {"tasks", d.tasks.size()}, {"last_run_state", last_state},
                     {"next_run_at", next}, {"owner", d.owner}, {"hash", d.hash}});
    }
    if (c->format == "json") std::cout << out.dump(2) << "\n";
    else print_table({"DAG", "SCHEDULE", "TIMEZONE", "PAUSED", "TASKS", "LAST RUN", "NEXT RUN AT", "OWNER"}, rows);
    exit_code = pr.dags.errors.empty() ? 0 : 1;
  });
}

void add_show(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto id = std::make_shared<std::string>();
  auto* cmd = dag.add_subcommand("show", "a DAG's definition, tasks and definition history");
  add_common(*cmd, *c);
  cmd->add_option("DAG", *id)->required();
  cmd->callback([c, id, &exit_code] {
    auto p = open_project(*c);
    if (!p) { exit_code = fail("show", p.status()); return; }
    auto d = (*p)->dag(*id);
    if (!d) { exit_code = fail("show", d.status()); return; }
    const Dag& g = **d;
    auto versions = (*p)->store->dag_versions(g.id);
    nlohmann::json tasks = nlohmann::json::array();
    for (const auto& t : g.tasks) {
      tasks.push_back({{"id", t.id}, {"type", t.type}, {"upstream", t.upstream},
                       {"trigger_rule", trigger_rule_name(t.trigger_rule)}, {"retries", t.retries},
                       {"pool", t.pool}, {"priority", t.priority}, {"timeout_s", t.timeout.count()},
                       {"fields", t.fields}});
    }
    nlohmann::json history = nlohmann::json::array();
    if (versions) {
      for (const auto& v : *versions) history.push_back({{"hash", v.hash}, {"first_seen", when(v.first_seen_us, g.tz)}});
    }
    nlohmann::json out = {{"dag", g.id}, {"description", g.description}, {"owner", g.owner},
                          {"file", g.file.string()},
                          {"schedule", g.schedule ? g.schedule->text() : "none"},
                          {"timezone", g.tz.name()}, {"start_date", format_iso8601(g.start_date, g.tz)},
                          {"catchup", g.catchup}, {"max_active_runs", g.max_active_runs},
                          {"max_active_tasks", g.max_active_tasks}, {"params", g.params},
                          {"hash", g.hash}, {"paused", value_or((*p)->store->is_paused(g.id), false)},
                          {"tasks", tasks}, {"versions", history}};
    if (c->format == "json") {
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << fmt::format("{} — {}\nfile {}\nschedule {} ({}), start {}, catchup {}, max_active_runs {}, max_active_tasks {}\nhash {}{}\n\n",
                               g.id, g.description, g.file.string(), out["schedule"].get<std::string>(), g.tz.name(),
                               format_iso8601(g.start_date, g.tz), g.catchup, g.max_active_runs,
                               g.max_active_tasks, g.hash, out["paused"].get<bool>() ? " (paused)" : "");
      std::vector<std::vector<std::string>> rows;
      for (const auto& t : g.tasks) {
        std::string up;
        for (const auto& u : t.upstream) up += (up.empty() ? "" : ",") + u;
        rows.push_back({t.id, t.type, up.empty() ? "-" : up, trigger_rule_name(t.trigger_rule),
                        std::to_string(t.retries), t.pool, std::to_string(t.priority)});
      }
      print_table({"TASK", "TYPE", "UPSTREAM", "TRIGGER", "RETRIES", "POOL", "PRIORITY"}, rows);
      if (!history.empty()) {
        std::cout << "\ndefinition history:\n";
        for (const auto& h : history) std::cout << "  " << h["first_seen"].get<std::string>() << "  " << h["hash"].get<std::string>() << "\n";
      }
    }
    exit_code = 0;
  });
}

void add_trigger(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto id = std::make_shared<std::string>();
  auto date = std::make_shared<std::string>();
  auto params = std::make_shared<std::vector<std::string>>();
  auto* cmd = dag.add_subcommand("trigger", "create a manual run (picked up by the running scheduler)");
  add_common(*cmd, *c);
  cmd->add_option("DAG", *id)->required();
  cmd->add_option("--date", *date, "logical date (default: now)");
  cmd->add_option("--param", *params, "KEY=VALUE (repeatable; overrides the DAG's params)");
  cmd->callback([=, &exit_code] {
    auto p = open_project(*c);
    if (!p) { exit_code = fail("trigger", p.status()); return; }
    auto d = (*p)->dag(*id);
    if (!d) { exit_code = fail("trigger", d.status()); return; }
    nlohmann::json conf = nlohmann::json::object();
    for (const auto& kv : *params) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) { exit_code = fail("trigger", invalid_argument("--param takes KEY=VALUE, not " + kv)); return; }
      auto v = nlohmann::json::parse(kv.substr(eq + 1), nullptr, false);
      conf[kv.substr(0, eq)] = v.is_discarded() ? nlohmann::json(kv.substr(eq + 1)) : v;
    }
    std::optional<UnixSeconds> logical;
    if (!date->empty()) {
      auto t = parse_time(*date, (*d)->tz);
      if (!t) { exit_code = fail("trigger", t.status()); return; }
      logical = *t;
    }
    SchedulerOptions so;
    so.project_dir = (*p)->dir;
    so.data_dir = (*p)->data;
    so.config = (*p)->config;
    Scheduler s(so, *(*p)->store, (*p)->registry);
    s.set_dags({**d});
    auto run = s.trigger(*id, logical, conf);
    if (!run) { exit_code = fail("trigger", run.status()); return; }
    if (c->format == "json") std::cout << run_json(*run, (*d)->tz).dump(2) << "\n";
    else std::cout << "created run " << run->run_id << " of " << *id << "\n";
    exit_code = 0;
  });
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
  cmd->add_option("--parallel", *parallel, "runs at once (with --wait; default: the DAG's max_active_runs)");
  cmd->add_flag("--rerun-failed", *rerun, "clear and rerun failed runs in the range");
  cmd->add_flag("--wait", *wait, "run them in this process and wait (no server needed)");
  cmd->callback([=, &exit_code] {
    auto p = open_project(*c);
    if (!p) { exit_code = fail("backfill", p.status()); return; }
    auto d = (*p)->dag(*id);
    if (!d) { exit_code = fail("backfill", d.status()); return; }
    auto f = parse_time(*from, (*d)->tz);
    auto t = parse_time(to->size() == 10 ? value_or(ds_add(*to, 1), *to) : *to, (*d)->tz);
    if (!f) { exit_code = fail("backfill", f.status()); return; }
    if (!t) { exit_code = fail("backfill", t.status()); return; }
    SchedulerOptions so;
    so.project_dir = (*p)->dir;
    so.data_dir = (*p)->data;
    so.config = (*p)->config;
    Scheduler s(so, *(*p)->store, (*p)->registry);
    s.set_dags({**d});
    auto runs = s.backfill(*id, *f, *t - (to->size() == 10 ? 1 : 0), *rerun);
    if (!runs) { exit_code = fail("backfill", runs.status()); return; }
    std::cout << fmt::format("{} run(s) of {} to backfill\n", runs->size(), *id);
    for (const auto& r : *runs) std::cout << "  " << r.run_id << "\n";
    exit_code = 0;
    if (*wait && !runs->empty()) {
      Status st = run_locally(**p, *runs, *parallel > 0 ? std::optional<int>(*parallel) : std::nullopt);
      if (!st.is_ok()) { exit_code = fail("backfill", st); return; }
      int failed = 0;
      for (const auto& r : *runs) {
        auto now = (*p)->store->run_by_id(r.id);
        std::string state = now && *now ? run_state_name((*now)->state) : "?";
        failed += state != "success";
        std::cout << "  " << r.run_id << " " << state << "\n";
      }
      exit_code = failed ? 1 : 0;
    }
  });
}

// DAG RUN TASK positional arguments shared by clear, mark, logs, why.
struct Target {
  std::string dag, run, task;
};

void add_target(CLI::App& cmd, Target& t, bool task_required = true) {
  cmd.add_option("DAG", t.dag)->required();
  cmd.add_option("RUN", t.run, "run id or logical date")->required();
  auto* o = cmd.add_option("TASK", t.task);
  if (task_required) o->required();
}

void add_clear(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto t = std::make_shared<Target>();
  auto downstream = std::make_shared<bool>(false);
  auto* cmd = dag.add_subcommand("clear", "reset a task (and its downstream) to run again");
  add_common(*cmd, *c);
  add_target(*cmd, *t);
  cmd->add_flag("--downstream", *downstream, "also every task downstream of it");
  cmd->callback([=, &exit_code] {
    auto p = open_project(*c);
    if (!p) { exit_code = fail("clear", p.status()); return; }
    auto d = (*p)->dag(t->dag);
    if (!d) { exit_code = fail("clear", d.status()); return; }
    auto run = resolve_run(*(*p)->store, **d, t->run);
    if (!run) { exit_code = fail("clear", run.status()); return; }
    auto ids = clear_task(*(*p)->store, **d, *run, t->task, *downstream);
    if (!ids) { exit_code = fail("clear", ids.status()); return; }
    std::string list;
    for (const auto& i : *ids) list += (list.empty() ? "" : ", ") + i;
    std::cout << "cleared " << list << " in run " << run->run_id << "\n";
    exit_code = 0;
  });
}

void add_mark(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto t = std::make_shared<Target>();
  auto state = std::make_shared<std::string>();
  auto* cmd = dag.add_subcommand("mark", "set a task instance to success or failed by hand");
  add_common(*cmd, *c);
  add_target(*cmd, *t);
  cmd->add_option("STATE", *state, "success or failed")->required()->check(CLI::IsMember({"success", "failed"}));
  cmd->callback([=, &exit_code] {
    auto p = open_project(*c);
    if (!p) { exit_code = fail("mark", p.status()); return; }
    auto d = (*p)->dag(t->dag);
    if (!d) { exit_code = fail("mark", d.status()); return; }
    auto run = resolve_run(*(*p)->store, **d, t->run);
    if (!run) { exit_code = fail("mark", run.status()); return; }
    Status s = mark_task(*(*p)->store, **d, *run, t->task, *parse_task_state(*state));
    if (!s.is_ok()) { exit_code = fail("mark", s); return; }
    std::cout << "marked " << t->task << " " << *state << " in run " << run->run_id << "\n";
    exit_code = 0;
  });
}

void add_pause(CLI::App& dag, int& exit_code, bool pause) {
  auto c = std::make_shared<Common>();
  auto id = std::make_shared<std::string>();
  auto* cmd = dag.add_subcommand(pause ? "pause" : "unpause",
                                 pause ? "stop creating and starting runs of a DAG" : "resume a paused DAG");
  add_common(*cmd, *c);
  cmd->add_option("DAG", *id)->required();
  cmd->callback([=, &exit_code] {
    auto p = open_project(*c);
    if (!p) { exit_code = fail(pause ? "pause" : "unpause", p.status()); return; }
    auto d = (*p)->dag(*id);
    if (!d) { exit_code = fail(pause ? "pause" : "unpause", d.status()); return; }
    Status s = (*p)->store->set_paused(*id, pause);
    if (!s.is_ok()) { exit_code = fail(pause ? "pause" : "unpause", s); return; }
    std::cout << *id << (pause ? " paused\n" : " unpaused\n");
    exit_code = 0;
  });
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
  cmd->callback([=, &exit_code] {
    auto p = open_project(*c);
    if (!p) { exit_code = fail("runs", p.status()); return; }
    RunFilter f;
    f.dag_id = *id;
    f.limit = *limit;
    if (!state->empty()) {
      f.state = parse_run_state(*state);
      if (!f.state) { exit_code = fail("runs", invalid_argument("unknown run state " + *state)); return; }
    }
    auto runs = (*p)->store->list_runs(f);
    if (!runs) { exit_code = fail("runs", runs.status()); return; }
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
          tasks[t.task_id] = {{"state", task_state_name(t.state)}, {"tries", t.try_number},
                              {"duration_s", t.ended_us && t.started_us ? (t.ended_us - t.started_us) / 1e6 : 0.0}};
          ++counts[task_state_name(t.state)];
        }
      }
      j["tasks"] = tasks;
      std::string summary;
      for (const auto& [s, n] : counts) summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", n, s);
      std::string changed = d && d->hash != r.dag_hash ? " *" : "";
      rows.push_back({r.dag_id, r.run_id, run_state_name(r.state), duration_text(r.started_us, r.ended_us),
                      summary.empty() ? "-" : summary, r.dag_hash + changed});
      out.push_back(j);
    }
    if (c->format == "json") {
      std::cout << out.dump(2) << "\n";
    } else {
      print_table({"DAG", "RUN", "STATE", "DURATION", "TASKS", "DEFINITION"}, rows);
      bool older = std::any_of(rows.begin(), rows.end(), [](const auto& r) { return r.back().ends_with(" *"); });
      if (older) std::cout << "(* the run used an older definition of the DAG)\n";
    }
    exit_code = 0;
  });
}

void add_logs(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto t = std::make_shared<Target>();
  auto attempt = std::make_shared<int>(0);
  auto* cmd = dag.add_subcommand("logs", "a task attempt's output (the latest attempt by default)");
  add_common(*cmd, *c);
  add_target(*cmd, *t);
  cmd->add_option("--attempt", *attempt, "attempt number");
  cmd->callback([=, &exit_code] {
    auto p = open_project(*c);
    if (!p) { exit_code = fail("logs", p.status()); return; }
    auto d = (*p)->dag(t->dag);
    if (!d) { exit_code = fail("logs", d.status()); return; }
    auto run = resolve_run(*(*p)->store, **d, t->run);
    if (!run) { exit_code = fail("logs", run.status()); return; }
    auto attempts = (*p)->store->attempts(run->id, t->task);
    if (!attempts) { exit_code = fail("logs", attempts.status()); return; }
    if (attempts->empty()) { exit_code = fail("logs", not_found(t->task + " has not run in " + run->run_id)); return; }
    const TaskAttempt* a = &attempts->back();
    if (*attempt > 0) {
      a = nullptr;
      for (const auto& x : *attempts) if (x.try_number == *attempt) a = &x;
      if (!a) { exit_code = fail("logs", not_found(fmt::format("no attempt {}", *attempt))); return; }
    }
    std::ifstream in(a->log_path);
    if (!in) { exit_code = fail("logs", not_found("log file " + a->log_path + " is gone")); return; }
    std::cout << in.rdbuf();
    exit_code = 0;
  });
}

void add_why(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto t = std::make_shared<Target>();
  auto* cmd = dag.add_subcommand("why", "why a task instance is not running");
  add_common(*cmd, *c);
  add_target(*cmd, *t);
  cmd->callback([=, &exit_code] {
    auto p = open_project(*c);
    if (!p) { exit_code = fail("why", p.status()); return; }
    auto d = (*p)->dag(t->dag);
    if (!d) { exit_code = fail("why", d.status()); return; }
    auto run = resolve_run(*(*p)->store, **d, t->run);
    if (!run) { exit_code = fail("why", run.status()); return; }
    auto text = explain_task(*(*p)->store, **d, (*p)->config, *run, t->task, SystemClock::instance().now_us());
    if (!text) { exit_code = fail("why", text.status()); return; }
    if (c->format == "json") std::cout << nlohmann::json{{"dag", t->dag}, {"run_id", run->run_id}, {"task", t->task}, {"why", *text}}.dump(2) << "\n";
    else std::cout << *text << "\n";
    exit_code = 0;
  });
}

void add_preview(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto id = std::make_shared<std::string>();
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto* cmd = dag.add_subcommand("preview", "the runs a schedule or a backfill would create, without creating them");
  add_common(*cmd, *c);
  cmd->add_option("DAG", *id)->required();
  cmd->add_option("--from", *from, "first logical date")->required();
  cmd->add_option("--to", *to, "last logical date (a date includes that whole day)")->required();
  cmd->callback([=, &exit_code] {
    TaskRegistry registry = make_default_task_registry();
    DagSet set = load_dags(std::filesystem::path(c->project) / "dags", registry);
    for (const auto& e : set.errors) std::cerr << e << "\n";
    const Dag* d = set.find(*id);
    if (!d) { exit_code = fail("preview", not_found("no valid DAG '" + *id + "'")); return; }
    if (!d->schedule) { exit_code = fail("preview", invalid_argument("DAG '" + *id + "' has no schedule")); return; }
    auto f = parse_time(*from, d->tz);
    auto t = parse_time(to->size() == 10 ? value_or(ds_add(*to, 1), *to) : *to, d->tz);
    if (!f) { exit_code = fail("preview", f.status()); return; }
    if (!t) { exit_code = fail("preview", t.status()); return; }
    auto intervals = intervals_between(*d, *f, *t - (to->size() == 10 ? 1 : 0));
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& iv : intervals) {
      out.push_back({{"logical_date", format_iso8601(iv.start, d->tz)},
                     {"data_interval_start", format_iso8601(iv.start, d->tz)},
                     {"data_interval_end", format_iso8601(iv.end, d->tz)},
                     {"run_at", format_iso8601(iv.end, d->tz)}});
      rows.push_back({format_date(iv.start, d->tz), format_iso8601(iv.start, d->tz),
                      format_iso8601(iv.end, d->tz), format_iso8601(iv.end, d->tz)});
    }
    if (c->format == "json") std::cout << out.dump(2) << "\n";
    else print_table({"DS", "DATA INTERVAL START", "DATA INTERVAL END", "RUN AT"}, rows);
    exit_code = 0;
  });
}

void add_test(CLI::App& dag, int& exit_code) {
  auto c = std::make_shared<Common>();
  auto id = std::make_shared<std::string>();
  auto task = std::make_shared<std::string>();
  auto date = std::make_shared<std::string>();
  auto* cmd = dag.add_subcommand("test", "run one task for a date in the foreground, recording nothing");
  add_common(*cmd, *c);
  cmd->add_option("DAG", *id)->required();
  cmd->add_option("TASK", *task)->required();
  cmd->add_option("DATE", *date, "logical date (default: today)");
  cmd->callback([=, &exit_code] {
    std::filesystem::path dir = c->project;
    auto config = load_domino_config(dir);
    if (!config) { exit_code = fail("test", config.status()); return; }
    TaskRegistry registry = make_default_task_registry();
    DagSet set = load_dags(dir / "dags", registry);
    for (const auto& e : set.errors) std::cerr << e << "\n";
    const Dag* d = set.find(*id);
    if (!d) { exit_code = fail("test", not_found("no valid DAG '" + *id + "'")); return; }
    const TaskSpec* spec = d->task(*task);
    if (!spec) { exit_code = fail("test", not_found("DAG " + *id + " has no task '" + *task + "'")); return; }
    int64_t now = SystemClock::instance().now_us() / kUs;
    auto t = date->empty() ? Result<UnixSeconds>(now) : parse_time(*date, d->tz);
    if (!t) { exit_code = fail("test", t.status()); return; }
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
    // The warehouse read-only when a server holds it; tasks needing writes then fail clearly.
    std::unique_ptr<warehouse::Warehouse> wh;
    TaskRunContext ctx{*d, *spec, template_context(*d, run, *task), *config, nullptr, dir};
    auto plan = registry.find(spec->type)->plan(ctx);
    if (!plan) { exit_code = fail("test", plan.status()); return; }
    if (auto* cmdp = std::get_if<CommandPlan>(&*plan)) {
      std::string line;
      for (const auto& a : cmdp->argv) line += (line.empty() ? "" : " ") + a;
      std::cerr << "+ " << line << "\n";
      std::cout.flush();
      auto log = AttemptLog::onto(1);
      if (!log) { exit_code = fail("test", log.status()); return; }
      auto proc = TaskProcess::start(*cmdp, cmdp->cwd.empty() ? dir : cmdp->cwd, *log);
      if (!proc) { exit_code = fail("test", proc.status()); return; }
      std::optional<int> code;
      while (!(code = (*proc)->poll())) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      std::cerr << "exit code " << *code << "\n";
      exit_code = *code == 0 ? 0 : 1;
    } else if (auto* in = std::get_if<InProcessPlan>(&*plan)) {
      std::atomic<bool> cancelled{false};
      Status s = in->run([](std::string_view text) { std::cout << text << std::flush; }, cancelled);
      if (!s.is_ok()) { exit_code = fail("test", s); return; }
      exit_code = 0;
    } else {
      const auto& dep = std::get<DependencyPlan>(*plan);
      std::string dates;
      for (const auto& x : dep.dates) dates += (dates.empty() ? "" : ", ") + x;
      std::cout << fmt::format("would wait for DAG {} task {} on {}{}\n", dep.dag, dep.task, dates,
                               dep.all_runs_of_day ? " (every run of the day)" : "");
      exit_code = 0;
    }
  });
}

std::atomic<bool> g_stop{false};

}  // namespace

void add_dag_command(CLI::App& root, int& exit_code) {
  auto* dag = root.add_subcommand("dag", "Domino DAGs: list, show, trigger, backfill, clear, mark, pause, runs, logs, why, preview, test");
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
  auto* cmd = root.add_subcommand("domino", "run the Domino scheduler alone until SIGINT or SIGTERM");
  cmd->add_option("PROJECT_DIR", *project, "project folder")->capture_default_str();
  cmd->add_option("--data", *data, "data dir (default: BASALT_DATA_DIR or basalt.yaml's data_dir)");
  cmd->callback([=, &exit_code] {
    std::filesystem::path dir = *project;
    std::filesystem::path data_dir = data->empty() ? project_data_dir(dir) : std::filesystem::path(*data);
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
      if (w) wh = std::move(*w);
      else spdlog::warn("domino: warehouse {} not available to sql tasks: {}", wo.path, w.status().message());
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
