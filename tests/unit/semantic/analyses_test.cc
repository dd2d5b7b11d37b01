// Metrics, comparisons and analyses on generated game data, each checked against a plain-SQL
// reference written independently of the compiler.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>

#include "semantic/compiler.h"
#include "semantic/duckdb_dialect.h"
#include "semantic_data.h"

namespace basalt::semantic {
namespace {

using testing::demo_models;
using testing::generated_warehouse;
using warehouse::QueryResult;
using warehouse::Value;

std::string text(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) return std::to_string(*d);
  if (std::holds_alternative<std::monostate>(v)) return "NULL";
  return std::get<bool>(v) ? "true" : "false";
}
double num(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return std::nan("");
}

class Analyses : public ::testing::Test {
 protected:
  // The generated data, or `own_` when a test set its own rows.
  warehouse::Warehouse& w() { return own_ ? *own_ : generated_warehouse(); }
  std::unique_ptr<warehouse::Warehouse> own_;

  QueryResult run(const std::string& json, const std::string& tz_name = "UTC") {
    auto q = parse_query(nlohmann::json::parse(json));
    EXPECT_TRUE(q) << q.status().message();
    auto tz = domino::TimeZone::load(tz_name);
    EXPECT_TRUE(tz);
    CompileContext ctx{&dialect_, tz_name, &*tz, testing::kEndUs, 100000};
    auto c = compile(*q, demo_models(), ctx);
    EXPECT_TRUE(c) << c.status().message();
    if (!c) return {};
    auto r = w().query(c->sql, c->params, {});
    EXPECT_TRUE(r) << r.status().message() << "\n" << c->sql;
    if (!r) return {};
    return reshape(*c, std::move(*r));
  }
  QueryResult sql(const std::string& s) {
    auto r = w().query(s, {});
    EXPECT_TRUE(r) << r.status().message() << "\n" << s;
    return r ? *r : QueryResult{};
  }
  // Rows as text keyed by their first `keys` columns, for order-free comparison.
  static std::map<std::string, std::vector<double>> by_key(const QueryResult& r, size_t keys) {
    std::map<std::string, std::vector<double>> out;
    for (const auto& row : r.rows) {
      std::string k;
      for (size_t i = 0; i < keys; ++i) k += text(row[i]) + "|";
      std::vector<double> vals;
      for (size_t i = keys; i < row.size(); ++i) vals.push_back(num(row[i]));
      out[k] = vals;
    }
    return out;
  }
  static void expect_same(const std::map<std::string, std::vector<double>>& a,
                          const std::map<std::string, std::vector<double>>& b) {
    ASSERT_EQ(a.size(), b.size());
    ASSERT_FALSE(a.empty()) << "the reference has no rows: the test would prove nothing";
    for (const auto& [k, va] : a) {
      auto it = b.find(k);
      ASSERT_NE(it, b.end()) << "missing key " << k;
      ASSERT_EQ(va.size(), it->second.size()) << k;
      for (size_t i = 0; i < va.size(); ++i) {
        if (std::isnan(va[i]) || std::isnan(it->second[i])) {
          EXPECT_EQ(std::isnan(va[i]), std::isnan(it->second[i])) << k << " column " << i;
        } else {
          EXPECT_NEAR(va[i], it->second[i], 1e-9 * std::max(1.0, std::abs(va[i])))
              << k << " column " << i;
        }
      }
    }
  }

