// The semantic layer's speed on a warehouse the size of a month of a mid-size game: EVENTS
// events over 30 days from USERS players, generated inside DuckDB by SQL (loading 50 M events
// through ingest would take longer than the benchmark itself), in one of two shapes:
//   sessions (default): like the game generator's players: each day a share of the players is
//     active, an active player-day has 1-3 sessions of 8-24 events (login, session_start, level
//     ups, chat, item purchases, a few pays, session_end): about 32 events per user-day;
//   uniform (QUERY_BENCH_DATA=uniform): events spread evenly over players and time (about 1.7
//     events per user-day), which no per-user-day rollup makes smaller.
// Then the four typical queries — DAU by day, revenue by channel against the previous period,
// a 5-step funnel, a 30-day retention triangle — each cold (cache cleared), cached, and as its
// generated SQL run directly on the warehouse, and the layer's own work (compile + reshape)
// timed by itself; with the rollups the loader maintains (the default), and cold once more with
// them switched off (the raw events), checking both answers are the same. Medians of RUNS runs;
// the header says how loaded the machine was. QUERY_BENCH_RAW=0 skips the raw runs;
// QUERY_BENCH_AB="a.sql b.sql" times those statements instead, interleaved (run_ab).
//   query_bench [events=50000000] [users=1000000] [runs=3] [db path]
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "query_cases.h"
#include "semantic/semantic_service.h"
#include "warehouse/warehouse.h"

namespace {

using namespace basalt;
using Clk = std::chrono::steady_clock;

constexpr int64_t kEndUs = 1795478400'000000;  // 2026-11-24T00:00:00Z: the history's end

class FixedClock final : public Clock {
 public:
  int64_t now_us() const override { return kEndUs; }
};

double ms_since(Clk::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clk::now() - t0).count();
}
// The 1-minute load average, to say how busy the machine was during a measurement.
std::string load_average() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return "?";
  char buf[64] = {0};
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string s(buf, n);
  return s.substr(0, s.find(' '));
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
void must(const Result<warehouse::QueryResult>& r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what, r.status().message().c_str());
    std::exit(1);
  }
}

