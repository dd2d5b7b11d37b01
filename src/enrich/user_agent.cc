#include "enrich/user_agent.h"

#include <re2/filtered_re2.h>
#include <re2/re2.h>
#include <re2/set.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <filesystem>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

namespace basalt::enrich {
namespace {

// Capture groups a replacement may name ($1..$9) and the defaults use (1..5).
constexpr int kMaxGroups = 9;

struct Groups {
  std::array<re2::StringPiece, kMaxGroups + 1> at;  // [0] is the whole match
  int count = 0;                                    // capture groups of the regex

  std::string_view group(int i) const {
    if (i < 1 || i > count || at[i].data() == nullptr) return {};
    return {at[i].data(), at[i].size()};
  }
};

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// `replacement` with "$N" replaced by capture group N (empty when it did not take part).
std::string expand(std::string_view replacement, const Groups& groups) {
  std::string out;
  out.reserve(replacement.size() + 16);
  for (size_t i = 0; i < replacement.size(); ++i) {
    const char c = replacement[i];
    if (c == '$' && i + 1 < replacement.size() && replacement[i + 1] >= '1' &&
        replacement[i + 1] <= '9') {
      out += groups.group(replacement[i + 1] - '0');
      ++i;
    } else {
      out.push_back(c);
    }
  }
  return std::string(trim(out));
}

// A field filled by its replacement when the rule has one, else by a capture group.
struct FieldRule {
  std::optional<std::string> replacement;
  int default_group = 0;  // 0: none

