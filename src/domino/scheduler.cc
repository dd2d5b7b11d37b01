#include "domino/scheduler.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "domino/task_process.h"
#include "http/client.h"

namespace basalt::domino {

namespace {

constexpr int64_t kUs = 1'000'000;

std::string ts_nodash(UnixSeconds t, const TimeZone& tz) {
  CivilTime c = to_civil(tz.to_local(t));
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}", c.year, c.month, c.day, c.hour, c.minute,
                     c.second);
}

// Process exit codes of a task instance's outcome for the attempt record.
constexpr int kNoExitCode = -1;

}  // namespace

TemplateContext template_context(const Dag& dag, const DagRun& run, const std::string& task_id) {
  TemplateContext c;
  const TimeZone& tz = dag.tz;
  std::string ds = format_date(run.logical_date, tz);
  c.vars["ds"] = ds;
  c.vars["ds_nodash"] = ds.substr(0, 4) + ds.substr(5, 2) + ds.substr(8, 2);
  c.vars["ts"] = format_iso8601(run.logical_date, tz);
  c.vars["ts_nodash"] = ts_nodash(run.logical_date, tz);
  c.vars["logical_date"] = c.vars["ts"];
  c.vars["data_interval_start"] = format_iso8601(run.interval_start, tz);
  c.vars["data_interval_end"] = format_iso8601(run.interval_end, tz);
  std::optional<UnixSeconds> prev, next;
  if (dag.schedule) {
    prev = dag.schedule->last_before(run.logical_date, tz);
    next = dag.schedule->next_after(run.logical_date, tz);
  }
  c.vars["prev_ds"] = prev ? format_date(*prev, tz) : ds_add(ds, -1).value();
  c.vars["next_ds"] = next ? format_date(*next, tz) : ds_add(ds, 1).value();
  c.vars["run_id"] = run.run_id;
  c.vars["dag"] = dag.id;
  c.vars["task"] = task_id;
  c.params = dag.params;
  if (run.params.is_object()) {
    for (const auto& [k, v] : run.params.items()) c.params[k] = v;
  }
  return c;
}

std::string make_run_id(RunType type, UnixSeconds logical_date, const TimeZone& tz) {
  return fmt::format("{}__{}", run_type_name(type), format_iso8601(logical_date, tz));
}

struct InProcessState {
  std::atomic<bool> done{false};
  std::atomic<bool> cancelled{false};
  Status result;  // written before done turns true
};

struct Scheduler::Execution {
  std::shared_ptr<const Dag> dag;
  DagRun run;
  TaskInstance ti;
  int attempt = 0;
  std::string log_path;
  std::string pool;
  bool holds_slot = true;
  std::shared_ptr<AttemptLog> log;
  std::unique_ptr<TaskProcess> process;
  std::thread thread;
  std::shared_ptr<InProcessState> inproc;
  pid_t orphan_pid = 0;  // a process adopted after a restart (not our child)
  std::string orphan_token;
  bool timed_out = false;
  int64_t kill_sent_us = 0;
  bool sla_alerted = false;

  ~Execution() {
    if (inproc) inproc->cancelled = true;
    if (thread.joinable()) thread.join();
  }
};

struct Scheduler::RunView {
  DagRun run;
  std::shared_ptr<const Dag> dag;
  std::map<std::string, TaskInstance> tis;
};

Scheduler::Scheduler(SchedulerOptions options, MetadataStore& store, const TaskRegistry& registry)
    : options_(std::move(options)), store_(store), registry_(registry) {}

Scheduler::~Scheduler() { stop(); }

void Scheduler::set_dags(std::vector<Dag> dags) {
  std::lock_guard lock(mu_);
  dags_.clear();
  int64_t now = options_.clock->now_us();
  for (auto& d : dags) {
    Status s = store_.record_dag(d.id, d.hash, now);
    if (!s.is_ok()) spdlog::error("domino: cannot record DAG {}: {}", d.id, s.message());
    auto id = d.id;
    dags_[id] = std::make_shared<const Dag>(std::move(d));
  }
}

std::vector<std::string> Scheduler::reload_dags() {
  DagSet set = load_dags(options_.project_dir / "dags", registry_);
  for (const auto& e : set.errors) spdlog::error("domino: {}", e);
  set_dags(std::move(set.dags));
  return set.errors;
}