// QUERY_BENCH_AB="a.sql b.sql …": each file's statement run on the warehouse `runs` times,
// the files interleaved (a b a b …) so that both see the same machine; min and median.
int run_ab(warehouse::Warehouse& w, const std::string& files, int runs) {
  std::vector<std::pair<std::string, std::string>> sqls;  // file, statement
  std::istringstream names(files);
  for (std::string f; names >> f;) {
    std::ifstream in(f);
    if (!in) {
      std::fprintf(stderr, "QUERY_BENCH_AB: cannot read %s\n", f.c_str());
      return 2;
    }
    std::ostringstream text;
    text << in.rdbuf();
    sqls.emplace_back(f, text.str());
  }
  warehouse::QueryOptions slow;
  slow.timeout = std::chrono::hours(1);
  std::vector<std::vector<double>> ms(sqls.size());
  for (int r = 0; r < runs; ++r) {
    for (size_t i = 0; i < sqls.size(); ++i) {
      auto t0 = Clk::now();
      must(w.query(sqls[i].second, slow), sqls[i].first.c_str());
      ms[i].push_back(ms_since(t0));
    }
  }
  std::printf("%d interleaved runs, load average %s after them\n", runs, load_average().c_str());
  for (size_t i = 0; i < sqls.size(); ++i) {
    std::printf("%-40s min %8.1f ms  median %8.1f ms\n", sqls[i].first.c_str(),
                *std::min_element(ms[i].begin(), ms[i].end()), median(ms[i]));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t events = argc > 1 ? std::atoll(argv[1]) : 50'000'000;
  int64_t users = argc > 2 ? std::atoll(argv[2]) : 1'000'000;
  int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  std::string path = argc > 4 ? argv[4]
                              : (std::filesystem::temp_directory_path() /
                                 ("basalt_query_bench_" + std::to_string(::getpid()) + ".duckdb"))
                                    .string();
  bool fresh = !std::filesystem::exists(path);
  const char* shape_env = std::getenv("QUERY_BENCH_DATA");
  const std::string shape = shape_env && *shape_env ? shape_env : "sessions";
  if (shape != "sessions" && shape != "uniform") {
    std::fprintf(stderr, "QUERY_BENCH_DATA must be sessions or uniform\n");
    return 2;
  }
  warehouse::WarehouseOptions wo;
  wo.path = path;
  wo.rollup_timezone = "UTC";
  // DuckDB's memory_limit in MB, as `warehouse.memory_limit` sets it for `basalt up` (unset:
  // DuckDB's default, 80 % of RAM).
  if (const char* mb = std::getenv("QUERY_BENCH_MEMORY_MB"); mb && *mb) {
    wo.memory_limit_bytes = std::strtoull(mb, nullptr, 10) << 20;
  }
  auto w = warehouse::make_warehouse(wo);
  if (!w) {
    std::fprintf(stderr, "open: %s\n", w.status().message().c_str());
    return 1;
  }
  warehouse::QueryOptions slow;
  slow.timeout = std::chrono::hours(1);
  // The typed columns the model reads, as the tracking plan would declare them.
  warehouse::PlanColumns plan;
  plan.properties = {{"amount", event::ValueType::kFloat}};
  plan.attributes = {{"channel", event::ValueType::kString}};
  auto applied = (*w)->apply_plan_columns(plan);
  if (!applied) {
    std::fprintf(stderr, "plan columns: %s\n", applied.status().message().c_str());
    return 1;
  }
  if (fresh) {
    auto t0 = Clk::now();
    // Players: a channel each (the generator's weights 40/20/20/12/8).
    must((*w)->query(fmt::format(R"(
      INSERT INTO users (user_id, anonymous_ids, traits, first_seen, last_seen, updated_at, a_channel)
      SELECT 'p' || lpad(CAST(i AS VARCHAR), 7, '0'), [], '{{}}', TIMESTAMPTZ '2026-10-25 00:00:00+00',
             TIMESTAMPTZ '2026-11-24 00:00:00+00', now(),
             CASE WHEN h < 40 THEN 'organic' WHEN h < 60 THEN 'facebook' WHEN h < 80 THEN 'google'
                  WHEN h < 92 THEN 'tiktok' ELSE 'unity_ads' END
      FROM (SELECT i, hash(i) % 100 AS h FROM range({}) t(i)))",
                                 users),
                     slow),
         "users");
    if (shape == "uniform") {
      // Events: evenly over 30 days, each to a player picked by hash, the generator's mix.
      must((*w)->query(fmt::format(R"(
        INSERT INTO events (event_id, message_id, source, type, event, user_id, timestamp, received_at,
                            properties, traits, context, p_amount)
        SELECT CAST(i AS VARCHAR), CAST(i AS VARCHAR), 'game', 'track', ev,
               'p' || lpad(CAST(hash(i * 31) % {u} AS VARCHAR), 7, '0'), ts, ts, '{{}}', '{{}}', '{{}}',
               CASE WHEN ev = 'pay' THEN [0.99, 4.99, 9.99, 19.99, 49.99][1 + CAST(hash(i * 7) % 5 AS INTEGER)] END
        FROM (SELECT i, TIMESTAMPTZ '2026-10-25 00:00:00+00' + to_microseconds(CAST(i * (2592000000000 // {n}) AS BIGINT)) AS ts,
                     CASE WHEN h < 8 THEN 'login' WHEN h < 20 THEN 'session_start' WHEN h < 32 THEN 'session_end'
                          WHEN h < 42 THEN 'level_up' WHEN h < 80 THEN 'chat_message' WHEN h < 97 THEN 'item_purchase'
                          ELSE 'pay' END AS ev
              FROM (SELECT i, hash(i) % 100 AS h FROM range({n}) t(i))))",
                                   fmt::arg("u", users), fmt::arg("n", events)),
                       slow),
           "events");
    } else {
      // Sessions: per day, the active players (a share sized so the month has about EVENTS
      // events at 32 per active player-day), each with 1-3 sessions 3 hours apart of 8-24
      // events 45 s apart; a day's events inserted in time order, as the loader appends them.
      const double share =
          std::min(1.0, static_cast<double>(events) / 32.0 / 30.0 / static_cast<double>(users));
      const auto threshold = static_cast<int64_t>(share * 1'000'000);
      for (int d = 0; d < 30; ++d) {
        must((*w)->query(
                 fmt::format(R"(
          INSERT INTO events (event_id, message_id, source, type, event, user_id, timestamp, received_at,
                              properties, traits, context, p_amount)
          SELECT id, id, 'game', 'track', ev, 'p' || lpad(CAST(p AS VARCHAR), 7, '0'), ts, ts, '{{}}', '{{}}', '{{}}',
                 CASE WHEN ev = 'pay' THEN [0.99, 4.99, 9.99, 19.99, 49.99][1 + CAST(hash(p, j, k) % 5 AS INTEGER)] END
          FROM (
            SELECT p, k, j, '{d}-' || p || '-' || k || '-' || j AS id,
                   TIMESTAMPTZ '2026-10-25 00:00:00+00' + to_microseconds(({d} * 86400 + start_s + k * 10800 + j * 45) * 1000000) AS ts,
                   CASE WHEN j = 0 AND k = 0 THEN 'login' WHEN j = 0 OR (j = 1 AND k = 0) THEN 'session_start'
                        WHEN j = len - 1 THEN 'session_end'
                        WHEN h < 15 THEN 'level_up' WHEN h < 60 THEN 'chat_message' WHEN h < 97 THEN 'item_purchase'
                        ELSE 'pay' END AS ev
            FROM (SELECT *, CAST(hash(p, {d}, k, j) % 100 AS BIGINT) AS h
                  FROM (SELECT *, unnest(range(len)) AS j
                        FROM (SELECT *, CAST(8 + hash(p, {d}, k, 3) % 17 AS BIGINT) AS len
                              FROM (SELECT p, start_s, unnest(range(sessions)) AS k
                                    FROM (SELECT p, CAST(1 + hash(p, {d}, 1) % 3 AS BIGINT) AS sessions,
                                                 CAST(hash(p, {d}, 2) % 50000 AS BIGINT) AS start_s
                                          FROM range({u}) t(p) WHERE hash(p, {d}) % 1000000 < {t}))))))
          ORDER BY ts)",
                             fmt::arg("d", d), fmt::arg("u", users), fmt::arg("t", threshold)),
                 slow),
             "events");
      }
    }
    must((*w)->query("CHECKPOINT", slow), "checkpoint");
    auto n = (*w)->query(
        "SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT user_id, "
        "CAST(\"timestamp\" AS DATE) FROM events)) FROM events",
        slow);
    must(n, "count");
    std::printf("generated %s data: %lld events, %lld user-days, %lld players, in %.1f s into %s\n",
                shape.c_str(), static_cast<long long>(std::get<int64_t>(n->rows[0][0])),
                static_cast<long long>(std::get<int64_t>(n->rows[0][1])),
                static_cast<long long>(users), ms_since(t0) / 1000, path.c_str());
    t0 = Clk::now();
    // The rows came by SQL, not through load(): build the rollups from them.
    Status built = (*w)->rebuild_rollups();
    if (!built.is_ok()) {
      std::fprintf(stderr, "rollups: %s\n", built.message().c_str());
      return 1;
    }
    must((*w)->query("CHECKPOINT", slow), "checkpoint");
    auto r = (*w)->query("SELECT count(*) FROM events_user_day", slow);
    must(r, "rollup rows");
    std::printf("built the rollups in %.1f s: %lld user-day-event rows\n", ms_since(t0) / 1000,
                static_cast<long long>(std::get<int64_t>(r->rows[0][0])));
  }
  if (const char* ab = std::getenv("QUERY_BENCH_AB"); ab && *ab) return run_ab(**w, ab, runs);
  auto models = semantic::ModelSet::parse("models/bench.yaml", bench::kQueryModel);
  FixedClock clock;
  QueryConfig qc;
  qc.timeout = std::chrono::minutes(10);
  auto svc = semantic::SemanticService::with_models(models.models, "duckdb", "UTC", qc, **w, clock);
  if (!svc) return 1;
  QueryConfig raw_config = qc;
  raw_config.rollups = false;
  auto raw = semantic::SemanticService::with_models(models.models, "duckdb", "UTC", raw_config, **w,
                                                    clock);
  if (!raw) return 1;
  const char* raw_env = std::getenv("QUERY_BENCH_RAW");
  const bool run_raw = !(raw_env && std::string(raw_env) == "0");

  std::printf(
      "%s data: %lld events, %lld players, 30 days; medians of %d runs; %u CPUs seen, load average "
      "%s\n"
      "cold: the API path with the result cache cleared (compile, run, reshape, cache insert);\n"
      "cached: the same query answered from the result cache; direct: the generated SQL run on\n"
      "the warehouse alone (cold and direct alternate which goes first); layer: the semantic\n"
      "layer's own work, compile + reshape timed by themselves, and its share of direct;\n"
      "cold-direct: the difference of two runs of the same SQL, noise on a shared machine.\n"
      "Targets: cold <= 1000 ms, cached <= 10 ms, layer <= 5%% of direct. load: the 1-minute\n"
      "load average after the query's runs.\n",
      shape.c_str(), static_cast<long long>(events), static_cast<long long>(users), runs,
      std::thread::hardware_concurrency(), load_average().c_str());
  std::printf(
      "from: rollup when the answer came from the rollups, events when from the raw table;\n"
      "raw cold ms: the same query cold with the rollups switched off; same: both answers "
      "agree.\n");
  std::printf("%-36s %6s %9s %9s %9s %9s %7s %11s %11s %5s %5s %6s  %s\n", "query", "from",
              "cold ms", "cached ms", "direct ms", "layer ms", "layer", "cold-direct",
              "raw cold ms", "same", "rows", "load", "targets (cold, cached, layer)");
  for (const auto& c : bench::kQueryCases) {
    auto q = semantic::parse_query(nlohmann::json::parse(c.json));
    if (!q) {
      std::fprintf(stderr, "%s: %s\n", c.name, q.status().message().c_str());
      return 1;
    }
    auto compiled = (*svc)->compile(*q);
    if (!compiled) {
      std::fprintf(stderr, "%s: %s\n", c.name, compiled.status().message().c_str());
      return 1;
    }
    std::vector<double> cold, cached, direct, layer;
    size_t rows = 0;
    for (int r = 0; r < runs; ++r) {
      auto run_direct = [&] {
        auto t0 = Clk::now();
        auto d = (*w)->query(compiled->sql, compiled->params, slow);
        direct.push_back(ms_since(t0));
        must(d, c.name);
        // The layer's own work around that SQL: compiling the query and reshaping the rows.
        t0 = Clk::now();
        auto again = (*svc)->compile(*q);
        auto shaped = semantic::reshape(*again, std::move(*d));
        layer.push_back(ms_since(t0));
        rows = shaped.rows.size();
      };
      auto run_cold = [&] {
        (*svc)->on_commit({"events", INT64_MIN, INT64_MAX});  // clears the entry
        auto t0 = Clk::now();
        auto a = (*svc)->run(*q, std::chrono::minutes(10));
        cold.push_back(ms_since(t0));
        if (!a || a->cached) std::exit(1);
      };
      // Alternate the order so neither side always meets a warmer cache of DuckDB's.
      if (r % 2 == 0) {
        run_direct();
        run_cold();
      } else {
        run_cold();
        run_direct();
      }
      auto t0 = Clk::now();
      auto b = (*svc)->run(*q, std::chrono::minutes(10));
      cached.push_back(ms_since(t0));
      if (!b || !b->cached) return 1;
    }
    // The raw table's answer: its time cold, and whether it is the rollups' answer.
    std::vector<double> raw_cold;
    std::string same = "-";
    for (int r = 0; run_raw && r < runs; ++r) {
      (*raw)->on_commit({"events", INT64_MIN, INT64_MAX});
      auto t0 = Clk::now();
      auto a = (*raw)->run(*q, std::chrono::minutes(10));
      raw_cold.push_back(ms_since(t0));
      if (!a) return 1;
      if (r > 0) continue;
      auto b = (*svc)->run(*q, std::chrono::minutes(10));
      if (!b) return 1;
      bool equal = a->result.rows.size() == b->result.rows.size();
      for (size_t i = 0; equal && i < a->result.rows.size(); ++i) {
        for (size_t k = 0; equal && k < a->result.rows[i].size(); ++k) {
          const auto& x = a->result.rows[i][k];
          const auto& y = b->result.rows[i][k];
          const auto* dx = std::get_if<double>(&x);
          const auto* dy = std::get_if<double>(&y);
          equal = dx && dy ? std::abs(*dx - *dy) <= 1e-9 * std::max(1.0, std::abs(*dx)) : x == y;
        }
      }
      same = equal ? "yes" : "NO";
    }
    double oc = median(cold), od = median(direct), oh = median(cached), ol = median(layer);
    double share = 100.0 * ol / od;
    std::string raw_ms = raw_cold.empty() ? "-" : fmt::format("{:.1f}", median(raw_cold));
    std::printf(
        "%-36s %6s %9.1f %9.3f %9.1f %9.3f %6.2f%% %10.1f%% %11s %5s %5zu %6s  %s, %s, %s\n",
        c.name, compiled->from_rollup ? "rollup" : "events", oc, oh, od, ol, share,
        100.0 * (oc - od) / od, raw_ms.c_str(), same.c_str(), rows, load_average().c_str(),
        oc <= 1000 ? "met" : "NOT met", oh <= 10 ? "met" : "NOT met",
        share <= 5 ? "met" : "NOT met");
    if (std::getenv("QUERY_BENCH_SQL")) std::printf("  SQL: %s\n", compiled->sql.c_str());
  }
  if (argc <= 4) std::filesystem::remove(path), std::filesystem::remove(path + ".wal");
  return 0;
}