  std::string fill(const Groups& groups) const {
    if (replacement) return expand(*replacement, groups);
    return std::string(trim(groups.group(default_group)));
  }
};

struct Rule {
  std::unique_ptr<RE2> regex;
  std::vector<FieldRule> fields;
};

struct RuleList {
  std::vector<Rule> rules;
  int first_id = 0;  // the prefilter's id of rules[0]
};

// Which YAML keys fill which fields, and from which capture group by default.
struct FieldSpec {
  const char* key;
  int default_group;
};

constexpr std::array<FieldSpec, 5> kUserAgentFields = {{{"family_replacement", 1},
                                                        {"v1_replacement", 2},
                                                        {"v2_replacement", 3},
                                                        {"v3_replacement", 4},
                                                        {"v4_replacement", 5}}};
constexpr std::array<FieldSpec, 5> kOsFields = {{{"os_replacement", 1},
                                                 {"os_v1_replacement", 2},
                                                 {"os_v2_replacement", 3},
                                                 {"os_v3_replacement", 4},
                                                 {"os_v4_replacement", 5}}};
// A device's model defaults to the first group like its family; its brand has no default.
constexpr std::array<FieldSpec, 3> kDeviceFields = {
    {{"device_replacement", 1}, {"brand_replacement", 0}, {"model_replacement", 1}}};

// uap-core regexes are written for Python's `re`. Every regex of the packaged file compiles
// unchanged with RE2 and gives uap-core's expected results (tests/unit/enrich runs uap-core's own
// test cases); one RE2 refuses (a backreference or lookaround in a future or local file) is
// skipped and listed in UserAgentRuleStats::skipped, not rewritten.
std::string where(const char* list, size_t index, const YAML::Node& node) {
  return std::string(list) + "[" + std::to_string(index) + "] (line " +
         std::to_string(node.Mark().line + 1) + ")";
}

template <size_t N>
Status load_list(const YAML::Node& root, const char* list, const std::array<FieldSpec, N>& specs,
                 RuleList& out, std::vector<std::string>& skipped) {
  std::vector<Rule>& rules = out.rules;
  const YAML::Node entries = root[list];
  if (!entries || !entries.IsSequence()) {
    return invalid_argument(std::string("not a uap-core regexes file: no list \"") + list + "\"");
  }
  rules.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const YAML::Node entry = entries[i];
    if (!entry.IsMap() || !entry["regex"] || !entry["regex"].IsScalar()) {
      return invalid_argument(where(list, i, entry) + ": an entry needs a \"regex\" string");
    }
    const std::string source = entry["regex"].Scalar();
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(int64_t{16} << 20);
    if (const YAML::Node flag = entry["regex_flag"]; flag && flag.IsScalar()) {
      if (flag.Scalar() != "i") {
        return invalid_argument(where(list, i, entry) + ": unknown regex_flag \"" + flag.Scalar() +
                                "\"");
      }
      options.set_case_sensitive(false);
    }
    auto regex = std::make_unique<RE2>(source, options);
    if (!regex->ok()) {
      skipped.push_back(where(list, i, entry) + ": " + regex->error() + " in '" + source + "'");
      continue;
    }
    Rule rule;
    rule.regex = std::move(regex);
    for (const FieldSpec& spec : specs) {
      FieldRule field;
      field.default_group = spec.default_group;
      if (const YAML::Node r = entry[spec.key]; r && r.IsScalar()) field.replacement = r.Scalar();
      rule.fields.push_back(std::move(field));
    }
    rules.push_back(std::move(rule));
  }
  return Status::ok();
}

// The fields of the first rule of rules[first, last) that matches, or nothing.
std::optional<std::vector<std::string>> first_match_from(const std::vector<Rule>& rules,
                                                         size_t first, std::string_view text,
                                                         size_t last = SIZE_MAX) {
  const re2::StringPiece input(text.data(), text.size());
  for (size_t i = first; i < std::min(last, rules.size()); ++i) {
    const Rule& rule = rules[i];
    Groups groups;
    groups.count = std::min(rule.regex->NumberOfCapturingGroups(), kMaxGroups);
    if (!rule.regex->Match(input, 0, input.size(), RE2::UNANCHORED, groups.at.data(),
                           groups.count + 1)) {
      continue;
    }
    std::vector<std::string> fields;
    fields.reserve(rule.fields.size());
    for (const FieldRule& field : rule.fields) fields.push_back(field.fill(groups));
    return fields;
  }
  return std::nullopt;
}

// Which rules may match a user agent, found without running them: RE2's FilteredRE2 derives
// from each regex the literal strings ("atoms") any match must contain; one RE2::Set pass
// over the lower-cased user agent finds the atoms it holds, and the FilteredRE2 answers with
// the rules those atoms allow (plus those without atoms). Only these run, in order, so a
// miss costs a few regexes instead of all 1,166.
class Prefilter {
 public:
  // Null when the rules cannot be prefiltered (then each list is tried rule by rule).
  static std::unique_ptr<Prefilter> build(const std::vector<RuleList*>& lists) {
    auto p = std::make_unique<Prefilter>();
    int next_id = 0;
    for (RuleList* list : lists) {
      list->first_id = next_id;
      for (const Rule& rule : list->rules) {
        int id = -1;
        if (p->filter_.Add(rule.regex->pattern(), rule.regex->options(), &id) != RE2::NoError ||
            id != next_id) {
          return nullptr;
        }
        ++next_id;
      }
    }
    std::vector<std::string> atoms;
    p->filter_.Compile(&atoms);
    if (!atoms.empty()) {
      RE2::Options options;
      options.set_log_errors(false);
      options.set_max_mem(int64_t{64} << 20);
      p->atoms_ = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
      for (size_t i = 0; i < atoms.size(); ++i) {
        if (p->atoms_->Add(RE2::QuoteMeta(atoms[i]), nullptr) != static_cast<int>(i)) {
          return nullptr;
        }
      }
      if (!p->atoms_->Compile()) return nullptr;
    }
    return p;
  }

  // The ids of the rules that may match `text`, ascending; false when the atom pass failed
  // (the set's DFA out of memory), and then every rule must be tried.
  bool candidates(std::string_view text, std::vector<int>& out) const {
    std::string lower(text);
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    std::vector<int> matched;
    if (atoms_) {
      RE2::Set::ErrorInfo error{RE2::Set::kNoError};
      if (!atoms_->Match(lower, &matched, &error) && error.kind != RE2::Set::kNoError) {
        return false;
      }
    }
    filter_.AllPotentials(matched, &out);
    std::sort(out.begin(), out.end());
    return true;
  }