const Dag* Scheduler::dag(const std::string& id) const {
  auto it = dags_.find(id);
  return it == dags_.end() ? nullptr : it->second.get();
}

std::shared_ptr<const Dag> Scheduler::find_dag(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = dags_.find(id);
  return it == dags_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Dag>> Scheduler::all_dags() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const Dag>> out;
  for (const auto& [id, d] : dags_) out.push_back(d);
  return out;
}

size_t Scheduler::executing() const {
  std::lock_guard lock(mu_);
  return executions_.size();
}

Result<bool> Scheduler::idle() {
  auto runs = store_.active_runs();
  if (!runs) return runs.status();
  return runs->empty() && executing() == 0;
}

Result<DagRun> Scheduler::trigger(const std::string& dag_id, std::optional<UnixSeconds> logical_date,
                                  const nlohmann::json& params) {
  std::shared_ptr<const Dag> d;
  {
    std::lock_guard lock(mu_);
    auto it = dags_.find(dag_id);
    if (it == dags_.end()) return not_found(fmt::format("no DAG '{}'", dag_id));
    d = it->second;
  }
  int64_t now = options_.clock->now_us();
  DagRun run;
  run.dag_id = dag_id;
  run.type = RunType::kManual;
  run.logical_date = logical_date.value_or(now / kUs);
  auto iv = interval_at(*d, run.logical_date);
  run.interval_start = iv ? iv->start : run.logical_date;
  run.interval_end = iv ? iv->end : run.logical_date;
  run.run_id = make_run_id(RunType::kManual, run.logical_date, d->tz);
  run.dag_hash = d->hash;
  run.params = params.is_object() ? params : nlohmann::json::object();
  run.created_us = now;
  auto created = store_.create_run(run);
  wake_.notify_all();
  return created;
}

Result<std::vector<DagRun>> Scheduler::backfill(const std::string& dag_id, UnixSeconds from,
                                                UnixSeconds to, bool rerun_failed) {
  std::shared_ptr<const Dag> d;
  {
    std::lock_guard lock(mu_);
    auto it = dags_.find(dag_id);
    if (it == dags_.end()) return not_found(fmt::format("no DAG '{}'", dag_id));
    d = it->second;
  }
  if (!d->schedule) return invalid_argument(fmt::format("DAG '{}' has no schedule to backfill", dag_id));
  std::vector<DagRun> out;
  int64_t now = options_.clock->now_us();
  for (const auto& iv : intervals_between(*d, from, to)) {
    RunFilter f;
    f.dag_id = dag_id;
    f.from = iv.start;
    f.to = iv.start;
    auto existing = store_.list_runs(f);
    if (!existing) return existing.status();
    if (!existing->empty()) {
      DagRun r = existing->front();
      if (!rerun_failed || r.state != RunState::kFailed) continue;
      auto tis = store_.task_instances(r.id);
      if (!tis) return tis.status();
      for (auto ti : *tis) {
        if (ti.state != TaskState::kFailed && ti.state != TaskState::kUpstreamFailed) continue;
        ti.state = TaskState::kNone;
        ti.try_number = 0;
        ti.message.clear();
        BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
      }
      r.state = RunState::kQueued;
      r.ended_us = 0;
      BASALT_RETURN_IF_ERROR(store_.update_run(r));
      out.push_back(r);
      continue;
    }
    DagRun run;
    run.dag_id = dag_id;
    run.type = RunType::kBackfill;
    run.logical_date = iv.start;
    run.interval_start = iv.start;
    run.interval_end = iv.end;
    run.run_id = make_run_id(RunType::kBackfill, iv.start, d->tz);
    run.dag_hash = d->hash;
    run.created_us = now;
    auto created = store_.create_run(run);
    if (!created) return created.status();
    out.push_back(*created);
  }
  wake_.notify_all();
  return out;
}

Status Scheduler::tick() {
  std::lock_guard lock(mu_);
  int64_t now = options_.clock->now_us();
  // One transaction a pass: a pass writes many small rows.
  return store_.transaction([&]() -> Status {
    BASALT_RETURN_IF_ERROR(finish_executions(now));
    if (options_.create_scheduled_runs) BASALT_RETURN_IF_ERROR(create_due_runs(now));
    return advance_runs(now);
  });
}

