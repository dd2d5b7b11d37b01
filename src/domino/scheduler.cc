#include "domino/scheduler.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
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

// Wakes the scheduler loop from other threads: an eventfd the loop polls.
class Scheduler::Waker {
 public:
  Waker() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~Waker() {
    if (fd_ >= 0) ::close(fd_);
  }
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;
  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
  }
  void drain() {
    uint64_t n = 0;
    [[maybe_unused]] ssize_t r = ::read(fd_, &n, sizeof n);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

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
  int orphan_exit_fd = -1;  // its pidfd, or -1
  bool timed_out = false;
  int64_t kill_sent_us = 0;
  bool sla_alerted = false;

  ~Execution() {
    if (inproc) inproc->cancelled = true;
    if (thread.joinable()) thread.join();
    if (orphan_exit_fd >= 0) ::close(orphan_exit_fd);
  }
};

struct Scheduler::ActiveRun {
  DagRun run;
  std::shared_ptr<const Dag> dag;
  std::map<std::string, TaskInstance> tis;  // every task of the DAG (state none if never stored)
  std::set<size_t> ready;            // indices in dag->tasks of scheduled/queued worker tasks
  bool dirty = true;                 // trigger rules and the run's end need a look
  bool waits_on_dependency = false;  // a dependency task is waiting
  int64_t retry_due_us = INT64_MAX;  // the earliest next try of an up_for_retry task
};

Scheduler::Scheduler(SchedulerOptions options, MetadataStore& store, const TaskRegistry& registry)
    : options_(std::move(options)),
      store_(store),
      registry_(registry),
      waker_(std::make_shared<Waker>()) {
  owner_ = options_.scheduler_id;
  if (owner_.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    owner_ = host[0] ? host : "localhost";
  }
}

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
  store_version_.reset();  // the runs' DAG definitions changed: reload
  waker_->wake();
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

Result<DagRun> Scheduler::trigger(const std::string& dag_id,
                                  std::optional<UnixSeconds> logical_date,
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
  waker_->wake();
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
  if (!d->schedule)
    return invalid_argument(fmt::format("DAG '{}' has no schedule to backfill", dag_id));
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
  waker_->wake();
  return out;
}

Status Scheduler::tick() {
  std::lock_guard lock(mu_);
  int64_t now = options_.clock->now_us();
  next_wake_us_ =
      now +
      std::chrono::duration_cast<std::chrono::microseconds>(options_.config.tick_interval).count();
  // One transaction a pass: a pass writes many small rows, and the version read at its end
  // covers exactly this pass's writes.
  Status s = store_.transaction([&]() -> Status {
    BASALT_RETURN_IF_ERROR(refresh(now));
    BASALT_RETURN_IF_ERROR(finish_executions(now));
    if (options_.create_scheduled_runs) BASALT_RETURN_IF_ERROR(create_due_runs(now));
    BASALT_RETURN_IF_ERROR(promote_queued_runs(now));
    const bool check_dependencies = now >= next_dependency_check_us_;
    bool any_waits = false;
    for (auto it = active_.begin(); it != active_.end();) {
      ActiveRun& r = it->second;
      if (r.run.state == RunState::kRunning &&
          (r.dirty || now >= r.retry_due_us || (check_dependencies && r.waits_on_dependency))) {
        BASALT_RETURN_IF_ERROR(evaluate(r, check_dependencies, now));
      }
      if (r.run.state != RunState::kQueued && r.run.state != RunState::kRunning) {
        it = active_.erase(it);
        continue;
      }
      any_waits = any_waits || r.waits_on_dependency;
      if (r.retry_due_us != INT64_MAX) wake_at(r.retry_due_us);
      ++it;
    }
    if (check_dependencies) {
      next_dependency_check_us_ =
          now + std::chrono::duration_cast<std::chrono::microseconds>(options_.config.tick_interval)
                    .count();
    }
    if (any_waits) wake_at(next_dependency_check_us_);
    BASALT_RETURN_IF_ERROR(start_ready(now));
    for (const auto& [id, r] : active_) {
      // Changed after its look this pass (a task failed to start): look again at once.
      if (r.dirty && r.run.state == RunState::kRunning) wake_at(now);
    }
    auto version = store_.version();
    if (!version) return version.status();
    store_version_ = *version;
    return Status::ok();
  });
  if (!s.is_ok()) store_version_.reset();  // rolled back: the cache may be ahead of the store
  return s;
}

