// What enrichment costs per event: user agent parsing (cold: a user agent never seen, so all
// three rule lists run; cached: a repeat), a GeoIP lookup, and a typical Lua transform.
//
// The GeoIP benchmark needs a database: it builds the unit tests' tiny one with
// tests/unit/enrich/make_test_mmdb.pl (Debian libmaxmind-db-writer-perl), or reads the file
// named by BASALT_BENCH_MMDB (e.g. a GeoLite2-City.mmdb) when that is set.
#include <benchmark/benchmark.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "enrich/geo_ip.h"
#include "enrich/lua_transform.h"
#include "enrich/user_agent.h"

namespace {

using basalt::enrich::UserAgentParser;

// A mix of real user agents: desktop and mobile browsers, in-app web views, a bot, a library.
const std::vector<std::string>& sample_user_agents() {
  static const std::vector<std::string> kUas = {
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.6099.109 Safari/537.36",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
      "like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
      "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
      "Mozilla/5.0 (Linux; Android 13; SM-S911B Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/17.1 Safari/605.1.15",
      "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
      "okhttp/4.12.0",
      "Dalvik/2.1.0 (Linux; U; Android 12; Redmi Note 9 Pro Build/SKQ1.211019.001)",
  };
  return kUas;
}

const UserAgentParser& parser() {
  static const auto kParser = [] {
    auto p = UserAgentParser::load();
    if (!p.is_ok()) {
      std::fprintf(stderr, "%s\n", p.status().to_string().c_str());
      std::exit(1);
    }
    return std::move(p).value();
  }();
  return *kParser;
}

// Cold: each iteration a user agent the parser has not seen (a build number makes it unique).
void BM_UserAgentCold(benchmark::State& state) {
  const auto& uas = sample_user_agents();
  size_t i = 0;
  for (auto _ : state) {
    std::string ua = uas[i % uas.size()];
    const size_t at = ua.find(')');
    ua.insert(at == std::string::npos ? ua.size() : at, "; b" + std::to_string(i));
    benchmark::DoNotOptimize(parser().parse_uncached(ua));
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_UserAgentCold);

// Cold on a wide variety: the ~4,000 distinct user agents of uap-core's browser test cases, in
// turn, none cached. Argument 1: one RE2::Set pass per list (the default); 0: rule by rule.
void BM_UserAgentColdVaried(benchmark::State& state) {
  static const std::vector<std::string> kUas = [] {
    std::vector<std::string> out;
    const YAML::Node cases = YAML::LoadFile("/usr/share/uap-core/tests/test_ua.yaml")["test_cases"];
    for (const auto& c : cases) out.push_back(c["user_agent_string"].as<std::string>());
    return out;
  }();
  static const auto kSequential = [] {
    auto p = UserAgentParser::load({.cache_capacity = 0, .prefilter = false});
    return std::move(p).value();
  }();
  const UserAgentParser& p = state.range(0) != 0 ? parser() : *kSequential;
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(p.parse_uncached(kUas[i++ % kUas.size()]));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["distinct_uas"] = static_cast<double>(kUas.size());
}
BENCHMARK(BM_UserAgentColdVaried)->Arg(1)->Arg(0);

void BM_UserAgentCached(benchmark::State& state) {
  const auto& uas = sample_user_agents();
  for (const auto& ua : uas) parser().parse(ua);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(parser().parse(uas[i++ % uas.size()]));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_UserAgentCached)->Threads(1)->Threads(2);

// Loading and compiling the whole uap-core file (start-up and reload cost).
void BM_UserAgentLoad(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(UserAgentParser::load());
}
BENCHMARK(BM_UserAgentLoad)->Unit(benchmark::kMillisecond)->Iterations(3);

const basalt::enrich::GeoIp& geo() {
  static const basalt::enrich::GeoIp kGeo = [] {
    std::string path;
    if (const char* env = std::getenv("BASALT_BENCH_MMDB")) {
      path = env;
    } else {
      path = (std::filesystem::temp_directory_path() /
              ("basalt-bench-" + std::to_string(::getpid()) + ".mmdb"))
                 .string();
      const std::string command =
          "perl '" BASALT_ENRICH_TEST_DIR "/make_test_mmdb.pl' '" + path + "'";
      if (std::system(command.c_str()) != 0) {
        std::fprintf(stderr, "cannot build the test database (libmaxmind-db-writer-perl)\n");
        std::exit(1);
      }
    }
    auto g = basalt::enrich::GeoIp::open(path);
    if (!g.is_ok()) {
      std::fprintf(stderr, "%s\n", g.status().to_string().c_str());
      std::exit(1);
    }
    if (!std::getenv("BASALT_BENCH_MMDB")) std::filesystem::remove(path);
    return std::move(g).value();
  }();
  return kGeo;
}

// A found IPv4 address, a found IPv6 address and a miss, in turn.
void BM_GeoIpLookup(benchmark::State& state) {
  const char* ips[] = {"203.0.113.7", "2001:db8:1::17", "8.8.8.8"};
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(geo().lookup(ips[i++ % 3]));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_GeoIpLookup);

// A typical transform of a ~450-byte track event: rename the event, fix a property, add one,
// drop a debug field; in and out as JSON.
constexpr const char* kTypicalTransform = R"(
function transform(e)
  if e.event == "Level Completed" then e.event = "level_up" end
  local p = e.properties
  if p then
    if type(p.difficulty) == "string" then p.difficulty = p.difficulty:lower() end
    p.score_k = math.floor((p.score or 0) / 1000)
    p.debug = nil
  end
  return e
end)";

constexpr const char* kTrackEvent =
    R"({"type":"track","userId":"user-17","anonymousId":"3f1c2a8e-5b7d-4e0a-9c61-100000000017",)"
    R"("event":"Level Completed","messageId":"msg-17","timestamp":"2024-03-01T12:34:56.789Z",)"
    R"("properties":{"level":17,"score":123456,"duration_s":93.25,"difficulty":"Hard","coins":350,)"
    R"("debug":{"fps":58}},"context":{"app":{"version":"5.12.0"},"library":{"name":"analytics-ios",)"
    R"("version":"4.1.8"},"os":{"name":"iOS"}}})";

void BM_LuaTransformTypical(benchmark::State& state) {
  auto t = basalt::enrich::LuaTransform::load_source("transforms/bench.lua", kTypicalTransform);
  if (!t.is_ok()) {
    state.SkipWithError(t.status().message().c_str());
    return;
  }
  for (auto _ : state) {
    auto out = (*t)->apply(kTrackEvent);
    if (!out.is_ok()) {
      state.SkipWithError(out.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["event_bytes"] = static_cast<double>(std::strlen(kTrackEvent));
}
BENCHMARK(BM_LuaTransformTypical);

// The identity transform: the cost of the JSON → Lua → JSON round trip alone.
void BM_LuaTransformIdentity(benchmark::State& state) {
  auto t = basalt::enrich::LuaTransform::load_source("transforms/bench.lua",
                                                     "function transform(e) return e end");
  for (auto _ : state) benchmark::DoNotOptimize((*t)->apply(kTrackEvent));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_LuaTransformIdentity);

// How long an endless loop runs before the default instruction budget stops it (the worst
// case one bad event costs), and so the interpreter's speed in instructions per second.
void BM_LuaEndlessLoopStopped(benchmark::State& state) {
  const basalt::enrich::LuaLimits limits;  // the defaults
  auto t = basalt::enrich::LuaTransform::load_source(
      "transforms/bench.lua", "function transform(e) local i = 0 while true do i = i + 1 end end",
      limits);
  for (auto _ : state) {
    auto out = (*t)->apply(kTrackEvent);
    if (out.is_ok()) state.SkipWithError("the loop was not stopped");
  }
  state.counters["budget"] = static_cast<double>(limits.instruction_budget);
  state.counters["instructions/s"] = benchmark::Counter(
      static_cast<double>(limits.instruction_budget) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LuaEndlessLoopStopped)->Unit(benchmark::kMillisecond);

// Through a TransformSet, as the ingest path calls it (per-thread state lookup included).
void BM_TransformSetTypical(benchmark::State& state) {
  static const auto kSet = [] {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("basalt-bench-transforms-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::FILE* f = std::fopen((dir / "app.lua").c_str(), "w");
    std::fputs(kTypicalTransform, f);
    std::fclose(f);
    auto set = basalt::enrich::TransformSet::load_dir(dir.string());
    std::filesystem::remove_all(dir);
    return std::move(set).value();
  }();
  for (auto _ : state) benchmark::DoNotOptimize(kSet->apply("app", kTrackEvent));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_TransformSetTypical)->Threads(1)->Threads(2);

}  // namespace

BENCHMARK_MAIN();
