#pragma once
// User agent → browser, OS and device, with the uap-core regexes (Debian's `uap-core` package)
// compiled once with RE2, and a bounded cache by user agent string.
//
// The rules follow the uap-core specification: the three lists (user_agent_parsers,
// os_parsers, device_parsers) are tried in file order and the first regex that matches wins;
// a field's *_replacement, when present, replaces the capture group that fills it by default,
// and "$1".."$9" in a replacement stand for the capture groups. What does not match is
// "Other". Results are trimmed; an empty field means unknown.
//
// Thread safety: a loaded UserAgentParser is immutable apart from its cache, which is split
// into shards, each with its own mutex; parse() may be called from any number of threads.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace basalt::enrich {

// Debian's copy of the uap-core regexes.
inline constexpr std::string_view kDefaultUapRegexesPath = "/usr/share/uap-core/regexes.yaml";

struct UserAgentInfo {
  std::string browser_family = "Other";
  std::string browser_major;  // "" when unknown, like every version part below
  std::string browser_minor;
  std::string browser_patch;
  std::string os_family = "Other";
  std::string os_major;
  std::string os_minor;
  std::string os_patch;
  std::string os_patch_minor;
  std::string device_family = "Other";
  std::string device_brand;  // "" when unknown
  std::string device_model;  // "" when unknown

  // The known version parts joined by '.': "120.0.6099", "17.1", or "".
  std::string browser_version() const;
  std::string os_version() const;

  bool operator==(const UserAgentInfo&) const = default;
};

struct UserAgentOptions {
  std::string regexes_path{kDefaultUapRegexesPath};
  // Entries kept in the cache in all (0: no cache), spread over `cache_shards` shards, each
  // an LRU list with its own mutex.
  size_t cache_capacity = 20'000;
  size_t cache_shards = 16;
  // Longer user agents are cut to this many bytes before matching (and caching): real ones
  // are far shorter, and it bounds the cost of a hostile header.
  size_t max_user_agent_bytes = 1024;
  // Run only the rules whose required literal strings the user agent contains (RE2's
  // FilteredRE2 with one RE2::Set pass for the literals). Off: try every rule in turn. The
  // results are the same; a cache miss costs far less with it.
  bool prefilter = true;
};

// What loading found: rules compiled per list, and the regexes RE2 refused (with why).
struct UserAgentRuleStats {
  size_t user_agent_rules = 0;
  size_t os_rules = 0;
  size_t device_rules = 0;
  std::vector<std::string> skipped;  // "os_parsers[12]: <RE2 error> in '<regex>'"
};

struct UserAgentCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  size_t entries = 0;
};

class UserAgentParser {
 public:
  // Reads and compiles the regexes file. Errors: kNotFound (no file), kInvalidArgument (not a
  // uap-core regexes file: the message names the entry and why). A regex RE2 cannot compile
  // is skipped and listed in rule_stats().skipped rather than failing the load.
  static Result<std::unique_ptr<UserAgentParser>> load(const UserAgentOptions& options = {});

  ~UserAgentParser();
  UserAgentParser(const UserAgentParser&) = delete;
  UserAgentParser& operator=(const UserAgentParser&) = delete;

  // The parse of `user_agent`, from the cache when it holds it. Never null. An empty user
  // agent gives the all-"Other" result.
  std::shared_ptr<const UserAgentInfo> parse(std::string_view user_agent) const;

  // The same without touching the cache (for benchmarks and tests).
  UserAgentInfo parse_uncached(std::string_view user_agent) const;

  const UserAgentRuleStats& rule_stats() const;
  UserAgentCacheStats cache_stats() const;

 private:
  struct Rules;
  class Cache;
  UserAgentParser(UserAgentOptions options, std::unique_ptr<Rules> rules);

  UserAgentOptions options_;
  std::unique_ptr<Rules> rules_;
  std::unique_ptr<Cache> cache_;
};

}  // namespace basalt::enrich