Status Scheduler::create_due_runs(int64_t now_us) {
  const UnixSeconds now = now_us / kUs;
  for (const auto& [id, d] : dags_) {
    if (!d->schedule) continue;
    auto paused = store_.is_paused(id);
    if (!paused) return paused.status();
    if (*paused) continue;
    auto last = store_.last_scheduled_date(id);
    if (!last) return last.status();
    auto next = *last ? d->schedule->next_after(**last, d->tz)
                      : d->schedule->next_after(d->start_date - 1, d->tz);
    if (!next) continue;
    UnixSeconds start = *next;
    if (!d->catchup) {
      // Only the latest interval that has ended: skip the missed ones.
      auto latest_end = d->schedule->last_before(now + 1, d->tz);
      if (latest_end) {
        auto latest_start = d->schedule->last_before(*latest_end, d->tz);
        if (latest_start && *latest_start > start) start = *latest_start;
      }
    }
    for (int created = 0; created < 1000; ++created) {
      if (d->end_date && start > *d->end_date) break;
      auto end = d->schedule->next_after(start, d->tz);
      if (!end || *end > now) break;
      DagRun run;
      run.dag_id = id;
      run.type = RunType::kScheduled;
      run.logical_date = start;
      run.interval_start = start;
      run.interval_end = *end;
      run.run_id = make_run_id(RunType::kScheduled, start, d->tz);
      run.dag_hash = d->hash;
      run.created_us = now_us;
      auto r = store_.create_run(run);
      if (!r && r.status().code() != StatusCode::kAlreadyExists) return r.status();
      start = *end;
    }
  }
  return Status::ok();
}

namespace {

bool failed_like(TaskState s) { return s == TaskState::kFailed || s == TaskState::kUpstreamFailed; }

// What the trigger rule says about a task whose upstream states are `ups`: ready, a final
// state to set, or nullopt (wait).
enum class Verdict { kWait, kReady, kSkip, kUpstreamFailed };

Verdict judge(TriggerRule rule, const std::vector<TaskState>& ups) {
  size_t done = 0, success = 0, failed = 0, skipped = 0;
  for (auto s : ups) {
    if (is_finished(s)) ++done;
    if (s == TaskState::kSuccess) ++success;
    if (failed_like(s)) ++failed;
    if (s == TaskState::kSkipped) ++skipped;
  }
  const bool all_done = done == ups.size();
  switch (rule) {
    case TriggerRule::kAllSuccess:
      if (failed) return Verdict::kUpstreamFailed;
      if (skipped) return Verdict::kSkip;
      return all_done ? Verdict::kReady : Verdict::kWait;
    case TriggerRule::kAllDone:
      return all_done ? Verdict::kReady : Verdict::kWait;
    case TriggerRule::kOneFailed:
      if (failed) return Verdict::kReady;
      return all_done ? Verdict::kSkip : Verdict::kWait;
    case TriggerRule::kOneSuccess:
      if (success || ups.empty()) return Verdict::kReady;
      return all_done ? Verdict::kUpstreamFailed : Verdict::kWait;
  }
  return Verdict::kWait;
}

}  // namespace