  DuckDbDialect dialect_;
};

TEST_F(Analyses, MetricsByDayAndChannelMatchHandWrittenSql) {
  auto got = run(R"({"model":"events","metrics":["dau","revenue","arpu","pay_rate","events"],
    "dimensions":["channel"],"time":{"range":["2026-11-10","2026-11-20"],"grain":"day"}})");
  auto want = sql(R"(
    SELECT strftime(date_trunc('day', e.timestamp AT TIME ZONE 'UTC'), '%Y-%m-%d') AS d, u.a_channel,
           count(DISTINCT e.user_id), sum(CASE WHEN e.event = 'pay' THEN e.p_amount END),
           sum(CASE WHEN e.event = 'pay' THEN e.p_amount END) / count(DISTINCT e.user_id),
           count(DISTINCT CASE WHEN e.event = 'pay' THEN e.user_id END) / count(DISTINCT e.user_id),
           count(*)
    FROM events e LEFT JOIN users u ON u.user_id = e.user_id
    WHERE e.timestamp >= TIMESTAMPTZ '2026-11-10 00:00:00+00' AND e.timestamp < TIMESTAMPTZ '2026-11-21 00:00:00+00'
    GROUP BY 1, 2)");
  expect_same(by_key(got, 2), by_key(want, 2));
  EXPECT_EQ(got.columns.at(0).name, "time");
  EXPECT_EQ(got.columns.at(2).name, "dau");
}

TEST_F(Analyses, JoinsNeverMultiplyMeasures) {
  auto got = run(R"({"model":"events","metrics":["events"],"dimensions":["channel"]})");
  double total = 0;
  for (const auto& row : got.rows) total += num(row[1]);
  EXPECT_EQ(total, testing::scalar(w(), "SELECT count(*) FROM events"));
}

// Aggregated per user before the users join (eager aggregation): a filter on the joined
// model, grouping by a column of the events, counts, sums and distinct users with a filter.
TEST_F(Analyses, FilterOnTheJoinedModelMatchesHandWrittenSql) {
  auto got = run(R"({"model":"events","metrics":["events","dau","payers","revenue"],
    "dimensions":["os"],"filters":[{"dimension":"channel","op":"in","values":["organic","tiktok"]}],
    "time":{"range":["2026-11-10","2026-11-20"]}})");
  auto want = sql(R"(
    SELECT e.os_name, count(*), count(DISTINCT e.user_id), count(DISTINCT e.user_id) FILTER (WHERE e.event = 'pay'),
           sum(e.p_amount) FILTER (WHERE e.event = 'pay')
    FROM events e LEFT JOIN users u ON u.user_id = e.user_id
    WHERE e.timestamp >= TIMESTAMPTZ '2026-11-10 00:00:00+00' AND e.timestamp < TIMESTAMPTZ '2026-11-21 00:00:00+00'
      AND u.a_channel IN ('organic', 'tiktok')
    GROUP BY 1)");
  expect_same(by_key(got, 1), by_key(want, 1));
}

TEST_F(Analyses, PreviousPeriodComparison) {
  auto got = run(R"({"model":"events","metrics":["revenue","dau"],"dimensions":["channel"],
    "time":{"range":["2026-11-17","2026-11-23"]},"compare":"previous_period"})");
  auto want = sql(R"(
    WITH cur AS (SELECT u.a_channel AS ch, sum(e.p_amount) FILTER (WHERE e.event = 'pay') AS rev, count(DISTINCT e.user_id) AS dau
      FROM events e LEFT JOIN users u USING (user_id)
      WHERE e.timestamp >= TIMESTAMPTZ '2026-11-17 00:00:00+00' AND e.timestamp < TIMESTAMPTZ '2026-11-24 00:00:00+00' GROUP BY 1),
    prev AS (SELECT u.a_channel AS ch, sum(e.p_amount) FILTER (WHERE e.event = 'pay') AS rev, count(DISTINCT e.user_id) AS dau
      FROM events e LEFT JOIN users u USING (user_id)
      WHERE e.timestamp >= TIMESTAMPTZ '2026-11-10 00:00:00+00' AND e.timestamp < TIMESTAMPTZ '2026-11-17 00:00:00+00' GROUP BY 1)
    SELECT cur.ch, cur.rev, cur.dau, prev.rev, prev.dau, (cur.rev - prev.rev) / prev.rev, (cur.dau - prev.dau) / prev.dau
    FROM cur LEFT JOIN prev ON cur.ch IS NOT DISTINCT FROM prev.ch)");
  expect_same(by_key(got, 1), by_key(want, 1));
}

