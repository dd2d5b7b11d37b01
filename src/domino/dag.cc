#include "domino/dag.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "common/config.h"
#include "common/project_files.h"
#include "domino/task_type.h"
#include "domino/template.h"

namespace basalt::domino {

namespace {

const std::set<std::string> kDagKeys = {"dag",      "description",     "owner",    "schedule",
                                        "timezone", "start_date",      "end_date", "catchup",
                                        "max_active_runs", "max_active_tasks", "params",
                                        "defaults", "tasks",           "alerts"};
const std::set<std::string> kCommonTaskKeys = {
    "id",       "type",     "upstream", "trigger_rule", "retries", "retry_delay", "retry_backoff",
    "max_retry_delay", "timeout", "sla", "pool", "priority", "description"};

int line_of(const YAML::Node& n) { return n.Mark().line + 1; }

// YAML → JSON; plain scalars that read as numbers or booleans become numbers or booleans.
nlohmann::json to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& kv : n) o[kv.first.as<std::string>()] = to_json(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& v : n) a.push_back(to_json(v));
    return a;
  }
  if (n.IsNull() || !n.IsDefined()) return nullptr;
  const std::string& s = n.Scalar();
  if (n.Tag() == "?") {
    if (s == "true") return true;
    if (s == "false") return false;
    char* end = nullptr;
    long long i = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end == s.c_str() + s.size()) return i;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size()) return d;
  }
  return s;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

class DagReader {
 public:
  DagReader(const std::filesystem::path& file, const TaskRegistry& registry)
      : file_(file.string()), registry_(registry) {}

  void error(int line, const std::string& message) {
    errors_.push_back(fmt::format("{}:{}: {}", file_, line, message));
  }
  void error(const YAML::Node& n, const std::string& message) { error(line_of(n), message); }