Status Scheduler::advance_runs(int64_t now_us) {
  auto active = store_.active_runs();
  if (!active) return active.status();
  std::vector<RunView> views;
  std::map<std::string, int> running_runs;
  std::vector<DagRun> queued;
  for (auto& r : *active) {
    auto it = dags_.find(r.dag_id);
    if (it == dags_.end()) continue;  // the DAG is no longer defined: leave its runs alone
    if (r.state == RunState::kRunning) {
      ++running_runs[r.dag_id];
      views.push_back({r, it->second, {}});
    } else {
      queued.push_back(r);
    }
  }
  std::stable_sort(queued.begin(), queued.end(), [](const DagRun& a, const DagRun& b) {
    bool ab = a.type == RunType::kBackfill, bb = b.type == RunType::kBackfill;
    if (ab != bb) return bb;
    return a.logical_date < b.logical_date;
  });
  for (auto& r : queued) {
    auto d = dags_.at(r.dag_id);
    auto paused = store_.is_paused(r.dag_id);
    if (!paused) return paused.status();
    if (*paused || running_runs[r.dag_id] >= d->max_active_runs) continue;
    r.state = RunState::kRunning;
    r.started_us = now_us;
    BASALT_RETURN_IF_ERROR(store_.update_run(r));
    ++running_runs[r.dag_id];
    views.push_back({r, d, {}});
  }
  std::set<std::pair<int64_t, std::string>> executing;
  for (const auto& e : executions_) executing.insert({e->run.id, e->ti.task_id});

  for (auto& v : views) {
    auto tis = store_.task_instances(v.run.id);
    if (!tis) return tis.status();
    for (auto& ti : *tis) v.tis[ti.task_id] = ti;
    for (const auto& t : v.dag->tasks) {
      auto& ti = v.tis[t.id];
      if (ti.task_id.empty()) {
        ti.run = v.run.id;
        ti.task_id = t.id;
      }
      if (ti.state == TaskState::kNone) {
        std::vector<TaskState> ups;
        for (const auto& u : t.upstream) ups.push_back(v.tis[u].state);
        Verdict verdict = judge(t.trigger_rule, ups);
        if (verdict == Verdict::kWait) continue;
        ti.state = verdict == Verdict::kReady ? TaskState::kScheduled
                   : verdict == Verdict::kSkip ? TaskState::kSkipped
                                               : TaskState::kUpstreamFailed;
        if (ti.state != TaskState::kScheduled) ti.ended_us = now_us;
        BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
      } else if (ti.state == TaskState::kUpForRetry && now_us >= ti.next_try_us) {
        ti.state = TaskState::kScheduled;
        BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
      }
      if (t.type == "dependency") {
        if (ti.state == TaskState::kScheduled || ti.state == TaskState::kQueued) {
          ti.state = TaskState::kRunning;
          ti.try_number += 1;
          ti.started_us = now_us;
          ti.pid = 0;
          BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
        }
        if (ti.state == TaskState::kRunning) {
          BASALT_RETURN_IF_ERROR(check_dependency(*v.dag, v.run, ti, now_us));
        }
      } else if (ti.state == TaskState::kRunning && !executing.contains({v.run.id, t.id}) &&
                 ti.pid == 0) {
        // Running in the store but not here: an in-process task of a previous scheduler
        // process, which cannot have survived it.
        Execution e;
        e.dag = v.dag;
        e.run = v.run;
        e.ti = ti;
        BASALT_RETURN_IF_ERROR(complete(e, false, kNoExitCode,
                                        "the scheduler restarted while the task ran", now_us));
        ti = e.ti;
      }
    }
    // The run ends when every task has finished; it fails when a leaf task failed.
    bool all_finished = true, leaf_failed = false;
    std::set<std::string> has_downstream;
    for (const auto& t : v.dag->tasks) has_downstream.insert(t.upstream.begin(), t.upstream.end());
    for (const auto& t : v.dag->tasks) {
      TaskState s = v.tis[t.id].state;
      if (!is_finished(s)) all_finished = false;
      if (failed_like(s) && !has_downstream.contains(t.id)) leaf_failed = true;
    }
    if (all_finished) {
      v.run.state = leaf_failed ? RunState::kFailed : RunState::kSuccess;
      v.run.ended_us = now_us;
      BASALT_RETURN_IF_ERROR(store_.update_run(v.run));
      spdlog::info("domino: run {} {} {}", v.run.dag_id, v.run.run_id, run_state_name(v.run.state));
      if (leaf_failed) alert(*v.dag, fmt::format("run {} of DAG {} failed", v.run.run_id, v.run.dag_id));
    }
  }
  return start_ready(views, now_us);
}