TEST_F(Analyses, SamePeriodLastWeekByDay) {
  auto got = run(R"({"model":"events","metrics":["events"],
    "time":{"range":["2026-11-17","2026-11-19"],"grain":"day"},"compare":"same_period_last_week"})");
  auto want = sql(R"(
    WITH d AS (SELECT CAST(date_trunc('day', timestamp AT TIME ZONE 'UTC') AS DATE) AS day, count(*) AS n FROM events GROUP BY 1)
    SELECT strftime(c.day, '%Y-%m-%d'), c.n, p.n, (c.n - p.n) / p.n FROM d c LEFT JOIN d p ON p.day = c.day - 7
    WHERE c.day BETWEEN DATE '2026-11-17' AND DATE '2026-11-19')");
  expect_same(by_key(got, 1), by_key(want, 1));
}

TEST_F(Analyses, FiltersOnDimensionsAndMetrics) {
  auto got = run(R"({"model":"events","metrics":["events","dau"],"dimensions":["event"],
    "filters":[{"dimension":"event","op":"not_in","values":["chat_message"]},
               {"dimension":"os","op":"starts_with","value":"i"},
               {"metric":"events","op":">=","value":50}]})");
  auto want = sql(R"(SELECT event, count(*), count(DISTINCT user_id) FROM events
    WHERE event NOT IN ('chat_message') AND starts_with(os_name, 'i') GROUP BY 1 HAVING count(*) >= 50)");
  expect_same(by_key(got, 1), by_key(want, 1));
}

TEST_F(Analyses, DaysInTheProjectTimeZone) {
  auto got = run(
      R"({"model":"events","metrics":["events"],"time":{"range":["2026-11-10","2026-11-12"],"grain":"day"}})",
      "Asia/Shanghai");
  auto want = sql(
      R"(SELECT strftime(date_trunc('day', timezone('Asia/Shanghai', timestamp)), '%Y-%m-%d'), count(*)
    FROM events WHERE timestamp >= TIMESTAMPTZ '2026-11-10 00:00:00+08' AND timestamp < TIMESTAMPTZ '2026-11-13 00:00:00+08' GROUP BY 1)");
  expect_same(by_key(got, 1), by_key(want, 1));
  auto hours = run(
      R"({"model":"events","metrics":["events"],"time":{"range":["2026-11-10T08:00","2026-11-10T11:00"],"grain":"hour"}})",
      "Asia/Shanghai");
  ASSERT_EQ(hours.rows.size(), 3u);
  EXPECT_EQ(text(hours.rows[0][0]), "2026-11-10T08:00");
}

TEST_F(Analyses, FunnelMatchesReference) {
  auto got =
      run(R"({"type":"funnel","model":"events","steps":["login","session_start","level_up","pay"],
    "window":"1d","time":{"range":["2026-11-08","2026-11-18"]}})");
  ASSERT_EQ(got.rows.size(), 4u);
  // Reference: each user's first login in the range, then the first of each next step after the
  // previous one and within a day of the login, by correlated subqueries.
  auto want = sql(R"(
    WITH s1 AS (SELECT user_id, min(timestamp) AS t1 FROM events WHERE event = 'login' AND user_id IS NOT NULL
                AND timestamp >= TIMESTAMPTZ '2026-11-08 00:00:00+00' AND timestamp < TIMESTAMPTZ '2026-11-19 00:00:00+00' GROUP BY 1),
    s2 AS (SELECT *, (SELECT min(timestamp) FROM events e WHERE e.user_id = s1.user_id AND e.event = 'session_start'
                AND e.timestamp > s1.t1 AND e.timestamp <= s1.t1 + INTERVAL 1 DAY) AS t2 FROM s1),
    s3 AS (SELECT *, (SELECT min(timestamp) FROM events e WHERE e.user_id = s2.user_id AND e.event = 'level_up'
                AND e.timestamp > s2.t2 AND e.timestamp <= s2.t1 + INTERVAL 1 DAY) AS t3 FROM s2),
    s4 AS (SELECT *, (SELECT min(timestamp) FROM events e WHERE e.user_id = s3.user_id AND e.event = 'pay'
                AND e.timestamp > s3.t3 AND e.timestamp <= s3.t1 + INTERVAL 1 DAY) AS t4 FROM s3)
    SELECT count(t1), count(t2), count(t3), count(t4),
           median(epoch(t2) - epoch(t1)), median(epoch(t3) - epoch(t2)), median(epoch(t4) - epoch(t3)) FROM s4)");
  ASSERT_EQ(want.rows.size(), 1u);
  const auto& ref = want.rows[0];
  EXPECT_GT(num(ref[3]), 0) << "the generated data must have paying converters";
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(num(got.rows[k][2]), num(ref[k])) << "step " << k + 1;
    EXPECT_NEAR(num(got.rows[k][3]), num(ref[k]) / num(ref[0]), 1e-12);
    if (k > 0) {
      EXPECT_NEAR(num(got.rows[k][5]), num(ref[4 + k - 1]), 1e-6) << "median of step " << k + 1;
    }
  }
  EXPECT_EQ(text(got.rows[3][1]), "pay");
}