 private:
  // Atoms shorter than this are not worth looking for (a regex with only such atoms always
  // runs).
  static constexpr int kMinAtomLength = 3;
  re2::FilteredRE2 filter_{kMinAtomLength};
  std::unique_ptr<RE2::Set> atoms_;  // null: no regex has atoms
};

// The fields of the first rule of `list` that matches; with `candidates` (ascending prefilter
// ids, or null) only those rules are tried.
std::optional<std::vector<std::string>> first_match(const RuleList& list,
                                                    const std::vector<int>* candidates,
                                                    std::string_view text) {
  if (candidates == nullptr) return first_match_from(list.rules, 0, text);
  const int end = list.first_id + static_cast<int>(list.rules.size());
  for (auto it = std::lower_bound(candidates->begin(), candidates->end(), list.first_id);
       it != candidates->end() && *it < end; ++it) {
    const size_t index = static_cast<size_t>(*it - list.first_id);
    // Tries this one rule only: a candidate that does not match falls through to the next.
    if (auto f = first_match_from(list.rules, index, text, index + 1)) return f;
  }
  return std::nullopt;
}

std::string join_version(std::initializer_list<const std::string*> parts) {
  std::string out;
  for (const std::string* part : parts) {
    if (part->empty()) break;
    if (!out.empty()) out.push_back('.');
    out += *part;
  }
  return out;
}

}  // namespace

struct UserAgentParser::Rules {
  RuleList user_agent;
  RuleList os;
  RuleList device;
  std::unique_ptr<Prefilter> prefilter;  // null: every rule is tried
  UserAgentRuleStats stats;
};

// A sharded LRU cache: the shard is chosen by the key's hash, so threads parsing different
// user agents rarely wait on one another.
class UserAgentParser::Cache {
 public:
  Cache(size_t capacity, size_t shards)
      : per_shard_(std::max<size_t>(1, (capacity + shards - 1) / shards)), shards_(shards) {}