Status Scheduler::check_dependency(const Dag& d, const DagRun& run, TaskInstance& ti,
                                   int64_t now_us) {
  const TaskSpec* spec = d.task(ti.task_id);
  const TaskType* type = registry_.find(spec->type);
  TaskRunContext ctx{d, *spec, template_context(d, run, ti.task_id), options_.config,
                     options_.warehouse, options_.project_dir};
  auto plan = type->plan(ctx);
  if (!plan) {
    Execution e;
    e.dag = dags_.at(d.id);
    e.run = run;
    e.ti = ti;
    BASALT_RETURN_IF_ERROR(complete(e, false, kNoExitCode, plan.status().message(), now_us));
    ti = e.ti;
    return Status::ok();
  }
  const auto& dep = std::get<DependencyPlan>(*plan);
  const Dag* upstream = dag(dep.dag);
  const TimeZone& tz = upstream ? upstream->tz : d.tz;
  std::string unmet;
  for (const auto& date : dep.dates) {
    auto day = parse_time(date, tz);
    if (!day) return day.status();
    auto next_day = parse_time(ds_add(date, 1).value(), tz);
    auto states = store_.task_states_between(dep.dag, dep.task, *day, *next_day);
    if (!states) return states.status();
    size_t ok = 0;
    for (const auto& [r, s] : *states) ok += s == TaskState::kSuccess;
    size_t expected = 1;
    if (dep.all_runs_of_day) {
      expected = upstream ? intervals_between(*upstream, *day, *next_day - 1).size() : 1;
      if (expected == 0) expected = 1;
    }
    if (ok < expected) {
      unmet = fmt::format("dependency on DAG {} task {} for date {} not met ({} of {} run(s) succeeded)",
                          dep.dag, dep.task, date, ok, expected);
      break;
    }
  }
  if (unmet.empty()) {
    Execution e;
    e.dag = dags_.at(d.id);
    e.run = run;
    e.ti = ti;
    BASALT_RETURN_IF_ERROR(complete(e, true, 0, "", now_us));
    ti = e.ti;
    return Status::ok();
  }
  if (spec->timeout.count() > 0 && now_us - ti.started_us > spec->timeout.count() * kUs) {
    Execution e;
    e.dag = dags_.at(d.id);
    e.run = run;
    e.ti = ti;
    BASALT_RETURN_IF_ERROR(complete(e, false, kNoExitCode, "timed out: " + unmet, now_us));
    ti = e.ti;
    return Status::ok();
  }
  if (ti.message != unmet) {
    ti.message = unmet;
    BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
  }
  return Status::ok();
}

Status Scheduler::start_ready(std::vector<RunView>& views, int64_t now_us) {
  struct Candidate {
    RunView* view;
    const TaskSpec* spec;
    size_t order;
  };
  std::vector<Candidate> ready;
  for (auto& v : views) {
    if (v.run.state != RunState::kRunning) continue;
    for (size_t i = 0; i < v.dag->tasks.size(); ++i) {
      const auto& t = v.dag->tasks[i];
      if (t.type == "dependency") continue;
      auto s = v.tis[t.id].state;
      if (s == TaskState::kScheduled || s == TaskState::kQueued) ready.push_back({&v, &t, i});
    }
  }
  std::stable_sort(ready.begin(), ready.end(), [](const Candidate& a, const Candidate& b) {
    if (a.spec->priority != b.spec->priority) return a.spec->priority > b.spec->priority;
    bool ab = a.view->run.type == RunType::kBackfill, bb = b.view->run.type == RunType::kBackfill;
    if (ab != bb) return bb;
    if (a.view->run.logical_date != b.view->run.logical_date) {
      return a.view->run.logical_date < b.view->run.logical_date;
    }
    return a.order < b.order;
  });
  int slots = 0;
  std::map<std::string, int> pool_used, dag_used;
  std::map<std::string, std::vector<std::string>> pool_holders;
  for (const auto& e : executions_) {
    if (!e->holds_slot) continue;
    ++slots;
    ++pool_used[e->pool];
    ++dag_used[e->dag->id];
    pool_holders[e->pool].push_back(e->dag->id + "." + e->ti.task_id);
  }
  for (auto& c : ready) {
    auto& ti = c.view->tis[c.spec->id];
    std::string reason;
    int pool_slots = options_.config.pool_slots(c.spec->pool);
    if (pool_slots == 0) {
      reason = fmt::format("pool {} is not configured (domino.pools in basalt.yaml)", c.spec->pool);
    } else if (slots >= options_.config.parallelism) {
      reason = fmt::format("global parallelism {} reached", options_.config.parallelism);
    } else if (pool_used[c.spec->pool] >= pool_slots) {
      std::string holders;
      for (size_t i = 0; i < pool_holders[c.spec->pool].size() && i < 5; ++i) {
        holders += (i ? ", " : "") + pool_holders[c.spec->pool][i];
      }
      reason = fmt::format("pool {} full ({}/{}, held by {})", c.spec->pool,
                           pool_used[c.spec->pool], pool_slots, holders);
    } else if (dag_used[c.view->dag->id] >= c.view->dag->max_active_tasks) {
      reason = fmt::format("DAG {} has max_active_tasks {} running", c.view->dag->id,
                           c.view->dag->max_active_tasks);
    }
    if (!reason.empty()) {
      // Written when the kind of reason changes, not on every pass: the holders named are
      // those at that moment.
      auto kind = [](const std::string& m) { return m.substr(0, m.find(" (")); };
      if (ti.state != TaskState::kQueued || kind(ti.message) != kind(reason)) {
        ti.state = TaskState::kQueued;
        ti.message = reason;
        BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
      }
      continue;
    }
    BASALT_RETURN_IF_ERROR(start_instance(*c.view, ti, now_us));
    if (ti.state == TaskState::kRunning) {
      ++slots;
      ++pool_used[c.spec->pool];
      ++dag_used[c.view->dag->id];
      pool_holders[c.spec->pool].push_back(c.view->dag->id + "." + c.spec->id);
    }
  }
  return Status::ok();
}