// A repeated step event, a step given by filters only, a common filter, a breakdown and a
// project time zone, against the same kind of correlated-subquery reference: the one-pass
// funnel keeps the greedy chain (each step the earliest after the previous one, within the
// window of the first), the breakdown value of the first step's earliest row, and the range
// in local time.
TEST_F(Analyses, FunnelEdgeCasesMatchReference) {
  auto got = run(R"({"type":"funnel","model":"events",
    "steps":["session_start","session_start",{"filters":[{"dimension":"event","op":"in","values":["level_up","pay"]}]}],
    "window":"6h","breakdown":"channel",
    "filters":[{"dimension":"event","op":"!=","value":"chat_message"}],
    "time":{"range":["2026-11-08","2026-11-14"]}})",
                 "Asia/Shanghai");
  auto want = sql(R"(
    WITH s1 AS (SELECT e.user_id, min(e.timestamp) AS t1, arg_min(u.a_channel, e.timestamp) AS ch
                FROM events e LEFT JOIN users u ON u.user_id = e.user_id
                WHERE e.event = 'session_start' AND e.user_id IS NOT NULL
                AND e.timestamp >= TIMESTAMPTZ '2026-11-08 00:00:00+08' AND e.timestamp < TIMESTAMPTZ '2026-11-15 00:00:00+08' GROUP BY 1),
    s2 AS (SELECT *, (SELECT min(timestamp) FROM events e WHERE e.user_id = s1.user_id AND e.event = 'session_start'
                AND e.timestamp > s1.t1 AND e.timestamp <= s1.t1 + INTERVAL 6 HOUR) AS t2 FROM s1),
    s3 AS (SELECT *, (SELECT min(timestamp) FROM events e WHERE e.user_id = s2.user_id AND e.event IN ('level_up', 'pay')
                AND e.timestamp > s2.t2 AND e.timestamp <= s2.t1 + INTERVAL 6 HOUR) AS t3 FROM s2)
    SELECT ch, count(t1), count(t2), count(t3), median((epoch_us(t2) - epoch_us(t1)) / 1e6),
           median((epoch_us(t3) - epoch_us(t2)) / 1e6)
    FROM s3 GROUP BY ch)");
  // got: channel, step, event, users, conversion, step_conversion, median_seconds.
  std::map<std::string, std::vector<double>> g;
  for (const auto& r : got.rows) {
    auto& v = g[text(r[0]) + "|"];
    v.resize(5, std::nan(""));
    auto k = static_cast<size_t>(num(r[1]));
    v[k - 1] = num(r[3]);
    if (k > 1) v[3 + k - 2] = num(r[6]);
  }
  auto w = by_key(want, 1);
  ASSERT_GT(w.size(), 2u);
  double third = 0;
  for (const auto& [k, v] : w) third += v[2];
  EXPECT_GT(third, 0) << "the generated data must reach the last step";
  expect_same(g, w);
}

