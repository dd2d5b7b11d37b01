// What enrichment costs per event: user agent parsing (cold: a user agent never seen, so all
// three rule lists run; cached: a repeat), a GeoIP lookup, and a typical Lua transform.
//
// The GeoIP benchmark needs a database: it builds the unit tests' tiny one with
// tests/unit/enrich/make_test_mmdb.pl (Debian libmaxmind-db-writer-perl), or reads the file
// named by BASALT_BENCH_MMDB (e.g. a GeoLite2-City.mmdb) when that is set.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "enrich/geo_ip.h"
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

}  // namespace

BENCHMARK_MAIN();