Status Scheduler::start_instance(RunView& view, TaskInstance& ti, int64_t now_us) {
  const TaskSpec& spec = *view.dag->task(ti.task_id);
  const TaskType* type = registry_.find(spec.type);
  auto previous = store_.attempts(view.run.id, ti.task_id);
  if (!previous) return previous.status();
  auto e = std::make_unique<Execution>();
  e->dag = view.dag;
  e->run = view.run;
  e->attempt = static_cast<int>(previous->size()) + 1;
  e->pool = spec.pool;
  e->log_path = (options_.data_dir / "logs" / view.dag->id / view.run.run_id / ti.task_id /
                 fmt::format("attempt-{}.log", e->attempt)).string();
  ti.state = TaskState::kRunning;
  ti.try_number += 1;
  ti.started_us = now_us;
  ti.ended_us = 0;
  ti.message.clear();
  ti.pid = 0;
  ti.pid_token.clear();
  e->ti = ti;

  auto fail_now = [&](const std::string& message) -> Status {
    BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
    Status s = complete(*e, false, kNoExitCode, message, now_us);
    ti = e->ti;
    return s;
  };
  auto log = AttemptLog::open(e->log_path, options_.config.log_max_bytes);
  if (!log) return fail_now(log.status().message());
  e->log = *log;
  TaskRunContext ctx{*view.dag, spec, template_context(*view.dag, view.run, ti.task_id),
                     options_.config, options_.warehouse, options_.project_dir};
  auto plan = type->plan(ctx);
  if (!plan) {
    e->log->write("domino: " + plan.status().message() + "\n");
    return fail_now(plan.status().message());
  }
  if (auto* cmd = std::get_if<CommandPlan>(&*plan)) {
    std::string line;
    for (const auto& a : cmd->argv) line += (line.empty() ? "" : " ") + a;
    e->log->write(fmt::format("domino: attempt {} of {}: {}\n", e->attempt, ti.task_id, line));
    auto p = TaskProcess::start(*cmd, cmd->cwd.empty() ? options_.project_dir : cmd->cwd, e->log);
    if (!p) {
      e->log->write("domino: " + p.status().message() + "\n");
      return fail_now(p.status().message());
    }
    e->process = std::move(*p);
    ti.pid = e->process->pid();
    ti.pid_token = process_start_token(ti.pid);
  } else if (auto* in = std::get_if<InProcessPlan>(&*plan)) {
    e->inproc = std::make_shared<InProcessState>();
    e->thread = std::thread([state = e->inproc, run = in->run, log = e->log] {
      Status s = run([&log](std::string_view text) { log->write(text); }, state->cancelled);
      if (!s.is_ok()) log->write("domino: " + s.message() + "\n");
      state->result = s;
      state->done = true;
    });
  } else {
    return fail_now("a dependency plan cannot hold a worker slot");
  }
  e->ti = ti;
  BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
  TaskAttempt a;
  a.run = view.run.id;
  a.task_id = ti.task_id;
  a.try_number = e->attempt;
  a.state = TaskState::kRunning;
  a.started_us = now_us;
  a.pid = ti.pid;
  a.log_path = e->log_path;
  BASALT_RETURN_IF_ERROR(store_.save_attempt(a));
  spdlog::debug("domino: started {}.{} {} attempt {}", view.dag->id, ti.task_id, view.run.run_id, e->attempt);
  executions_.push_back(std::move(e));
  return Status::ok();
}