// Hand-placed rows at the edges of the greedy chain: a next step at the very instant of the
// previous one does not follow it, one exactly at the window's end does, one a microsecond
// later does not; the earliest first step counts; a first step at the range's end is outside.
// The same answer whether each row carries one step number (distinct step events) or one flag
// per step (a step given by filters only).
TEST_F(Analyses, FunnelEdgesOfTheChainToTheMicrosecond) {
  warehouse::WarehouseOptions wo;  // in memory
  auto wh = warehouse::make_warehouse(wo);
  ASSERT_TRUE(wh) << wh.status().message();
  own_ = std::move(*wh);
  ASSERT_TRUE(own_->ensure_schema().is_ok());
  auto r = own_->query(R"(
    INSERT INTO events (event_id, message_id, source, type, event, user_id, timestamp, received_at,
                        properties, traits, context)
    SELECT id, id, 'game', 'track', ev, u, t, t, '{}', '{}', '{}'
    FROM (VALUES
      ('1', 'u1', 'login',         TIMESTAMPTZ '2026-11-10 12:00:00+00'),
      ('2', 'u1', 'session_start', TIMESTAMPTZ '2026-11-10 12:00:00+00'),
      ('3', 'u2', 'login',         TIMESTAMPTZ '2026-11-10 12:00:00+00'),
      ('4', 'u2', 'session_start', TIMESTAMPTZ '2026-11-11 12:00:00+00'),
      ('5', 'u2', 'pay',           TIMESTAMPTZ '2026-11-11 12:00:00.000001+00'),
      ('6', 'u3', 'login',         TIMESTAMPTZ '2026-11-10 12:00:00+00'),
      ('7', 'u3', 'session_start', TIMESTAMPTZ '2026-11-10 12:00:00.000001+00'),
      ('8', 'u3', 'pay',           TIMESTAMPTZ '2026-11-10 12:00:00.000001+00'),
      ('9', 'u4', 'login',         TIMESTAMPTZ '2026-11-10 12:00:20+00'),
      ('10', 'u4', 'login',        TIMESTAMPTZ '2026-11-10 12:00:10+00'),
      ('11', 'u4', 'session_start', TIMESTAMPTZ '2026-11-10 12:00:15+00'),
      ('12', 'u4', 'pay',          TIMESTAMPTZ '2026-11-10 12:00:16+00'),
      ('13', 'u5', 'login',        TIMESTAMPTZ '2026-11-11 00:00:00+00'),
      ('14', 'u5', 'session_start', TIMESTAMPTZ '2026-11-11 00:00:01+00')) v(id, u, ev, t))",
                       {});
  ASSERT_TRUE(r) << r.status().message();
  const char* window = R"("window":"1d","time":{"range":["2026-11-10","2026-11-10"]}})";
  auto tagged = run(
      std::string(R"({"type":"funnel","model":"events","steps":["login","session_start","pay"],)") +
      window);
  auto flagged =
      run(std::string(R"({"type":"funnel","model":"events","steps":["login","session_start",)"
                      R"({"filters":[{"dimension":"event","op":"in","values":["pay"]}]}],)") +
          window);
  for (const auto* got : {&tagged, &flagged}) {
    ASSERT_EQ(got->rows.size(), 3u);
    // step, event, users, conversion, step_conversion, median_seconds
    EXPECT_EQ(num(got->rows[0][2]), 4);  // u1..u4; u5's login is at the range's end
    EXPECT_EQ(num(got->rows[1][2]), 3);  // u2 at the window's end, u3 1 µs after, u4
    EXPECT_EQ(num(got->rows[2][2]), 1);  // u4 only: u2's pay is past the window, u3's not after
    EXPECT_DOUBLE_EQ(num(got->rows[1][5]), 5.0);  // median of 86400, 0.000001 and 5 seconds
    EXPECT_DOUBLE_EQ(num(got->rows[2][5]), 1.0);
  }
}

