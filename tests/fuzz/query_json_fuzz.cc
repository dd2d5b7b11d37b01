// Fuzzes the query API's path from a request body to SQL: the JSON text, parse_query, the
// cache key (normalised_query), compile() on a model set with joins, filters and derived
// metrics, and reshape() of an empty answer. Arbitrary bytes give a query, a precise error or
// SQL, never a crash; and every placeholder of the SQL has its bound parameter.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "domino/time_zone.h"
#include "semantic/compiler.h"
#include "semantic/duckdb_dialect.h"
#include "semantic/model.h"
#include "semantic/query.h"

namespace {

constexpr const char* kModels = R"yaml(model: events
table: events
time: timestamp
joins:
  - {model: users, on: "events.user_id = users.user_id", relationship: many_to_one}
dimensions:
  - {name: event, column: event}
  - {name: channel, sql: "users.a_channel"}
  - {name: amount_band, sql: "CASE WHEN p_amount < 6 THEN 'small' ELSE 'large' END"}
  - {name: os, column: os_name}
measures:
  - {name: events, agg: count}
  - {name: dau, agg: count_distinct, column: user_id}
  - {name: revenue, agg: sum, column: p_amount, filter: "event = 'pay'", format: currency}
  - {name: payers, agg: count_distinct, column: user_id, filter: "event = 'pay'"}
  - {name: p90_amount, agg: percentile, p: 0.9, column: p_amount}
metrics:
  - {name: arpu, expr: "revenue / dau"}
  - {name: pay_rate, expr: "payers / dau", format: percent}
---
model: users
table: users
time: first_seen
dimensions:
  - {name: channel, column: a_channel}
measures:
  - {name: users, agg: count}
)yaml";

// Aborts unless every "$N" of `sql` names one of its `params` (1-based).
void check_placeholders(const basalt::semantic::CompiledQuery& c) {
  const std::string& s = c.sql;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '$') continue;
    size_t j = i + 1;
    uint64_t n = 0;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9' && n < 1'000'000) n = n * 10 + (s[j++] - '0');
    if (j == i + 1) continue;
    if (n == 0 || n > c.params.size()) std::abort();
    i = j - 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace basalt;
  static const semantic::ModelSet kSet = [] {
    auto loaded = semantic::ModelSet::parse("models/fuzz.yaml", kModels);
    if (!loaded.errors.empty()) std::abort();  // the fuzzer's own model must load
    return loaded.models;
  }();
  static const semantic::DuckDbDialect kDialect;
  static const domino::TimeZone kUtc = domino::TimeZone::utc();

  auto body = nlohmann::json::parse(data, data + size, nullptr, false);
  if (body.is_discarded()) return 0;
  (void)semantic::normalised_query(body);
  auto q = semantic::parse_query(body);
  if (!q) return 0;
  // UTC, and a zone with DST when the system has it (local times take another path there).
  static const std::optional<domino::TimeZone> kNewYork = [] {
    auto z = domino::TimeZone::load("America/New_York");
    return z ? std::optional<domino::TimeZone>(*z) : std::nullopt;
  }();
  for (const domino::TimeZone* zone : {&kUtc, kNewYork ? &*kNewYork : nullptr}) {
    if (!zone) continue;
    semantic::CompileContext ctx{&kDialect, zone->name(), zone, 1795478400'000000, 1000};
    auto c = semantic::compile(*q, kSet, ctx);
    if (!c) continue;
    if (c->sql.empty()) std::abort();
    check_placeholders(*c);
    (void)semantic::reshape(*c, warehouse::QueryResult{});
  }
  return 0;
}
