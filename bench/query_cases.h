// The model and the four typical queries that query_bench times on DuckDB and
// scaleout_query_bench on ClickHouse beside it, on the same generated data.
#pragma once

namespace basalt::bench {

constexpr const char* kQueryModel = R"yaml(model: events
table: events
time: timestamp
joins:
  - {model: users, on: "events.user_id = users.user_id", relationship: many_to_one}
dimensions:
  - {name: event, column: event}
  - {name: channel, sql: "users.a_channel"}
measures:
  - {name: dau, agg: count_distinct, column: user_id}
  - {name: revenue, agg: sum, column: p_amount, filter: "event = 'pay'"}
metrics:
  - {name: arpu, expr: "revenue / dau"}
---
model: users
table: users
dimensions:
  - {name: channel, column: a_channel}
measures:
  - {name: users, agg: count}
)yaml";

struct QueryCase {
  const char* name;
  const char* json;
};

inline constexpr QueryCase kQueryCases[] = {
    {"DAU by day (30 days)",
     R"({"model":"events","metrics":["dau"],"time":{"range":["2026-10-25","2026-11-23"],"grain":"day"}})"},
    {"revenue by channel, previous period",
     R"({"model":"events","metrics":["revenue","dau","arpu"],"dimensions":["channel"],"time":{"range":["2026-11-09","2026-11-23"]},"compare":"previous_period"})"},
    {"5-step funnel (1 day window)",
     R"({"type":"funnel","model":"events","steps":["login","session_start","level_up","item_purchase","pay"],"window":"1d","time":{"range":["2026-11-01","2026-11-07"]}})"},
    {"30-day retention triangle",
     R"({"type":"retention","model":"events","start":"login","return":"session_start","period":"day","periods":30,"time":{"range":["2026-10-25","2026-11-23"]}})"},
};

}  // namespace basalt::bench
