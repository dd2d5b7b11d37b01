#include "domino/operations.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "domino/template.h"

namespace basalt::domino {

namespace {

Result<std::map<std::string, TaskInstance>> instances(MetadataStore& store, const DagRun& run) {
  auto tis = store.task_instances(run.id);
  if (!tis) return tis.status();
  std::map<std::string, TaskInstance> out;
  for (auto& t : *tis) out[t.task_id] = t;
  return out;
}

Status reopen(MetadataStore& store, DagRun run) {
  if (run.state != RunState::kSuccess && run.state != RunState::kFailed) return Status::ok();
  run.state = RunState::kQueued;
  run.ended_us = 0;
  return store.update_run(run);
}

}  // namespace

Result<DagRun> resolve_run(MetadataStore& store, const Dag& dag, const std::string& text) {
  auto by_id = store.find_run(dag.id, text);
  if (!by_id) return by_id.status();
  if (*by_id) return **by_id;
  auto t = parse_time(text, dag.tz);
  if (!t)
    return not_found(fmt::format("DAG {} has no run '{}' (give a run id or a date)", dag.id, text));
  RunFilter f;
  f.dag_id = dag.id;
  f.from = *t;
  f.to = text.size() == 10 ? *parse_time(ds_add(text, 1).value(), dag.tz) - 1 : *t;
  f.limit = 1;
  auto runs = store.list_runs(f);
  if (!runs) return runs.status();
  if (runs->empty()) return not_found(fmt::format("DAG {} has no run for {}", dag.id, text));
  return runs->front();
}

Result<std::pair<UnixSeconds, UnixSeconds>> parse_date_range(const Dag& dag,
                                                             const std::string& from,
                                                             const std::string& to) {
  auto f = parse_time(from, dag.tz);
  if (!f) return f.status();
  const bool whole_day = to.size() == 10;
  std::string end = to;
  if (whole_day) {
    auto next = ds_add(to, 1);
    if (!next) return next.status();
    end = *next;
  }
  auto t = parse_time(end, dag.tz);
  if (!t) return t.status();
  UnixSeconds last = *t - (whole_day ? 1 : 0);
  if (last < *f) return invalid_argument(fmt::format("the range {} .. {} is empty", from, to));
  return std::make_pair(*f, last);
}

Result<nlohmann::json> preview_runs(const Dag& dag, UnixSeconds from, UnixSeconds to) {
  if (!dag.schedule) return invalid_argument(fmt::format("DAG '{}' has no schedule", dag.id));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& iv : intervals_between(dag, from, to)) {
    out.push_back({{"logical_date", format_iso8601(iv.start, dag.tz)},
                   {"data_interval_start", format_iso8601(iv.start, dag.tz)},
                   {"data_interval_end", format_iso8601(iv.end, dag.tz)},
                   {"run_at", format_iso8601(iv.end, dag.tz)}});
  }
  return out;
}

Result<std::vector<std::string>> clear_task(MetadataStore& store, const Dag& dag, const DagRun& run,
                                            const std::string& task_id, bool downstream) {
  if (!dag.task(task_id)) return not_found(fmt::format("DAG {} has no task '{}'", dag.id, task_id));
  std::vector<std::string> ids = {task_id};
  if (downstream) {
    std::set<std::string> seen = {task_id};
    for (size_t i = 0; i < ids.size(); ++i) {
      for (const auto& d : dag.downstream(ids[i])) {
        if (seen.insert(d).second) ids.push_back(d);
      }
    }
  }
  auto tis = instances(store, run);
  if (!tis) return tis.status();
  for (const auto& id : ids) {
    auto it = tis->find(id);
    if (it != tis->end() && it->second.state == TaskState::kRunning) {
      return failed_precondition(
          fmt::format("task {} is running; wait for it or mark it first", id));
    }
  }
  for (const auto& id : ids) {
    TaskInstance ti = tis->contains(id) ? tis->at(id) : TaskInstance{};
    ti.run = run.id;
    ti.task_id = id;
    ti.state = TaskState::kNone;
    ti.try_number = 0;
    ti.next_try_us = 0;
    ti.message = "cleared";
    BASALT_RETURN_IF_ERROR(store.save_task_instance(ti));
  }
  BASALT_RETURN_IF_ERROR(reopen(store, run));
  return ids;
}