Status Scheduler::complete(Execution& e, bool ok, int exit_code, const std::string& message,
                           int64_t now_us) {
  const TaskSpec* spec = e.dag->task(e.ti.task_id);
  TaskInstance& ti = e.ti;
  ti.ended_us = now_us;
  ti.pid = 0;
  ti.pid_token.clear();
  ti.message = message;
  if (ok) {
    ti.state = TaskState::kSuccess;
  } else if (spec && ti.try_number < spec->retries + 1) {
    ti.state = TaskState::kUpForRetry;
    ti.next_try_us = now_us + std::chrono::duration_cast<std::chrono::microseconds>(
                                  spec->retry_delay_for(ti.try_number + 1)).count();
  } else {
    ti.state = TaskState::kFailed;
  }
  BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
  if (e.attempt == 0) {
    auto previous = store_.attempts(e.run.id, ti.task_id);
    if (!previous) return previous.status();
    e.attempt = previous->empty() ? 1 : previous->back().try_number;
    if (!previous->empty()) e.log_path = previous->back().log_path;
    if (previous->empty() || previous->back().state != TaskState::kRunning) {
      e.attempt = static_cast<int>(previous->size()) + 1;
    }
  }
  TaskAttempt a;
  a.run = e.run.id;
  a.task_id = ti.task_id;
  a.try_number = e.attempt;
  a.state = ok ? TaskState::kSuccess : TaskState::kFailed;
  a.started_us = ti.started_us;
  a.ended_us = now_us;
  a.pid = e.process ? e.process->pid() : e.orphan_pid;
  a.exit_code = exit_code;
  a.log_path = e.log_path;
  a.message = message;
  BASALT_RETURN_IF_ERROR(store_.save_attempt(a));
  if (e.log) {
    e.log->write(fmt::format("domino: attempt {} {}{}\n", e.attempt, ok ? "succeeded" : "failed",
                             message.empty() ? "" : ": " + message));
  }
  if (ti.state == TaskState::kFailed) {
    alert(*e.dag, fmt::format("task {}.{} of run {} failed after {} attempt(s): {}", e.dag->id,
                              ti.task_id, e.run.run_id, ti.try_number, message));
  } else if (ti.state == TaskState::kUpForRetry) {
    spdlog::info("domino: task {}.{} of run {} failed ({}); retry {} at {}", e.dag->id, ti.task_id,
                 e.run.run_id, message, ti.try_number + 1, ti.next_try_us / kUs);
  }
  return Status::ok();
}