TEST_F(Analyses, FunnelBreakdownSumsToTotal) {
  auto total = run(R"({"type":"funnel","model":"events","steps":["login","pay"],"window":"2d",
    "time":{"range":["2026-11-05","2026-11-20"]}})");
  auto split = run(R"({"type":"funnel","model":"events","steps":["login","pay"],"window":"2d",
    "time":{"range":["2026-11-05","2026-11-20"]},"breakdown":"channel"})");
  ASSERT_EQ(total.rows.size(), 2u);
  double first = 0, second = 0;
  for (const auto& r : split.rows) (num(r[1]) == 1 ? first : second) += num(r[3]);
  EXPECT_EQ(first, num(total.rows[0][2]));
  EXPECT_EQ(second, num(total.rows[1][2]));
  EXPECT_GT(split.rows.size(), 4u);
  EXPECT_GT(num(total.rows[1][2]), 0);
}

TEST_F(Analyses, RetentionMatchesReference) {
  auto got = run(R"({"type":"retention","model":"events","start":"login","return":"pay",
    "period":"day","periods":7,"time":{"range":["2026-11-05","2026-11-12"]}})");
  auto want = sql(R"(
    WITH f AS (SELECT user_id, min(timestamp) AS t0 FROM events WHERE event = 'login' AND user_id IS NOT NULL GROUP BY 1),
    c AS (SELECT user_id, CAST(t0 AT TIME ZONE 'UTC' AS DATE) AS day FROM f
          WHERE t0 >= TIMESTAMPTZ '2026-11-05 00:00:00+00' AND t0 < TIMESTAMPTZ '2026-11-13 00:00:00+00'),
    sizes AS (SELECT day, count(*) AS size FROM c GROUP BY 1),
    l AS (SELECT DISTINCT user_id, CAST(timestamp AT TIME ZONE 'UTC' AS DATE) AS day FROM events WHERE event = 'pay')
    SELECT strftime(c.day, '%Y-%m-%d'), l.day - c.day AS k, any_value(s.size), count(*) AS n, count(*) / any_value(s.size)
    FROM c JOIN l ON l.user_id = c.user_id AND l.day - c.day BETWEEN 0 AND 7 JOIN sizes s ON s.day = c.day
    GROUP BY c.day, k)");
  // got columns: cohort, cohort_size, period, users, rate → key cohort|period.
  std::map<std::string, std::vector<double>> g;
  for (const auto& r : got.rows)
    g[text(r[0]) + "|" + text(r[2]) + "|"] = {num(r[1]), num(r[3]), num(r[4])};
  expect_same(g, by_key(want, 2));
}

// Retention in a zone without DST: local days come from the UTC time shifted by the zone's
// one offset, and must match ICU's per-row conversion.
TEST_F(Analyses, RetentionInAFixedOffsetZoneMatchesReference) {
  auto got = run(R"({"type":"retention","model":"events","start":"login","return":"session_start",
    "period":"day","periods":5,"time":{"range":["2026-11-05","2026-11-12"]}})",
                 "Asia/Shanghai");
  auto want = sql(R"(
    WITH f AS (SELECT user_id, min(timestamp) AS t0 FROM events WHERE event = 'login' AND user_id IS NOT NULL
               AND timestamp < TIMESTAMPTZ '2026-11-13 00:00:00+08' GROUP BY 1),
    c AS (SELECT user_id, CAST(timezone('Asia/Shanghai', t0) AS DATE) AS day FROM f
          WHERE t0 >= TIMESTAMPTZ '2026-11-05 00:00:00+08'),
    sizes AS (SELECT day, count(*) AS size FROM c GROUP BY 1),
    l AS (SELECT DISTINCT user_id, CAST(timezone('Asia/Shanghai', timestamp) AS DATE) AS day FROM events
          WHERE event = 'session_start' AND timestamp >= TIMESTAMPTZ '2026-11-05 00:00:00+08')
    SELECT strftime(c.day, '%Y-%m-%d'), l.day - c.day AS k, any_value(s.size), count(*) AS n, count(*) / any_value(s.size)
    FROM c JOIN l ON l.user_id = c.user_id AND l.day - c.day BETWEEN 0 AND 5 JOIN sizes s ON s.day = c.day
    GROUP BY c.day, k)");
  std::map<std::string, std::vector<double>> g;
  for (const auto& r : got.rows)
    g[text(r[0]) + "|" + text(r[2]) + "|"] = {num(r[1]), num(r[3]), num(r[4])};
  expect_same(g, by_key(want, 2));
}