  bool scalar(const YAML::Node& n, const char* what, std::string& out) {
    if (!n.IsScalar()) {
      error(n, fmt::format("{} must be a string", what));
      return false;
    }
    out = n.Scalar();
    return true;
  }
  bool integer(const YAML::Node& n, const char* what, int lo, int& out) {
    std::string s = n.IsScalar() ? n.Scalar() : "";
    char* end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || end != s.c_str() + s.size() || v < lo || v > 1'000'000) {
      error(n, fmt::format("{} must be a whole number >= {}", what, lo));
      return false;
    }
    out = static_cast<int>(v);
    return true;
  }
  bool duration(const YAML::Node& n, const char* what, std::chrono::seconds& out) {
    std::string s;
    if (!scalar(n, what, s)) return false;
    auto d = parse_duration(s);
    if (!d) {
      error(n, fmt::format("{}: {}", what, d.status().message()));
      return false;
    }
    out = std::chrono::duration_cast<std::chrono::seconds>(*d);
    return true;
  }

  // Applies one task-level setting shared by `defaults:` and tasks.
  void common_setting(const std::string& key, const YAML::Node& v, TaskSpec& t) {
    if (key == "retries") {
      integer(v, "retries", 0, t.retries);
    } else if (key == "retry_delay") {
      duration(v, "retry_delay", t.retry_delay);
    } else if (key == "max_retry_delay") {
      duration(v, "max_retry_delay", t.max_retry_delay);
    } else if (key == "timeout") {
      duration(v, "timeout", t.timeout);
    } else if (key == "sla") {
      std::chrono::seconds s{0};
      if (duration(v, "sla", s)) t.sla = s;
    } else if (key == "pool") {
      scalar(v, "pool", t.pool);
    } else if (key == "priority") {
      std::string s = v.IsScalar() ? v.Scalar() : "";
      char* end = nullptr;
      long p = std::strtol(s.c_str(), &end, 10);
      if (s.empty() || end != s.c_str() + s.size()) {
        error(v, "priority must be a whole number");
      } else {
        t.priority = static_cast<int>(p);
      }
    } else if (key == "retry_backoff") {
      std::string s;
      if (!scalar(v, "retry_backoff", s)) return;
      if (s == "fixed") {
        t.retry_backoff = RetryBackoff::kFixed;
      } else if (s == "exponential") {
        t.retry_backoff = RetryBackoff::kExponential;
      } else {
        error(v, fmt::format("retry_backoff must be fixed or exponential, not '{}'", s));
      }
    } else if (key == "trigger_rule") {
      std::string s;
      if (!scalar(v, "trigger_rule", s)) return;
      static const std::map<std::string, TriggerRule> kRules = {
          {"all_success", TriggerRule::kAllSuccess},
          {"all_done", TriggerRule::kAllDone},
          {"one_failed", TriggerRule::kOneFailed},
          {"one_success", TriggerRule::kOneSuccess}};
      auto it = kRules.find(s);
      if (it == kRules.end()) {
        error(v, fmt::format("unknown trigger_rule '{}' (known: all_success, all_done, "
                             "one_failed, one_success)", s));
      } else {
        t.trigger_rule = it->second;
      }
    }
  }

  std::optional<Dag> read(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      error(e.mark.line + 1, "YAML: " + e.msg);
      return std::nullopt;
    }
    if (!root.IsMap()) {
      error(1, "a DAG file must be a mapping with dag:, schedule:, tasks:");
      return std::nullopt;
    }
    Dag dag;
    dag.file = file_;
    for (const auto& kv : root) {
      auto key = kv.first.as<std::string>();
      if (!kDagKeys.contains(key)) error(kv.first, fmt::format("unknown key '{}'", key));
    }
    if (!root["dag"].IsDefined() || !scalar(root["dag"], "dag", dag.id) || dag.id.empty()) {
      if (!root["dag"].IsDefined()) error(1, "missing 'dag:' (the DAG's id)");
    }
    if (root["description"].IsDefined()) scalar(root["description"], "description", dag.description);
    if (root["owner"].IsDefined()) scalar(root["owner"], "owner", dag.owner);
    if (root["timezone"].IsDefined()) {
      std::string name;
      if (scalar(root["timezone"], "timezone", name)) {
        auto tz = TimeZone::load(name);
        if (!tz) {
          error(root["timezone"], tz.status().message());
        } else {
          dag.tz = *tz;
        }
      }
    }
    if (root["schedule"].IsDefined() && !root["schedule"].IsNull()) {
      std::string s;
      if (scalar(root["schedule"], "schedule", s) && s != "none" && !s.empty()) {
        auto c = CronSchedule::parse(s);
        if (!c) {
          error(root["schedule"], c.status().message());
        } else {
          dag.schedule = *c;
        }
      }
    }
    if (root["start_date"].IsDefined()) {
      std::string s;
      if (scalar(root["start_date"], "start_date", s)) {
        auto t = parse_time(s, dag.tz);
        if (!t) error(root["start_date"], "start_date: " + t.status().message()); else dag.start_date = *t;
      }
    } else if (dag.schedule) {
      error(1, "a scheduled DAG needs start_date:");
    }
    if (root["end_date"].IsDefined()) {
      std::string s;
      if (scalar(root["end_date"], "end_date", s)) {
        auto t = parse_time(s, dag.tz);
        if (!t) error(root["end_date"], "end_date: " + t.status().message()); else dag.end_date = *t;
      }
    }
    if (root["catchup"].IsDefined()) {
      std::string s = root["catchup"].IsScalar() ? root["catchup"].Scalar() : "";
      if (s == "true") {
        dag.catchup = true;
      } else if (s != "false") {
        error(root["catchup"], "catchup must be true or false");
      }
    }
    if (root["max_active_runs"].IsDefined()) integer(root["max_active_runs"], "max_active_runs", 1, dag.max_active_runs);
    if (root["max_active_tasks"].IsDefined()) integer(root["max_active_tasks"], "max_active_tasks", 1, dag.max_active_tasks);
    if (root["params"].IsDefined()) {
      if (!root["params"].IsMap()) error(root["params"], "params must be a mapping"); else dag.params = to_json(root["params"]);
    }
    if (root["alerts"].IsDefined()) {
      const auto& a = root["alerts"];
      if (!a.IsMap()) {
        error(a, "alerts must be a mapping with webhook:");
      } else {
        for (const auto& kv : a) {
          auto key = kv.first.as<std::string>();
          if (key == "webhook") scalar(kv.second, "alerts.webhook", dag.alert_webhook);
          else error(kv.first, fmt::format("unknown key '{}' in alerts (known: webhook)", key));
        }
      }
    }
    TaskSpec defaults;
    if (root["defaults"].IsDefined()) {
      if (!root["defaults"].IsMap()) {
        error(root["defaults"], "defaults must be a mapping");
      } else {
        for (const auto& kv : root["defaults"]) {
          auto key = kv.first.as<std::string>();
          if (!kCommonTaskKeys.contains(key) || key == "id" || key == "type" || key == "upstream") {
            error(kv.first, fmt::format("'{}' cannot be a default", key));
          } else {
            common_setting(key, kv.second, defaults);
          }
        }
      }
    }
    std::set<std::string> param_names;
    for (const auto& [k, v] : dag.params.items()) param_names.insert(k);
    read_tasks(root["tasks"], defaults, param_names, dag);
    if (!errors_.empty()) return std::nullopt;
    order_tasks(dag);
    if (!errors_.empty()) return std::nullopt;
    // The hash covers the definition as parsed, so reformatting the file does not change it.
    nlohmann::json canon = to_json(root);
    dag.hash = fmt::format("{:016x}", fnv1a(canon.dump()));
    return dag;
  }

  void read_tasks(const YAML::Node& tasks, const TaskSpec& defaults,
                  const std::set<std::string>& param_names, Dag& dag) {
    if (!tasks.IsDefined() || !tasks.IsSequence() || tasks.size() == 0) {
      error(tasks.IsDefined() ? line_of(tasks) : 1, "tasks: must be a non-empty list");
      return;
    }
    std::set<std::string> ids;
    for (const auto& n : tasks) {
      if (!n.IsMap()) {
        error(n, "each task must be a mapping with id: and type:");
        continue;
      }
      TaskSpec t = defaults;
      t.line = line_of(n);
      if (!n["id"].IsDefined()) {
        error(n, "task without id:");
        continue;
      }
      if (!scalar(n["id"], "id", t.id)) continue;
      if (!ids.insert(t.id).second) error(n["id"], fmt::format("duplicate task id '{}'", t.id));
      if (!n["type"].IsDefined()) {
        error(n, fmt::format("task '{}' has no type:", t.id));
        continue;
      }
      scalar(n["type"], "type", t.type);
      const TaskType* type = registry_.find(t.type);
      if (!type) {
        std::string known;
        for (const auto& name : registry_.names()) known += (known.empty() ? "" : ", ") + name;
        error(n["type"], fmt::format("unknown task type '{}' (known: {})", t.type, known));
        continue;
      }
      std::vector<std::string> type_keys = type->keys();
      for (const auto& kv : n) {
        auto key = kv.first.as<std::string>();
        if (kCommonTaskKeys.contains(key)) {
          common_setting(key, kv.second, t);
        } else if (std::find(type_keys.begin(), type_keys.end(), key) != type_keys.end()) {
          t.fields[key] = to_json(kv.second);
          t.field_lines[key] = line_of(kv.second);
          check_templates(kv.second, param_names, key);
        } else {
          error(kv.first, fmt::format("unknown key '{}' for a {} task", key, t.type));
        }
      }
      if (n["upstream"].IsDefined()) {
        const auto& u = n["upstream"];
        if (u.IsScalar()) {
          t.upstream.push_back(u.Scalar());
        } else if (u.IsSequence()) {
          for (const auto& x : u) if (x.IsScalar()) t.upstream.push_back(x.Scalar());
        } else {
          error(u, "upstream must be a list of task ids");
        }
      }
      Status s = type->validate(t);
      if (!s.is_ok()) error(n, fmt::format("task '{}': {}", t.id, s.message()));
      dag.tasks.push_back(std::move(t));
    }
  }

  // Every string under `n` is a template; errors point at the line of the placeholder.
  void check_templates(const YAML::Node& n, const std::set<std::string>& params,
                       const std::string& key) {
    if (n.IsMap()) {
      for (const auto& kv : n) check_templates(kv.second, params, key);
    } else if (n.IsSequence()) {
      for (const auto& v : n) check_templates(v, params, key);
    } else if (n.IsScalar()) {
      auto e = check_template(n.Scalar(), params);
      if (e) {
        // A block scalar (| or >) starts on the line after its indicator.
        int block = n.Scalar().find('\n') != std::string::npos && n.Tag() == "!" ? 1 : 0;
        error(line_of(n) + block + e->line_offset, fmt::format("in {}: {}", key, e->message));
      }
    }
  }

  // Checks upstream ids and cycles; sorts tasks so upstreams come first (stable by file order).
  void order_tasks(Dag& dag) {
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < dag.tasks.size(); ++i) index[dag.tasks[i].id] = i;
    for (const auto& t : dag.tasks) {
      for (const auto& u : t.upstream) {
        if (!index.contains(u)) error(t.line, fmt::format("task '{}': unknown upstream '{}'", t.id, u));
        if (u == t.id) error(t.line, fmt::format("task '{}' lists itself as upstream", t.id));
      }
    }
    if (!errors_.empty()) return;
    // Depth-first search with colours; a grey node reached again closes a cycle.
    std::vector<int> colour(dag.tasks.size(), 0);
    std::vector<size_t> order, stack;
    std::function<bool(size_t)> visit = [&](size_t i) {
      if (colour[i] == 2) return true;
      if (colour[i] == 1) {
        std::string path;
        auto from = std::find(stack.begin(), stack.end(), i);
        for (auto it = from; it != stack.end(); ++it) path += dag.tasks[*it].id + " -> ";
        error(dag.tasks[i].line, fmt::format("cycle: {}{}", path, dag.tasks[i].id));
        return false;
      }
      colour[i] = 1;
      stack.push_back(i);
      for (const auto& u : dag.tasks[i].upstream) if (!visit(index[u])) return false;
      stack.pop_back();
      colour[i] = 2;
      order.push_back(i);
      return true;
    };
    for (size_t i = 0; i < dag.tasks.size(); ++i) if (!visit(i)) return;
    std::vector<TaskSpec> sorted;
    for (size_t i : order) sorted.push_back(std::move(dag.tasks[i]));
    dag.tasks = std::move(sorted);
    for (size_t i = 0; i < dag.tasks.size(); ++i) dag.task_index[dag.tasks[i].id] = i;
  }

  std::vector<std::string> take_errors() { return std::move(errors_); }

 private:
  std::string file_;
  const TaskRegistry& registry_;
  std::vector<std::string> errors_;
};

}  // namespace