Result<std::set<int64_t>> Scheduler::claim(int64_t now_us) {
  const int64_t lease_us =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.lease).count();
  const size_t limit = std::max<size_t>(options_.claim_batch, 1);
  auto ids = store_.claim_runs(owner_, now_us, now_us + lease_us, limit);
  if (!ids) return ids.status();
  std::set<int64_t> held(ids->begin(), ids->end());
  size_t taken = 0;
  for (int64_t id : held) taken += !active_.contains(id);
  // A full batch may leave more to take: claim again next pass; else renew at a third.
  next_claim_us_ = taken >= limit ? now_us : now_us + lease_us / 3;
  return held;
}

Status Scheduler::refresh(int64_t now_us) {
  auto version = store_.version();
  if (!version) return version.status();
  if (!store_version_ || *store_version_ != *version) return reload(now_us);
  if (now_us < next_claim_us_) return Status::ok();
  // Renew the leases; a change in what this scheduler holds means a reload.
  auto held = claim(now_us);
  if (!held) return held.status();
  bool same = held->size() == active_.size();
  for (auto it = active_.begin(); same && it != active_.end(); ++it)
    same = held->contains(it->first);
  return same ? Status::ok() : reload(now_us);
}

Status Scheduler::reload(int64_t now_us) {
  // Someone else wrote (an operation, another process): read the active runs again.
  active_.clear();
  paused_.clear();
  due_us_.clear();
  next_dependency_check_us_ = 0;
  auto held = claim(now_us);
  if (!held) return held.status();
  auto runs = store_.active_runs();
  if (!runs) return runs.status();
  for (auto& run : *runs) {
    if (!held->contains(run.id)) continue;  // another scheduler drives it
    auto it = dags_.find(run.dag_id);
    if (it == dags_.end()) continue;  // the DAG is no longer defined: leave its runs alone
    ActiveRun r;
    r.run = run;
    r.dag = it->second;
    auto tis = store_.task_instances(run.id);
    if (!tis) return tis.status();
    for (auto& ti : *tis) r.tis[ti.task_id] = std::move(ti);
    for (const auto& t : r.dag->tasks) {
      auto& ti = r.tis[t.id];
      if (ti.task_id.empty()) {
        ti.run = run.id;
        ti.task_id = t.id;
      }
    }
    active_.emplace(run.id, std::move(r));
  }
  return Status::ok();
}

Result<bool> Scheduler::paused(const std::string& dag_id) {
  auto it = paused_.find(dag_id);
  if (it != paused_.end()) return it->second;
  auto p = store_.is_paused(dag_id);
  if (!p) return p.status();
  paused_[dag_id] = *p;
  return *p;
}