  std::shared_ptr<const UserAgentInfo> find(std::string_view key, size_t hash) {
    Shard& shard = shard_of(hash);
    std::lock_guard lock(shard.mutex);
    auto it = shard.index.find(key);
    if (it == shard.index.end()) {
      misses_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    hits_.fetch_add(1, std::memory_order_relaxed);
    return it->second->second;
  }

  void insert(std::string_view key, size_t hash, std::shared_ptr<const UserAgentInfo> value) {
    Shard& shard = shard_of(hash);
    std::lock_guard lock(shard.mutex);
    if (shard.index.contains(key)) return;  // another thread parsed it meanwhile
    shard.lru.emplace_front(std::string(key), std::move(value));
    shard.index.emplace(shard.lru.front().first, shard.lru.begin());
    if (shard.lru.size() > per_shard_) {
      shard.index.erase(shard.lru.back().first);
      shard.lru.pop_back();
    }
  }

  UserAgentCacheStats stats() const {
    UserAgentCacheStats s;
    s.hits = hits_.load(std::memory_order_relaxed);
    s.misses = misses_.load(std::memory_order_relaxed);
    for (const Shard& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      s.entries += shard.lru.size();
    }
    return s;
  }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const UserAgentInfo>>;
  struct Shard {
    mutable std::mutex mutex;
    std::list<Entry> lru;  // most recently used first; keys of `index` point into it
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;
  };

  Shard& shard_of(size_t hash) { return shards_[(hash >> 7) % shards_.size()]; }

  const size_t per_shard_;
  std::vector<Shard> shards_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

std::string UserAgentInfo::browser_version() const {
  return join_version({&browser_major, &browser_minor, &browser_patch});
}

std::string UserAgentInfo::os_version() const {
  return join_version({&os_major, &os_minor, &os_patch, &os_patch_minor});
}

Result<std::unique_ptr<UserAgentParser>> UserAgentParser::load(const UserAgentOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(options.regexes_path, ec)) {
    return not_found("uap-core regexes file \"" + options.regexes_path +
                     "\" not found (Debian package uap-core)");
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(options.regexes_path);
  } catch (const YAML::Exception& e) {
    return invalid_argument(options.regexes_path + ":" + std::to_string(e.mark.line + 1) + ": " +
                            e.msg);
  }
  if (!root.IsMap()) {
    return invalid_argument(options.regexes_path + ": not a uap-core regexes file (no mapping)");
  }
  auto rules = std::make_unique<Rules>();
  const auto prefixed = [&](const Status& s) {
    return s.is_ok() ? s : Status(s.code(), options.regexes_path + ": " + s.message());
  };
  BASALT_RETURN_IF_ERROR(prefixed(load_list(root, "user_agent_parsers", kUserAgentFields,
                                            rules->user_agent, rules->stats.skipped)));
  BASALT_RETURN_IF_ERROR(
      prefixed(load_list(root, "os_parsers", kOsFields, rules->os, rules->stats.skipped)));
  BASALT_RETURN_IF_ERROR(prefixed(
      load_list(root, "device_parsers", kDeviceFields, rules->device, rules->stats.skipped)));
  if (options.prefilter) {
    rules->prefilter = Prefilter::build({&rules->user_agent, &rules->os, &rules->device});
  }
  rules->stats.user_agent_rules = rules->user_agent.rules.size();
  rules->stats.os_rules = rules->os.rules.size();
  rules->stats.device_rules = rules->device.rules.size();
  return std::unique_ptr<UserAgentParser>(new UserAgentParser(options, std::move(rules)));
}

UserAgentParser::UserAgentParser(UserAgentOptions options, std::unique_ptr<Rules> rules)
    : options_(std::move(options)), rules_(std::move(rules)) {
  if (options_.cache_capacity > 0) {
    cache_ = std::make_unique<Cache>(options_.cache_capacity,
                                     std::max<size_t>(1, options_.cache_shards));
  }
}

UserAgentParser::~UserAgentParser() = default;

UserAgentInfo UserAgentParser::parse_uncached(std::string_view user_agent) const {
  UserAgentInfo info;
  user_agent = user_agent.substr(0, options_.max_user_agent_bytes);
  if (user_agent.empty()) return info;
  std::vector<int> candidates;
  const std::vector<int>* only = nullptr;
  if (rules_->prefilter && rules_->prefilter->candidates(user_agent, candidates)) {
    only = &candidates;
  }
  if (auto f = first_match(rules_->user_agent, only, user_agent)) {
    if (!(*f)[0].empty()) info.browser_family = std::move((*f)[0]);
    info.browser_major = std::move((*f)[1]);
    info.browser_minor = std::move((*f)[2]);
    info.browser_patch = std::move((*f)[3]);
  }
  if (auto f = first_match(rules_->os, only, user_agent)) {
    if (!(*f)[0].empty()) info.os_family = std::move((*f)[0]);
    info.os_major = std::move((*f)[1]);
    info.os_minor = std::move((*f)[2]);
    info.os_patch = std::move((*f)[3]);
    info.os_patch_minor = std::move((*f)[4]);
  }
  if (auto f = first_match(rules_->device, only, user_agent)) {
    if (!(*f)[0].empty()) info.device_family = std::move((*f)[0]);
    info.device_brand = std::move((*f)[1]);
    info.device_model = std::move((*f)[2]);
  }
  return info;
}

std::shared_ptr<const UserAgentInfo> UserAgentParser::parse(std::string_view user_agent) const {
  user_agent = user_agent.substr(0, options_.max_user_agent_bytes);
  if (!cache_ || user_agent.empty()) {
    return std::make_shared<const UserAgentInfo>(parse_uncached(user_agent));
  }
  const size_t hash = std::hash<std::string_view>{}(user_agent);
  if (auto hit = cache_->find(user_agent, hash)) return hit;
  auto parsed = std::make_shared<const UserAgentInfo>(parse_uncached(user_agent));
  cache_->insert(user_agent, hash, parsed);
  return parsed;
}

const UserAgentRuleStats& UserAgentParser::rule_stats() const { return rules_->stats; }

UserAgentCacheStats UserAgentParser::cache_stats() const {
  return cache_ ? cache_->stats() : UserAgentCacheStats{};
}

}  // namespace basalt::enrich