Status Scheduler::finish_executions(int64_t now_us) {
  for (size_t i = 0; i < executions_.size();) {
    Execution& e = *executions_[i];
    const TaskSpec* spec = e.dag->task(e.ti.task_id);
    std::optional<std::pair<bool, std::string>> outcome;
    int exit_code = kNoExitCode;
    const bool over_time = spec && spec->timeout.count() > 0 &&
                           now_us - e.ti.started_us > spec->timeout.count() * kUs;
    if (spec && spec->sla && !e.sla_alerted && now_us - e.ti.started_us > spec->sla->count() * kUs) {
      e.sla_alerted = true;
      alert(*e.dag, fmt::format("task {}.{} of run {} is running past its sla of {}s", e.dag->id,
                                e.ti.task_id, e.run.run_id, spec->sla->count()));
    }
    if (e.process) {
      if (over_time && !e.timed_out) {
        e.timed_out = true;
        e.kill_sent_us = now_us;
        e.process->signal_group(SIGTERM);
      } else if (e.timed_out && now_us - e.kill_sent_us > options_.config.kill_grace.count() * 1000) {
        e.process->signal_group(SIGKILL);
      }
      if (auto code = e.process->poll()) {
        exit_code = *code;
        if (e.timed_out) {
          outcome = {false, fmt::format("timed out after {}s; process group killed", spec->timeout.count())};
        } else {
          outcome = {*code == 0, *code == 0 ? "" : fmt::format("exit code {}", *code)};
        }
      }
    } else if (e.inproc) {
      if (e.inproc->done) {
        e.thread.join();
        outcome = {e.inproc->result.is_ok(), e.inproc->result.message()};
        exit_code = e.inproc->result.is_ok() ? 0 : 1;
      } else if (over_time && !e.timed_out) {
        // A thread cannot be killed: the attempt fails now, and its result is ignored.
        e.timed_out = true;
        e.inproc->cancelled = true;
        outcome = {false, fmt::format("timed out after {}s", spec->timeout.count())};
      }
    } else if (e.orphan_pid) {
      if (over_time && !e.timed_out) {
        e.timed_out = true;
        kill(-e.orphan_pid, SIGKILL);
      }
      if (process_start_token(e.orphan_pid) != e.orphan_token) {
        outcome = {false, e.timed_out ? "timed out; process group killed"
                                      : "the process ended while the scheduler was restarting; "
                                        "its result is unknown"};
      }
    }
    if (!outcome) {
      ++i;
      continue;
    }
    BASALT_RETURN_IF_ERROR(complete(e, outcome->first, exit_code, outcome->second, now_us));
    if (e.thread.joinable()) e.thread.detach();  // timed out in-process work; it owns its state
    executions_.erase(executions_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  return Status::ok();
}

Status Scheduler::recover() {
  std::lock_guard lock(mu_);
  int64_t now = options_.clock->now_us();
  auto running = store_.running_task_instances();
  if (!running) return running.status();
  for (const auto& ti : *running) {
    auto run = store_.run_by_id(ti.run);
    if (!run) return run.status();
    if (!*run) continue;
    auto it = dags_.find((*run)->dag_id);
    if (it == dags_.end()) continue;
    const TaskSpec* spec = it->second->task(ti.task_id);
    if (!spec || spec->type == "dependency") continue;  // re-checked by the next tick
    auto e = std::make_unique<Execution>();
    e->dag = it->second;
    e->run = **run;
    e->ti = ti;
    e->pool = spec->pool;
    if (ti.pid > 0 && !ti.pid_token.empty() && process_start_token(static_cast<pid_t>(ti.pid)) == ti.pid_token) {
      spdlog::warn("domino: {}.{} of run {} still runs as process {}: watching it", e->dag->id,
                   ti.task_id, e->run.run_id, ti.pid);
      e->orphan_pid = static_cast<pid_t>(ti.pid);
      e->orphan_token = ti.pid_token;
      auto previous = store_.attempts(ti.run, ti.task_id);
      if (previous && !previous->empty()) {
        e->attempt = previous->back().try_number;
        e->log_path = previous->back().log_path;
      }
      executions_.push_back(std::move(e));
      continue;
    }
    BASALT_RETURN_IF_ERROR(complete(*e, false, kNoExitCode,
                                    "the task's process was gone after a scheduler restart", now));
  }
  return Status::ok();
}

void Scheduler::alert(const Dag& d, const std::string& text) {
  spdlog::warn("domino alert: {}", text);
  if (d.alert_webhook.empty()) return;
  const std::string& url = d.alert_webhook;
  if (url.rfind("http://", 0) != 0) {
    spdlog::warn("domino: alert webhook {} is not http://; not sent", url);
    return;
  }
  std::string rest = url.substr(7);
  auto slash = rest.find('/');
  auto client = http::Client::connect_to("http://" + rest.substr(0, slash), std::chrono::seconds(2));
  if (!client) {
    spdlog::warn("domino: alert webhook {}: {}", url, client.status().message());
    return;
  }
  http::ClientRequest req;
  req.method = "POST";
  req.target = slash == std::string::npos ? "/" : rest.substr(slash);
  req.headers = {{"Content-Type", "application/json"}};
  req.body = nlohmann::json{{"dag", d.id}, {"text", text}}.dump();
  auto r = (*client)->send(req);
  if (!r) spdlog::warn("domino: alert webhook {}: {}", url, r.status().message());
}

Status Scheduler::start() {
  BASALT_RETURN_IF_ERROR(recover());
  {
    std::lock_guard lock(wake_mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { loop(); });
  return Status::ok();
}

void Scheduler::loop() {
  while (true) {
    Status s = tick();
    if (!s.is_ok()) spdlog::error("domino: scheduler pass failed: {}", s.message());
    auto wait = executing() > 0 ? std::chrono::milliseconds(5) : options_.config.tick_interval;
    std::unique_lock lock(wake_mu_);
    if (wake_.wait_for(lock, wait, [this] { return stopping_; })) return;
  }
}

void Scheduler::stop() {
  {
    std::lock_guard lock(wake_mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  int64_t now = options_.clock->now_us();
  for (auto& e : executions_) {
    if (e->orphan_pid) continue;  // not ours to stop
    if (e->process) e->process->signal_group(SIGKILL);
    if (e->inproc) e->inproc->cancelled = true;
    Status s = complete(*e, false, kNoExitCode, "the scheduler stopped while the task ran", now);
    if (!s.is_ok()) spdlog::error("domino: {}", s.message());
  }
  executions_.clear();
}

}  // namespace basalt::domino