// Days across a DST change (New York, 2026-11-01) keep the per-row conversion.
TEST_F(Analyses, DaysAcrossADstChangeMatchReference) {
  auto got = run(
      R"({"model":"events","metrics":["events","dau"],"time":{"range":["2026-10-28","2026-11-04"],"grain":"day"}})",
      "America/New_York");
  auto want = sql(R"(
    SELECT strftime(date_trunc('day', timezone('America/New_York', timestamp)), '%Y-%m-%d'), count(*), count(DISTINCT user_id)
    FROM events WHERE timestamp >= TIMESTAMPTZ '2026-10-28 00:00:00-04' AND timestamp < TIMESTAMPTZ '2026-11-05 00:00:00-05'
    GROUP BY 1)");
  expect_same(by_key(got, 1), by_key(want, 1));
}

TEST_F(Analyses, DistributionMatchesReference) {
  auto got =
      run(R"({"type":"distribution","model":"events","measure":"sessions","buckets":[1,3,10,30],
    "time":{"range":["2026-11-10","2026-11-16"]}})");
  ASSERT_EQ(got.rows.size(), 5u);
  EXPECT_EQ(text(got.rows[1][0]), "[1, 3)");
  auto want = sql(R"(
    WITH v AS (SELECT user_id, count(*) AS n FROM events WHERE event = 'session_start' AND user_id IS NOT NULL
               AND timestamp >= TIMESTAMPTZ '2026-11-10 00:00:00+00' AND timestamp < TIMESTAMPTZ '2026-11-17 00:00:00+00' GROUP BY 1)
    SELECT count(*) FILTER (WHERE n < 1), count(*) FILTER (WHERE n >= 1 AND n < 3), count(*) FILTER (WHERE n >= 3 AND n < 10),
           count(*) FILTER (WHERE n >= 10 AND n < 30), count(*) FILTER (WHERE n >= 30) FROM v)");
  for (size_t i = 0; i < 5; ++i)
    EXPECT_EQ(num(got.rows[i][3]), num(want.rows[0][i])) << "bucket " << i;
  auto spend =
      run(R"({"type":"distribution","model":"events","measure":"revenue","buckets":[5,20,100],
    "time":{"range":["2026-11-04","2026-11-23"]}})");
  double payers = 0;
  for (const auto& r : spend.rows) payers += num(r[3]);
  EXPECT_EQ(payers,
            testing::scalar(w(), R"(SELECT count(DISTINCT user_id) FROM events WHERE event = 'pay'
    AND timestamp >= TIMESTAMPTZ '2026-11-04 00:00:00+00' AND timestamp < TIMESTAMPTZ '2026-11-24 00:00:00+00')"));
}

TEST_F(Analyses, ActivityMatchesReference) {
  auto got =
      run(R"({"type":"activity","model":"events","time":{"range":["2026-11-15","2026-11-20"]}})");
  auto want = sql(R"(
    WITH d AS (SELECT DISTINCT user_id, CAST(timestamp AT TIME ZONE 'UTC' AS DATE) AS day FROM events WHERE user_id IS NOT NULL),
    days AS (SELECT DISTINCT day FROM d WHERE day BETWEEN DATE '2026-11-15' AND DATE '2026-11-20')
    SELECT day, dau, wau, mau, dau / mau FROM (SELECT strftime(days.day, '%Y-%m-%d') AS day,
      (SELECT count(*) FROM d WHERE d.day = days.day) AS dau,
      (SELECT count(DISTINCT user_id) FROM d WHERE d.day > days.day - 7 AND d.day <= days.day) AS wau,
      (SELECT count(DISTINCT user_id) FROM d WHERE d.day > days.day - 30 AND d.day <= days.day) AS mau FROM days))");
  expect_same(by_key(got, 1), by_key(want, 1));
}

}  // namespace
}  // namespace basalt::semantic