const char* trigger_rule_name(TriggerRule rule) {
  switch (rule) {
    case TriggerRule::kAllSuccess: return "all_success";
    case TriggerRule::kAllDone: return "all_done";
    case TriggerRule::kOneFailed: return "one_failed";
    case TriggerRule::kOneSuccess: return "one_success";
  }
  return "?";
}

std::chrono::seconds TaskSpec::retry_delay_for(int next_try) const {
  if (retry_backoff == RetryBackoff::kFixed || next_try <= 2) return retry_delay;
  int64_t d = retry_delay.count();
  for (int i = 2; i < next_try && d < max_retry_delay.count(); ++i) d *= 2;
  return std::chrono::seconds(std::min<int64_t>(d, max_retry_delay.count()));
}

const TaskSpec* Dag::task(const std::string& id) const {
  if (task_index.size() == tasks.size()) {
    auto it = task_index.find(id);
    return it == task_index.end() ? nullptr : &tasks[it->second];
  }
  for (const auto& t : tasks) if (t.id == id) return &t;
  return nullptr;
}

std::vector<std::string> Dag::downstream(const std::string& id) const {
  std::vector<std::string> out;
  for (const auto& t : tasks) {
    if (std::find(t.upstream.begin(), t.upstream.end(), id) != t.upstream.end()) out.push_back(t.id);
  }
  return out;
}