Status Scheduler::create_due_runs(int64_t now_us) {
  const UnixSeconds now = now_us / kUs;
  for (const auto& [id, d] : dags_) {
    if (!d->schedule) continue;
    auto due = due_us_.find(id);
    if (due != due_us_.end() && due->second > now_us) {
      wake_at(due->second);
      continue;
    }
    auto is_paused = paused(id);
    if (!is_paused) return is_paused.status();
    if (*is_paused) {
      due_us_[id] = INT64_MAX;  // unpausing writes the store, which resets this
      continue;
    }
    auto last = store_.last_scheduled_date(id);
    if (!last) return last.status();
    auto next = *last ? d->schedule->next_after(**last, d->tz)
                      : d->schedule->next_after(d->start_date - 1, d->tz);
    if (!next) {
      due_us_[id] = INT64_MAX;
      continue;
    }
    UnixSeconds start = *next;
    if (!d->catchup) {
      // Only the latest interval that has ended: skip the missed ones.
      auto latest_end = d->schedule->last_before(now + 1, d->tz);
      if (latest_end) {
        auto latest_start = d->schedule->last_before(*latest_end, d->tz);
        if (latest_start && *latest_start > start) start = *latest_start;
      }
    }
    int64_t next_due = INT64_MAX;
    for (int created = 0; created < 1000; ++created) {
      if (d->end_date && start > *d->end_date) break;
      auto end = d->schedule->next_after(start, d->tz);
      if (!end) break;
      if (*end > now) {
        next_due = *end * kUs;
        break;
      }
      DagRun run;
      run.dag_id = id;
      run.type = RunType::kScheduled;
      run.logical_date = start;
      run.interval_start = start;
      run.interval_end = *end;
      run.run_id = make_run_id(RunType::kScheduled, start, d->tz);
      run.dag_hash = d->hash;
      run.created_us = now_us;
      run.owner = owner_;  // this scheduler drives it from the start
      run.lease_until_us =
          now_us + std::chrono::duration_cast<std::chrono::microseconds>(options_.lease).count();
      auto r = store_.create_run(run);
      if (!r && r.status().code() != StatusCode::kAlreadyExists) return r.status();
      if (r) {
        ActiveRun a;
        a.run = *r;
        a.dag = d;
        for (const auto& t : d->tasks) {
          auto& ti = a.tis[t.id];
          ti.run = r->id;
          ti.task_id = t.id;
        }
        active_.emplace(r->id, std::move(a));
      }
      start = *end;
      next_due = now_us;  // more than 1000 due: the next pass goes on
    }
    due_us_[id] = next_due;
    wake_at(next_due);
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

Status Scheduler::promote_queued_runs(int64_t now_us) {
  std::map<std::string, int> running_runs;
  std::vector<ActiveRun*> queued;
  for (auto& [id, r] : active_) {
    if (r.run.state == RunState::kRunning) {
      ++running_runs[r.run.dag_id];
    } else if (r.run.state == RunState::kQueued) {
      queued.push_back(&r);
    }
  }
  std::stable_sort(queued.begin(), queued.end(), [](const ActiveRun* a, const ActiveRun* b) {
    bool ab = a->run.type == RunType::kBackfill, bb = b->run.type == RunType::kBackfill;
    if (ab != bb) return bb;
    return a->run.logical_date < b->run.logical_date;
  });
  for (ActiveRun* r : queued) {
    auto is_paused = paused(r->run.dag_id);
    if (!is_paused) return is_paused.status();
    if (*is_paused || running_runs[r->run.dag_id] >= r->dag->max_active_runs) continue;
    r->run.state = RunState::kRunning;
    r->run.started_us = now_us;
    r->dirty = true;
    BASALT_RETURN_IF_ERROR(store_.update_run(r->run));
    ++running_runs[r->run.dag_id];
  }
  return Status::ok();
}

Status Scheduler::evaluate(ActiveRun& r, bool check_dependencies, int64_t now_us) {
  r.dirty = false;
  r.waits_on_dependency = false;
  r.retry_due_us = INT64_MAX;
  r.ready.clear();
  std::vector<TaskState> ups;
  for (size_t i = 0; i < r.dag->tasks.size(); ++i) {
    const auto& t = r.dag->tasks[i];
    auto& ti = r.tis[t.id];
    if (ti.task_id.empty()) {
      ti.run = r.run.id;
      ti.task_id = t.id;
    }
    const TaskState before = ti.state;
    if (ti.state == TaskState::kNone) {
      ups.clear();
      for (const auto& u : t.upstream) ups.push_back(r.tis[u].state);
      Verdict verdict = judge(t.trigger_rule, ups);
      if (verdict == Verdict::kWait) continue;
      ti.state = verdict == Verdict::kReady  ? TaskState::kScheduled
                 : verdict == Verdict::kSkip ? TaskState::kSkipped
                                             : TaskState::kUpstreamFailed;
      if (ti.state != TaskState::kScheduled) ti.ended_us = now_us;
      BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
    } else if (ti.state == TaskState::kUpForRetry) {
      if (now_us < ti.next_try_us) {
        r.retry_due_us = std::min(r.retry_due_us, ti.next_try_us);
        continue;
      }
      ti.state = TaskState::kScheduled;
      BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
    }
    if (t.type == "dependency") {
      bool fresh = false;
      if (ti.state == TaskState::kScheduled || ti.state == TaskState::kQueued) {
        ti.state = TaskState::kRunning;
        ti.try_number += 1;
        ti.started_us = now_us;
        ti.pid = 0;
        fresh = true;
        BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
      }
      if (ti.state == TaskState::kRunning && (fresh || check_dependencies)) {
        BASALT_RETURN_IF_ERROR(check_dependency(*r.dag, r.run, ti, now_us));
      }
      // check_dependency may have ended it, or made it up for retry (a timeout).
      if (ti.state == TaskState::kRunning) r.waits_on_dependency = true;
      if (ti.state == TaskState::kUpForRetry)
        r.retry_due_us = std::min(r.retry_due_us, ti.next_try_us);
      if (is_finished(ti.state) && !is_finished(before)) r.dirty = true;  // for its downstream
    } else if (ti.state == TaskState::kScheduled || ti.state == TaskState::kQueued) {
      r.ready.insert(i);
    } else if (ti.state == TaskState::kRunning && ti.pid == 0) {
      bool executing = false;
      for (const auto& e : executions_) {
        if (e->run.id == r.run.id && e->ti.task_id == t.id) executing = true;
      }
      if (executing) continue;
      // Running in the store but not here: an in-process task of a previous scheduler
      // process, which cannot have survived it.
      Execution e;
      e.dag = r.dag;
      e.run = r.run;
      e.ti = ti;
      BASALT_RETURN_IF_ERROR(
          complete(e, false, kNoExitCode, "the scheduler restarted while the task ran", now_us));
    }
  }
  // The run ends when every task has finished; it fails when a leaf task failed.
  bool all_finished = true, leaf_failed = false;
  for (const auto& t : r.dag->tasks) {
    TaskState s = r.tis[t.id].state;
    if (!is_finished(s)) {
      all_finished = false;
      break;
    }
  }
  if (all_finished) {
    std::set<std::string> has_downstream;
    for (const auto& t : r.dag->tasks) has_downstream.insert(t.upstream.begin(), t.upstream.end());
    for (const auto& t : r.dag->tasks) {
      if (failed_like(r.tis[t.id].state) && !has_downstream.contains(t.id)) leaf_failed = true;
    }
    r.run.state = leaf_failed ? RunState::kFailed : RunState::kSuccess;
    r.run.ended_us = now_us;
    BASALT_RETURN_IF_ERROR(store_.update_run(r.run));
    spdlog::info("domino: run {} {} {}", r.run.dag_id, r.run.run_id, run_state_name(r.run.state));
    if (leaf_failed)
      alert(*r.dag, fmt::format("run {} of DAG {} failed", r.run.run_id, r.run.dag_id));
  } else if (r.dirty) {
    wake_at(now_us);  // a dependency task ended: its downstream tasks go in the next pass
  }
  return Status::ok();
}

Status Scheduler::check_dependency(const Dag& d, const DagRun& run, TaskInstance& ti,
                                   int64_t now_us) {
  const TaskSpec* spec = d.task(ti.task_id);
  const TaskType* type = registry_.find(spec->type);
  TaskRunContext ctx{d,
                     *spec,
                     template_context(d, run, ti.task_id),
                     options_.config,
                     options_.warehouse,
                     options_.project_dir};
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
      unmet = fmt::format(
          "dependency on DAG {} task {} for date {} not met ({} of {} run(s) succeeded)", dep.dag,
          dep.task, date, ok, expected);
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

namespace {

// Why a ready task waits for a worker slot; the reason's kind is what decides whether the
// message in the store is rewritten.
enum class Hold { kNone, kPoolMissing, kParallelism, kPoolFull, kDagFull };

Hold hold_of(const std::string& message) {
  if (message.starts_with("pool ") &&
      message.ends_with("is not configured (domino.pools in basalt.yaml)")) {
    return Hold::kPoolMissing;
  }
  if (message.starts_with("global parallelism")) return Hold::kParallelism;
  if (message.starts_with("pool ")) return Hold::kPoolFull;
  if (message.starts_with("DAG ") && message.find("max_active_tasks") != std::string::npos) {
    return Hold::kDagFull;
  }
  return Hold::kNone;
}

}  // namespace

Status Scheduler::start_ready(int64_t now_us) {
  struct Candidate {
    ActiveRun* run;
    const TaskSpec* spec;
    size_t order;
  };
  std::vector<Candidate> ready;
  for (auto& [id, r] : active_) {
    if (r.run.state != RunState::kRunning) continue;
    for (size_t i : r.ready) ready.push_back({&r, &r.dag->tasks[i], i});
  }
  if (ready.empty()) return Status::ok();
  std::stable_sort(ready.begin(), ready.end(), [](const Candidate& a, const Candidate& b) {
    if (a.spec->priority != b.spec->priority) return a.spec->priority > b.spec->priority;
    bool ab = a.run->run.type == RunType::kBackfill, bb = b.run->run.type == RunType::kBackfill;
    if (ab != bb) return bb;
    if (a.run->run.logical_date != b.run->run.logical_date) {
      return a.run->run.logical_date < b.run->run.logical_date;
    }
    if (a.run->run.id != b.run->run.id) return a.run->run.id < b.run->run.id;
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
    auto& ti = c.run->tis[c.spec->id];
    const std::string& pool = c.spec->pool;
    const Dag& d = *c.run->dag;
    int pool_slots = options_.config.pool_slots(pool);
    Hold hold = pool_slots == 0                        ? Hold::kPoolMissing
                : slots >= options_.config.parallelism ? Hold::kParallelism
                : pool_used[pool] >= pool_slots        ? Hold::kPoolFull
                : dag_used[d.id] >= d.max_active_tasks ? Hold::kDagFull
                                                       : Hold::kNone;
    if (hold != Hold::kNone) {
      // Written when the kind of reason changes, not on every pass: the holders named are
      // those at that moment.
      if (ti.state == TaskState::kQueued && hold_of(ti.message) == hold) continue;
      std::string reason;
      switch (hold) {
        case Hold::kPoolMissing:
          reason = fmt::format("pool {} is not configured (domino.pools in basalt.yaml)", pool);
          break;
        case Hold::kParallelism:
          reason = fmt::format("global parallelism {} reached", options_.config.parallelism);
          break;
        case Hold::kPoolFull: {
          std::string holders;
          for (size_t i = 0; i < pool_holders[pool].size() && i < 5; ++i) {
            holders += (i ? ", " : "") + pool_holders[pool][i];
          }
          reason = fmt::format("pool {} full ({}/{}, held by {})", pool, pool_used[pool],
                               pool_slots, holders);
          break;
        }
        case Hold::kDagFull:
          reason = fmt::format("DAG {} has max_active_tasks {} running", d.id, d.max_active_tasks);
          break;
        case Hold::kNone:
          break;
      }
      ti.state = TaskState::kQueued;
      ti.message = reason;
      BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
      continue;
    }
    c.run->ready.erase(c.order);
    BASALT_RETURN_IF_ERROR(start_instance(*c.run, ti, now_us));
    if (ti.state == TaskState::kRunning) {
      ++slots;
      ++pool_used[pool];
      ++dag_used[d.id];
      pool_holders[pool].push_back(d.id + "." + c.spec->id);
    }
  }
  return Status::ok();
}

Status Scheduler::start_instance(ActiveRun& r, TaskInstance& ti, int64_t now_us) {
  const TaskSpec& spec = *r.dag->task(ti.task_id);
  const TaskType* type = registry_.find(spec.type);
  auto previous = store_.attempts(r.run.id, ti.task_id);
  if (!previous) return previous.status();
  auto e = std::make_unique<Execution>();
  e->dag = r.dag;
  e->run = r.run;
  e->attempt = static_cast<int>(previous->size()) + 1;
  e->pool = spec.pool;
  // One file per attempt in the run's folder (no folder per task: creating inodes is the
  // largest cost of starting a short task).
  e->log_path = (options_.data_dir / "logs" / r.dag->id / r.run.run_id /
                 fmt::format("{}.attempt-{}.log", ti.task_id, e->attempt))
                    .string();
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
    return complete(*e, false, kNoExitCode, message, now_us);  // updates `ti` in active_
  };
  auto log = AttemptLog::open(e->log_path, options_.config.log_max_bytes);
  if (!log) return fail_now(log.status().message());
  e->log = *log;
  TaskRunContext ctx{*r.dag,
                     spec,
                     template_context(*r.dag, r.run, ti.task_id),
                     options_.config,
                     options_.warehouse,
                     options_.project_dir};
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
    e->thread = std::thread([state = e->inproc, run = in->run, log = e->log, waker = waker_] {
      Status s = run([&log](std::string_view text) { log->write(text); }, state->cancelled);
      if (!s.is_ok()) log->write("domino: " + s.message() + "\n");
      state->result = s;
      state->done = true;
      waker->wake();
    });
  } else {
    return fail_now("a dependency plan cannot hold a worker slot");
  }
  e->ti = ti;
  BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
  TaskAttempt a;
  a.run = r.run.id;
  a.task_id = ti.task_id;
  a.try_number = e->attempt;
  a.state = TaskState::kRunning;
  a.started_us = now_us;
  a.pid = ti.pid;
  a.log_path = e->log_path;
  BASALT_RETURN_IF_ERROR(store_.save_attempt(a));
  spdlog::debug("domino: started {}.{} {} attempt {}", r.dag->id, ti.task_id, r.run.run_id,
                e->attempt);
  if (spec.timeout.count() > 0) wake_at(now_us + spec.timeout.count() * kUs + 1);
  if (spec.sla) wake_at(now_us + spec.sla->count() * kUs + 1);
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
                                  spec->retry_delay_for(ti.try_number + 1))
                                  .count();
  } else {
    ti.state = TaskState::kFailed;
  }
  BASALT_RETURN_IF_ERROR(store_.save_task_instance(ti));
  if (auto it = active_.find(e.run.id); it != active_.end()) {
    ActiveRun& r = it->second;
    r.tis[ti.task_id] = ti;
    if (const TaskSpec* t = r.dag->task(ti.task_id)) {
      r.ready.erase(static_cast<size_t>(t - r.dag->tasks.data()));
    }
    r.dirty = true;
  }
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
    const bool over_time =
        spec && spec->timeout.count() > 0 && now_us - e.ti.started_us > spec->timeout.count() * kUs;
    if (spec && spec->sla && !e.sla_alerted &&
        now_us - e.ti.started_us > spec->sla->count() * kUs) {
      e.sla_alerted = true;
      alert(*e.dag, fmt::format("task {}.{} of run {} is running past its sla of {}s", e.dag->id,
                                e.ti.task_id, e.run.run_id, spec->sla->count()));
    }
    if (e.process) {
      if (over_time && !e.timed_out) {
        e.timed_out = true;
        e.kill_sent_us = now_us;
        e.process->kill_group_on_exit();
        e.process->signal_group(SIGTERM);
      } else if (e.timed_out &&
                 now_us - e.kill_sent_us > options_.config.kill_grace.count() * 1000) {
        e.process->signal_group(SIGKILL);
      }
      if (auto code = e.process->poll()) {
        exit_code = *code;
        if (e.timed_out) {
          outcome = {false, fmt::format("timed out after {}s; process group killed",
                                        spec->timeout.count())};
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
      // The timers this execution needs a pass for.
      if (spec && spec->timeout.count() > 0)
        wake_at(e.ti.started_us + spec->timeout.count() * kUs + 1);
      if (e.timed_out) wake_at(e.kill_sent_us + options_.config.kill_grace.count() * 1000 + 1);
      if (spec && spec->sla && !e.sla_alerted)
        wake_at(e.ti.started_us + spec->sla->count() * kUs + 1);
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
  std::set<int64_t> held;
  BASALT_RETURN_IF_ERROR(store_.transaction([&]() -> Status {
    auto ids = claim(now);
    if (!ids) return ids.status();
    held = std::move(*ids);
    return Status::ok();
  }));
  store_version_.reset();
  auto running = store_.running_task_instances();
  if (!running) return running.status();
  for (const auto& ti : *running) {
    if (!held.contains(ti.run)) continue;  // another scheduler's: it watches its own processes
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
    if (ti.pid > 0 && !ti.pid_token.empty() &&
        process_start_token(static_cast<pid_t>(ti.pid)) == ti.pid_token) {
      spdlog::warn("domino: {}.{} of run {} still runs as process {}: watching it", e->dag->id,
                   ti.task_id, e->run.run_id, ti.pid);
      e->orphan_pid = static_cast<pid_t>(ti.pid);
      e->orphan_token = ti.pid_token;
      e->orphan_exit_fd = open_exit_fd(e->orphan_pid);
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
  auto client =
      http::Client::connect_to("http://" + rest.substr(0, slash), std::chrono::seconds(2));
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

void Scheduler::wait(std::chrono::milliseconds max) {
  const auto deadline = std::chrono::steady_clock::now() + max;
  bool first = true;
  while (true) {
    // Wake-up fd, then per execution its exit fd (an event) and its output fd (pumped to the
    // log, then the wait goes on).
    std::vector<pollfd> fds = {{waker_->fd(), POLLIN, 0}};
    std::vector<bool> is_output = {false};
    int64_t timeout_ms = 0;
    {
      std::lock_guard lock(mu_);
      bool no_exit_fd = false;
      for (const auto& e : executions_) {
        int exit_fd = e->process ? e->process->exit_fd() : e->orphan_pid ? e->orphan_exit_fd : -2;
        if (exit_fd >= 0) {
          fds.push_back({exit_fd, POLLIN, 0});
          is_output.push_back(false);
        } else if (exit_fd == -1) {
          no_exit_fd = true;
        }
        if (e->process && e->process->output_fd() >= 0) {
          fds.push_back({e->process->output_fd(), POLLIN, 0});
          is_output.push_back(true);
        }
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      int64_t until_timer = (next_wake_us_ - options_.clock->now_us() + 999) / 1000;
      timeout_ms = std::clamp<int64_t>(std::min<int64_t>(left, until_timer), 0, max.count());
      // Without a pidfd an exit is only seen by polling it.
      if (no_exit_fd) timeout_ms = std::min<int64_t>(timeout_ms, 5);
    }
    if (!first && timeout_ms == 0) return;
    first = false;
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout_ms));
    if (n <= 0) return;  // a timer is due (or a signal came): time for a pass
    bool event = false;
    std::set<int> outputs;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      if (is_output[i]) {
        outputs.insert(fds[i].fd);
      } else {
        event = true;
      }
    }
    if (fds[0].revents) waker_->drain();
    if (!outputs.empty()) {
      std::lock_guard lock(mu_);
      for (const auto& e : executions_) {
        if (e->process && outputs.contains(e->process->output_fd())) e->process->pump_output();
      }
    }
    if (event) return;
  }
}

void Scheduler::loop() {
  while (true) {
    {
      std::lock_guard lock(wake_mu_);
      if (stopping_) return;
    }
    Status s = tick();
    if (!s.is_ok()) spdlog::error("domino: scheduler pass failed: {}", s.message());
    wait(options_.config.tick_interval);
  }
}

void Scheduler::stop() {
  {
    std::lock_guard lock(wake_mu_);
    stopping_ = true;
  }
  waker_->wake();
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