Status mark_task(MetadataStore& store, const Dag& dag, const DagRun& run,
                 const std::string& task_id, TaskState state) {
  if (!dag.task(task_id)) return not_found(fmt::format("DAG {} has no task '{}'", dag.id, task_id));
  if (state != TaskState::kSuccess && state != TaskState::kFailed) {
    return invalid_argument("a task can be marked success or failed");
  }
  auto tis = instances(store, run);
  if (!tis) return tis.status();
  TaskInstance ti = tis->contains(task_id) ? tis->at(task_id) : TaskInstance{};
  ti.run = run.id;
  ti.task_id = task_id;
  ti.state = state;
  ti.message = fmt::format("marked {} by hand", task_state_name(state));
  BASALT_RETURN_IF_ERROR(store.save_task_instance(ti));
  return reopen(store, run);
}

Result<std::string> explain_task(MetadataStore& store, const Dag& dag, const DominoConfig& config,
                                 const DagRun& run, const std::string& task_id, int64_t now_us) {
  const TaskSpec* spec = dag.task(task_id);
  if (!spec) return not_found(fmt::format("DAG {} has no task '{}'", dag.id, task_id));
  auto tis = instances(store, run);
  if (!tis) return tis.status();
  TaskInstance ti = tis->contains(task_id) ? tis->at(task_id) : TaskInstance{};
  auto paused = store.is_paused(dag.id);
  if (!paused) return paused.status();
  switch (ti.state) {
    case TaskState::kSuccess:
    case TaskState::kFailed:
    case TaskState::kSkipped:
      return fmt::format("{} is {}{}", task_id, task_state_name(ti.state),
                         ti.message.empty() ? "" : ": " + ti.message);
    case TaskState::kUpstreamFailed:
      return fmt::format("{} will not run: an upstream failed (trigger rule {})", task_id,
                         trigger_rule_name(spec->trigger_rule));
    case TaskState::kRunning:
      if (spec->type == "dependency") {
        return ti.message.empty() ? fmt::format("{} is checking its dependency", task_id)
                                  : ti.message;
      }
      return fmt::format("{} is running (attempt {}, process {})", task_id, ti.try_number, ti.pid);
    case TaskState::kUpForRetry:
      return fmt::format("{} is waiting for retry until {} (attempt {} failed: {})", task_id,
                         format_iso8601(ti.next_try_us / 1'000'000, dag.tz), ti.try_number,
                         ti.message);
    case TaskState::kQueued:
      return fmt::format("{} is queued: {}", task_id, ti.message);
    default:
      break;
  }
  if (*paused) return fmt::format("DAG {} is paused", dag.id);
  if (run.state == RunState::kQueued) {
    RunFilter f;
    f.dag_id = dag.id;
    f.state = RunState::kRunning;
    auto running = store.list_runs(f);
    if (!running) return running.status();
    if (static_cast<int>(running->size()) >= dag.max_active_runs) {
      return fmt::format("run {} is queued: DAG {} has {} running run(s) (max_active_runs {})",
                         run.run_id, dag.id, running->size(), dag.max_active_runs);
    }
    return fmt::format("run {} is queued and starts on the scheduler's next pass", run.run_id);
  }
  if (run.state == RunState::kSuccess || run.state == RunState::kFailed) {
    return fmt::format("run {} has ended ({})", run.run_id, run_state_name(run.state));
  }
  std::vector<std::string> waiting;
  for (const auto& u : spec->upstream) {
    TaskState s = tis->contains(u) ? tis->at(u).state : TaskState::kNone;
    if (!is_finished(s)) waiting.push_back(fmt::format("upstream {} is {}", u, task_state_name(s)));
  }
  if (!waiting.empty()) {
    std::string text;
    for (const auto& w : waiting) text += (text.empty() ? "" : ", ") + w;
    return fmt::format("{} waits: {} (trigger rule {})", task_id, text,
                       trigger_rule_name(spec->trigger_rule));
  }
  if (config.pool_slots(spec->pool) == 0) {
    return fmt::format("{} waits: pool {} is not configured", task_id, spec->pool);
  }
  (void)now_us;
  return fmt::format("{} is ready and starts on the scheduler's next pass", task_id);
}

}  // namespace basalt::domino