std::vector<DataInterval> intervals_between(const Dag& dag, UnixSeconds from, UnixSeconds to,
                                            size_t limit) {
  std::vector<DataInterval> out;
  if (!dag.schedule) return out;
  UnixSeconds begin = std::max(from, dag.start_date);
  auto s = dag.schedule->next_after(begin - 1, dag.tz);
  while (s && *s <= to && out.size() < limit) {
    if (dag.end_date && *s > *dag.end_date) break;
    auto e = dag.schedule->next_after(*s, dag.tz);
    if (!e) break;
    out.push_back({*s, *e});
    s = e;
  }
  return out;
}

std::optional<DataInterval> interval_at(const Dag& dag, UnixSeconds logical_date) {
  if (!dag.schedule) return std::nullopt;
  auto s = dag.schedule->next_after(logical_date - 1, dag.tz);
  if (!s || *s != logical_date) return std::nullopt;
  auto e = dag.schedule->next_after(*s, dag.tz);
  if (!e) return std::nullopt;
  return DataInterval{*s, *e};
}

const Dag* DagSet::find(const std::string& id) const {
  for (const auto& d : dags) if (d.id == id) return &d;
  return nullptr;
}

DagParse parse_dag(const std::string& text, const std::filesystem::path& file,
                   const TaskRegistry& registry) {
  DagReader reader(file, registry);
  DagParse out;
  out.dag = reader.read(text);
  out.errors = reader.take_errors();
  return out;
}

DagSet load_dags(const std::filesystem::path& dags_dir, const TaskRegistry& registry) {
  DagSet set;
  std::error_code ec;
  std::vector<std::filesystem::path> files = yaml_files(dags_dir, ec);
  std::map<std::string, std::string> seen;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = parse_dag(ss.str(), f, registry);
    set.errors.insert(set.errors.end(), parsed.errors.begin(), parsed.errors.end());
    if (!parsed.dag) continue;
    if (seen.contains(parsed.dag->id)) {
      set.errors.push_back(fmt::format("{}:1: DAG '{}' is also defined in {}", f.string(),
                                       parsed.dag->id, seen[parsed.dag->id]));
      continue;
    }
    seen[parsed.dag->id] = f.string();
    set.dags.push_back(std::move(*parsed.dag));
  }
  return set;
}

}  // namespace basalt::domino
