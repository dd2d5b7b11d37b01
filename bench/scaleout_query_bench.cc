// The metrics layer's benchmark queries on ClickHouse beside DuckDB, on the same data: the
// DuckDB file query_bench generated (kept with its 4th argument) is copied into a ClickHouse
// database, then each query of query_bench runs through a SemanticService per engine, cold
// (cache cleared) and as its generated SQL run directly; medians of RUNS runs, and whether the
// two engines' answers agree (same rows, numbers within 1e-6 relative).
//   scaleout_query_bench DUCKDB_FILE CLICKHOUSE_URL [runs=3] [database=bench_query]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "query_cases.h"
#include "semantic/semantic_service.h"
#include "warehouse/warehouse.h"

namespace {

using namespace basalt;
using Clk = std::chrono::steady_clock;
using warehouse::Value;

constexpr int64_t kEndUs = 1795478400'000000;  // query_bench's: 2026-11-24T00:00:00Z

class FixedClock final : public Clock {
 public:
  int64_t now_us() const override { return kEndUs; }
};

double ms_since(Clk::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clk::now() - t0).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
warehouse::QueryResult must(Result<warehouse::QueryResult> r, const std::string& what) {
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what.c_str(), r.status().message().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

// A ClickHouse literal of a generated value (ids, event names, channels, numbers).
std::string literal(const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return "NULL";
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "1" : "0";
  std::string out = "'";
  for (char c : std::get<std::string>(v)) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

bool agree(const warehouse::QueryResult& a, const warehouse::QueryResult& b) {
  if (a.rows.size() != b.rows.size()) return false;
  for (size_t r = 0; r < a.rows.size(); ++r) {
    if (a.rows[r].size() != b.rows[r].size()) return false;
    for (size_t c = 0; c < a.rows[r].size(); ++c) {
      const Value& x = a.rows[r][c];
      const Value& y = b.rows[r][c];
      auto num = [](const Value& v, double& out) {
        if (const auto* i = std::get_if<int64_t>(&v)) return out = static_cast<double>(*i), true;
        if (const auto* d = std::get_if<double>(&v)) return out = *d, true;
        return false;
      };
      double u, w;
      if (num(x, u) && num(y, w)) {
        if (std::abs(u - w) > 1e-6 * std::max({1.0, std::abs(u), std::abs(w)})) return false;
      } else if (x != y) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: scaleout_query_bench DUCKDB_FILE CLICKHOUSE_URL [runs] [database]\n");
    return 2;
  }
  int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  std::string database = argc > 4 ? argv[4] : "bench_query";
  warehouse::QueryOptions slow;
  slow.timeout = std::chrono::hours(1);
  slow.max_rows = 10'000'000;

  warehouse::WarehouseOptions dwo;
  dwo.path = argv[1];
  auto duck = warehouse::make_warehouse(dwo);
  if (!duck) {
    std::fprintf(stderr, "open %s: %s\n", argv[1], duck.status().message().c_str());
    return 1;
  }
  warehouse::WarehouseOptions cwo;
  cwo.engine = "clickhouse";
  cwo.url = argv[2];
  cwo.database = database;
  auto ch = warehouse::make_warehouse(cwo);
  if (!ch) {
    std::fprintf(stderr, "open %s: %s\n", argv[2], ch.status().message().c_str());
    return 1;
  }
  if (Status s = (*ch)->ensure_schema(); !s.is_ok()) {
    std::fprintf(stderr, "ClickHouse schema: %s\n", s.message().c_str());
    return 1;
  }
  auto count = [&](warehouse::Warehouse& w, const std::string& sql) {
    auto r = must(w.query(sql, slow), sql);
    const Value& v = r.rows.at(0).at(0);
    return std::holds_alternative<int64_t>(v) ? std::get<int64_t>(v) : int64_t(-1);
  };
  int64_t events = count(**duck, "SELECT count(*) FROM events");
  if (count(**ch, "SELECT count() FROM events") != events) {
    auto t0 = Clk::now();
    for (const char* sql : {"TRUNCATE TABLE events", "TRUNCATE TABLE users",
                            "ALTER TABLE events ADD COLUMN p_amount Nullable(Float64)",
                            "ALTER TABLE users ADD COLUMN a_channel Nullable(String)"}) {
      (void)(*ch)->query(sql, slow);  // the columns may exist from an earlier copy
    }
    const int64_t chunk = 250'000;
    int64_t users = count(**duck, "SELECT count(*) FROM users");
    for (int64_t at = 0; at < users; at += chunk) {
      auto rows = must((*duck)->query(fmt::format("SELECT user_id, a_channel FROM users "
                                                  "WHERE rowid >= {} AND rowid < {}",
                                                  at, at + chunk),
                                      slow),
                       "read users");
      std::string sql =
          "INSERT INTO users (user_id, anonymous_ids, traits, first_seen, first_seen_us, "
          "last_seen, last_seen_us, updated_at, updated_at_us, a_channel) VALUES ";
      for (size_t i = 0; i < rows.rows.size(); ++i) {
        if (i) sql += ',';
        sql += fmt::format("({}, [], '{{}}', 0, 0, 0, 0, 0, 1, {})", literal(rows.rows[i][0]),
                           literal(rows.rows[i][1]));
      }
      must((*ch)->query(sql, slow), "insert users");
    }
    for (int64_t at = 0; at < events; at += chunk) {
      auto rows = must((*duck)->query(fmt::format("SELECT event_id, event, user_id, "
                                                  "epoch_us(timestamp), p_amount FROM events "
                                                  "WHERE rowid >= {} AND rowid < {}",
                                                  at, at + chunk),
                                      slow),
                       "read events");
      std::string sql =
          "INSERT INTO events (event_id, message_id, source, type, event, user_id, timestamp, "
          "timestamp_us, received_at, received_at_us, properties, traits, context, _loader, "
          "_batch_end, p_amount) VALUES ";
      for (size_t i = 0; i < rows.rows.size(); ++i) {
        const auto& r = rows.rows[i];
        int64_t us = std::get<int64_t>(r[3]);
        if (i) sql += ',';
        sql += fmt::format(
            "({id}, {id}, 'game', 'track', {ev}, {u}, {s}, {us}, {s}, {us}, '{{}}', "
            "'{{}}', '{{}}', 'bench', 0, {amt})",
            fmt::arg("id", literal(r[0])), fmt::arg("ev", literal(r[1])),
            fmt::arg("u", literal(r[2])), fmt::arg("s", us / 1000000), fmt::arg("us", us),
            fmt::arg("amt", literal(r[4])));
      }
      must((*ch)->query(sql, slow), "insert events");
    }
    // Merged parts, as a warehouse loaded over hours would have.
    must((*ch)->query("OPTIMIZE TABLE events FINAL", slow), "optimize events");
    must((*ch)->query("OPTIMIZE TABLE users FINAL", slow), "optimize users");
    std::printf("copied %lld events and %lld users into ClickHouse in %.1f s\n",
                static_cast<long long>(events), static_cast<long long>(users), ms_since(t0) / 1000);
  }

  auto models = semantic::ModelSet::parse("models/bench.yaml", bench::kQueryModel);
  FixedClock clock;
  QueryConfig qc;
  qc.timeout = std::chrono::minutes(10);
  auto dsvc =
      semantic::SemanticService::with_models(models.models, "duckdb", "UTC", qc, **duck, clock);
  auto csvc =
      semantic::SemanticService::with_models(models.models, "clickhouse", "UTC", qc, **ch, clock);
  if (!dsvc || !csvc) return 1;

  std::printf("%-38s %11s %11s %11s %11s %6s %s\n", "query", "duckdb ms", "ch ms", "duckdb sql",
              "ch sql", "rows", "same answer");
  for (const auto& c : bench::kQueryCases) {
    auto q = semantic::parse_query(nlohmann::json::parse(c.json));
    if (!q) return 1;
    struct Side {
      std::vector<double> cold, direct;
      warehouse::QueryResult answer;
      std::string error;
    } sides[2];
    semantic::SemanticService* svcs[2] = {dsvc->get(), csvc->get()};
    warehouse::Warehouse* whs[2] = {duck->get(), ch->get()};
    for (int r = 0; r < runs; ++r) {
      for (int e = 0; e < 2; ++e) {
        Side& s = sides[e];
        if (!s.error.empty()) continue;
        auto compiled = svcs[e]->compile(*q);
        if (!compiled) {
          s.error = compiled.status().message();
          continue;
        }
        auto t0 = Clk::now();
        auto d = whs[e]->query(compiled->sql, compiled->params, slow);
        s.direct.push_back(ms_since(t0));
        svcs[e]->on_commit({"events", INT64_MIN, INT64_MAX});
        t0 = Clk::now();
        auto a = svcs[e]->run(*q, std::chrono::minutes(10));
        s.cold.push_back(ms_since(t0));
        if (!a || !d) {
          s.error = (a ? d.status() : a.status()).message();
          continue;
        }
        s.answer = std::move(a->result);
      }
    }
    auto ms = [](const Side& s, const std::vector<double>& v) {
      return s.error.empty() ? fmt::format("{:.1f}", median(v)) : std::string("error");
    };
    std::string same = !sides[0].error.empty() || !sides[1].error.empty()
                           ? "-"
                           : (agree(sides[0].answer, sides[1].answer) ? "yes" : "NO");
    std::printf("%-38s %11s %11s %11s %11s %6zu %s\n", c.name, ms(sides[0], sides[0].cold).c_str(),
                ms(sides[1], sides[1].cold).c_str(), ms(sides[0], sides[0].direct).c_str(),
                ms(sides[1], sides[1].direct).c_str(), sides[0].answer.rows.size(), same.c_str());
    for (int e = 0; e < 2; ++e) {
      if (!sides[e].error.empty()) {
        std::string m = sides[e].error.substr(0, sides[e].error.find('\n'));
        if (m.size() > 200) m = m.substr(0, 200) + "…";
        std::printf("  %s: %s\n", e == 0 ? "duckdb" : "clickhouse", m.c_str());
      }
    }
  }
  return 0;
}
