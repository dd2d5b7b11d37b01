// The compiler's SQL per query shape (golden files under golden/, regenerated with
// BASALT_UPDATE_GOLDEN=1 and reviewed like code), its errors, and injection attempts in every
// field of a request.
#include "semantic/compiler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "semantic/duckdb_dialect.h"
#include "semantic_data.h"

namespace basalt::semantic {
namespace {

using testing::demo_models;
using ::testing::HasSubstr;

const std::string kGoldenDir = BASALT_SOURCE_DIR "/tests/unit/semantic/golden/";

class Compiler : public ::testing::Test {
 protected:
  Result<CompiledQuery> compile_json(const std::string& json) {
    auto body = nlohmann::json::parse(json, nullptr, false);
    if (body.is_discarded()) return invalid_argument("bad JSON in the test");
    auto q = parse_query(body);
    if (!q) return q.status();
    return compile(*q, demo_models(), ctx_);
  }

  void expect_golden(const std::string& name, const std::string& json) {
    auto c = compile_json(json);
    ASSERT_TRUE(c) << c.status().message();
    testing::expect_golden_file(*c, kGoldenDir + name + ".sql", name);
    // Every golden statement is valid SQL for DuckDB on the demo schema.
    auto r = testing::generated_warehouse(50, 3).query(c->sql, c->params, {});
    EXPECT_TRUE(r) << name << ": " << r.status().message();
  }

  DuckDbDialect dialect_;
  domino::TimeZone utc_ = domino::TimeZone::utc();
  CompileContext ctx_{&dialect_, "UTC", &utc_, testing::kEndUs, 1000};
};

TEST_F(Compiler, GoldenSqlOfEachShape) {
  for (const auto& g : testing::kGoldenQueries) {
    SCOPED_TRACE(g.name);
    expect_golden(g.name, g.json);
  }
}

// Local times without a per-row time-zone lookup where the zone's offset is constant over the
// rows read; across a DST change, the lookup stays.
TEST_F(Compiler, FixedOffsetZonesSkipThePerRowLookup) {
  auto compile_in = [&](const std::string& zone, const std::string& json) {
    auto tz = domino::TimeZone::load(zone);
    EXPECT_TRUE(tz) << zone;
    CompileContext ctx{&dialect_, zone, &*tz, testing::kEndUs, 1000};
    auto q = parse_query(nlohmann::json::parse(json));
    EXPECT_TRUE(q);
    auto c = compile(*q, demo_models(), ctx);
    EXPECT_TRUE(c) << c.status().message();
    return c ? c->sql : std::string();
  };
  std::string days =
      R"({"model":"events","metrics":["events"],"time":{"range":["2026-10-28","2026-11-04"],"grain":"day"}})";
  std::string shanghai = compile_in("Asia/Shanghai", days);
  EXPECT_THAT(
      shanghai,
      HasSubstr("(make_timestamp(epoch_us(\"events\".\"timestamp\")) + INTERVAL 28800 SECOND)"));
  EXPECT_THAT(shanghai, ::testing::Not(HasSubstr(", \"events\".\"timestamp\")")));
  std::string new_york = compile_in("America/New_York", days);
  EXPECT_THAT(new_york, HasSubstr(", \"events\".\"timestamp\")"));  // timezone($n, timestamp)
  std::string summer = compile_in(
      "America/New_York",
      R"({"model":"events","metrics":["events"],"time":{"range":["2026-07-01","2026-07-07"],"grain":"day"}})");
  EXPECT_THAT(summer, HasSubstr("INTERVAL 14400 SECOND"));
}

// Which shapes the rollups answer (rollup_test.cc compares their answers with the events').
TEST_F(Compiler, RollupsAnswerOnlyShapesWithTheSameAnswer) {
  warehouse::RollupInfo rollups{
      "UTC", "events_user_day", "events_day_users", {"p_amount"}, "events_active_users"};
  ctx_.rollups = &rollups;
  auto from_rollup = [&](const std::string& json) {
    auto c = compile_json(json);
    EXPECT_TRUE(c) << json << ": " << c.status().message();
    return c && c->from_rollup;
  };
  const char* answered[] = {
      R"({"model":"events","metrics":["events","dau","revenue","arpu","pay_rate","sessions"]})",
      R"({"model":"events","metrics":["dau"],"time":{"range":["2026-11-01","2026-11-07"],"grain":"day"}})",
      R"({"model":"events","metrics":["revenue"],"dimensions":["channel","event"],"time":{"range":"last_7_days","grain":"week"},"compare":"previous_period"})",
      R"({"model":"events","metrics":["payers"],"time":{"range":"this_year","grain":"month"},"compare":"same_period_last_year","filters":[{"dimension":"event","op":"in","values":["pay"]}]})",
      R"({"type":"retention","model":"events","start":"install","return":"login","period":"week","periods":4,"time":{"range":["2026-10-01","2026-10-31"]}})",
  };
  for (const char* json : answered) EXPECT_TRUE(from_rollup(json)) << json;
  const char* raw_only[] = {
      // a grain shorter than a day
      R"({"model":"events","metrics":["dau"],"time":{"range":["2026-11-01","2026-11-02"],"grain":"hour"}})",
      // a filter and a dimension on columns the rollup does not keep
      R"({"model":"events","metrics":["dau"],"filters":[{"dimension":"os","op":"=","value":"iOS"}]})",
      R"({"model":"events","metrics":["events"],"dimensions":["amount_band"]})",
      // a range that starts at a time of day
      R"({"model":"events","metrics":["dau"],"time":{"range":["2026-11-01T08:00","2026-11-03"],"grain":"day"}})",
      R"({"type":"retention","model":"events","start":"install","return":"login","period":"day","periods":4,"time":{"range":["2026-10-01T12:00","2026-10-31"]}})",
      // analyses that need event times
      R"({"type":"funnel","model":"events","steps":["install","pay"],"time":{"range":["2026-11-01","2026-11-07"]}})",
      R"({"type":"activity","model":"events","time":{"range":["2026-11-01","2026-11-07"]}})",
  };
  for (const char* json : raw_only) EXPECT_FALSE(from_rollup(json)) << json;
  // A median needs every value; a zone other than the rollups' has other days.
  ModelSet with_median = demo_models();
  Model m = *with_median.find("events");
  m.name = "events_median";
  m.measures.push_back(
      Measure{"median_amount", Aggregation::kMedian, "p_amount", "", "", 0.5, "", "", {}});
  with_median.add(m);
  auto q = parse_query(
      nlohmann::json::parse(R"({"model":"events_median","metrics":["median_amount"]})"));
  ASSERT_TRUE(q);
  auto c = compile(*q, with_median, ctx_);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->from_rollup);
  EXPECT_THAT(c->sql, ::testing::Not(HasSubstr("events_user_day")));
  rollups.timezone = "Asia/Shanghai";
  EXPECT_FALSE(from_rollup(R"({"model":"events","metrics":["dau"]})"));
}

// Steps of distinct events share one list of tagged times and one list_contains row filter; a
// repeated step event (a row may be of two steps) keeps one flag and one list per step
// (analyses_test.cc checks both answers against references).
TEST_F(Compiler, FunnelsOfDistinctEventsTagTheirRows) {
  auto distinct = compile_json(
      R"({"type":"funnel","model":"events","steps":["login","session_start","pay"],"window":"1d","time":{"range":"last_7_days"}})");
  ASSERT_TRUE(distinct) << distinct.status().message();
  EXPECT_THAT(distinct->sql, HasSubstr("list_contains([$"));
  EXPECT_THAT(distinct->sql, HasSubstr("THEN 31 WHEN"));
  // DuckDB walks each user's chain in one call (warehouse/duckdb/funnel_chain.h).
  EXPECT_THAT(distinct->sql, HasSubstr("basalt_funnel_chain(l, t1, dl, 3) AS c"));
  EXPECT_THAT(distinct->sql, HasSubstr("median((c[3] - c[2] + 1) / 32000000.0) AS median_3"));
  EXPECT_THAT(distinct->sql, ::testing::Not(HasSubstr(" AS l2")));
  auto repeated = compile_json(
      R"({"type":"funnel","model":"events","steps":["login","pay","login"],"window":"1d","time":{"range":"last_7_days"}})");
  ASSERT_TRUE(repeated) << repeated.status().message();
  EXPECT_THAT(repeated->sql, HasSubstr(" AS m3"));
  EXPECT_THAT(repeated->sql, HasSubstr(" AS l3"));
  EXPECT_THAT(repeated->sql, ::testing::Not(HasSubstr("list_contains")));
}

TEST_F(Compiler, ClearErrors) {
  auto msg = [&](const std::string& j) {
    auto c = compile_json(j);
    return c ? std::string("(compiled)") : c.status().message();
  };
  EXPECT_THAT(msg(R"({"model":"nope","metrics":["x"]})"),
              HasSubstr("unknown model 'nope' (known: events, users)"));
  EXPECT_THAT(msg(R"({"model":"events","metrics":["x"]})"),
              HasSubstr("unknown metric 'x' in model 'events' (known: events, dau"));
  EXPECT_THAT(msg(R"({"model":"events","metrics":["dau"],"dimensions":["x"]})"),
              HasSubstr("unknown dimension 'x'"));
  EXPECT_THAT(msg(R"({"model":"events","metrics":["dau"],"compare":"previous_period"})"),
              HasSubstr("needs a \"time\" range"));
  EXPECT_THAT(msg(R"({"model":"events","metrics":["dau"],"limit":5000})"),
              HasSubstr("above the row cap of 1000"));
  EXPECT_THAT(msg(R"({"model":"events","metrics":["dau"],"order":[{"metric":"revenue"}]})"),
              HasSubstr("not a column of the answer"));
  EXPECT_THAT(
      msg(R"({"model":"events","metrics":["dau"],"time":{"range":["2026-02-30","2026-03-01"]}})"),
      HasSubstr("not a valid date"));
  EXPECT_THAT(
      msg(R"({"model":"events","metrics":["dau"],"time":{"range":["2026-03-05","2026-03-01"]}})"),
      HasSubstr("ends before it starts"));
  EXPECT_THAT(msg(R"({"model":"events","metrics":["dau"],"time":{"range":"last_fortnight"}})"),
              HasSubstr("unknown time range"));
  EXPECT_THAT(
      msg(R"({"model":"events","metrics":["dau"],"filters":[{"dimension":"event","op":"like","value":"x"}]})"),
      HasSubstr("op 'like' is unknown"));
  EXPECT_THAT(
      msg(R"({"model":"events","metrics":["dau"],"filters":[{"dimension":"event","op":"between","values":[1]}]})"),
      HasSubstr("two values"));
  EXPECT_THAT(msg(R"({"type":"funnel","model":"events","steps":["a"],"time":{"range":"today"}})"),
              HasSubstr("2 to 20"));
  EXPECT_THAT(msg(R"({"model":"events","metrics":["dau"],"sql":"DROP TABLE events"})"),
              HasSubstr("unknown member \"sql\""));
}

TEST_F(Compiler, RelativeRangesInTheProjectTimeZone) {
  // kEndUs is 2026-11-24T10:00:00Z: a Tuesday, 18:00 in Shanghai.
  auto tz = domino::TimeZone::load("Asia/Shanghai");
  ASSERT_TRUE(tz);
  auto range = [&](const std::string& name) {
    TimeSpec s;
    s.relative = name;
    auto r = resolve_range(s, testing::kEndUs, *tz);
    EXPECT_TRUE(r) << r.status().message();
    return r ? r->start_text() + " / " + r->end_text() : "";
  };
  EXPECT_EQ(range("today"), "2026-11-24 00:00:00 / 2026-11-25 00:00:00");
  EXPECT_EQ(range("yesterday"), "2026-11-23 00:00:00 / 2026-11-24 00:00:00");
  EXPECT_EQ(range("last_7_days"), "2026-11-18 00:00:00 / 2026-11-25 00:00:00");
  EXPECT_EQ(range("this_week"), "2026-11-23 00:00:00 / 2026-11-30 00:00:00");
  EXPECT_EQ(range("last_week"), "2026-11-16 00:00:00 / 2026-11-23 00:00:00");
  EXPECT_EQ(range("this_month"), "2026-11-01 00:00:00 / 2026-12-01 00:00:00");
  EXPECT_EQ(range("last_month"), "2026-10-01 00:00:00 / 2026-11-01 00:00:00");
  EXPECT_EQ(range("this_year"), "2026-01-01 00:00:00 / 2027-01-01 00:00:00");
  auto r = resolve_range(TimeSpec{"", "", "this_month", {}}, testing::kEndUs, *tz);
  Shift s = compare_shift(Compare::kPreviousPeriod, *r);
  EXPECT_EQ(s.months, 1);
  LocalRange week{r->start, r->start + 7 * 86400};
  EXPECT_EQ(compare_shift(Compare::kPreviousPeriod, week).days, 7);
}

// Every field of a request carrying SQL: each attempt is refused, or only ever reaches the
// statement as a bound parameter (its text never appears in the SQL) and runs harmlessly.
TEST_F(Compiler, InjectionInEveryFieldIsRefusedOrInert) {
  const std::string evil = "x'); DROP TABLE events; --";
  const std::string e = nlohmann::json(evil).dump();
  const std::vector<std::string> attempts = {
      R"({"model":)" + e + R"(,"metrics":["dau"]})",
      R"({"model":"events","metrics":[)" + e + R"(]})",
      R"({"model":"events","metrics":["dau"],"dimensions":[)" + e + R"(]})",
      R"({"model":"events","metrics":["dau"],"filters":[{"dimension":)" + e +
          R"(,"op":"=","value":1}]})",
      R"({"model":"events","metrics":["dau"],"filters":[{"metric":)" + e +
          R"(,"op":"=","value":1}]})",
      R"({"model":"events","metrics":["dau"],"filters":[{"dimension":"event","op":)" + e +
          R"(,"value":1}]})",
      R"({"model":"events","metrics":["dau"],"filters":[{"dimension":"event","op":"=","value":)" +
          e + R"(}]})",
      R"({"model":"events","metrics":["dau"],"filters":[{"dimension":"event","op":"in","values":["a",)" +
          e + R"(]}]})",
      R"({"model":"events","metrics":["dau"],"filters":[{"dimension":"event","op":"contains","value":)" +
          e + R"(}]})",
      R"({"model":"events","metrics":["dau"],"filters":[{"metric":"dau","op":">","value":)" + e +
          R"(}]})",
      R"({"model":"events","metrics":["dau"],"time":{"range":[)" + e + R"(,"2026-11-01"]}})",
      R"({"model":"events","metrics":["dau"],"time":{"range":["2026-11-01",)" + e + R"(]}})",
      R"({"model":"events","metrics":["dau"],"time":{"range":)" + e + R"(}})",
      R"({"model":"events","metrics":["dau"],"time":{"range":"today","grain":)" + e + R"(}})",
      R"({"model":"events","metrics":["dau"],"time":{"range":"today"},"compare":)" + e + R"(})",
      R"({"model":"events","metrics":["dau"],"order":[{"metric":)" + e + R"(}]})",
      R"({"model":"events","metrics":["dau"],"limit":)" + e + R"(})",
      R"({"model":"events","metrics":["dau"],"limit":"1; DROP TABLE events"})",
      R"({"type":)" + e + R"(,"model":"events"})",
      R"({"type":"funnel","model":"events","steps":[)" + e +
          R"(,"login"],"time":{"range":"today"}})",
      R"({"type":"funnel","model":"events","steps":["login","pay"],"breakdown":)" + e +
          R"(,"time":{"range":"today"}})",
      R"({"type":"funnel","model":"events","steps":["login","pay"],"window":)" + e +
          R"(,"time":{"range":"today"}})",
      R"({"type":"retention","model":"events","start":)" + e +
          R"(,"return":"login","time":{"range":"today"}})",
      R"({"type":"retention","model":"events","start":"login","return":"login","period":)" + e +
          R"(,"time":{"range":"today"}})",
      R"({"type":"distribution","model":"events","measure":)" + e + R"(,"time":{"range":"today"}})",
      R"({"type":"distribution","model":"events","measure":"events","buckets":[)" + e +
          R"(],"time":{"range":"today"}})",
  };
  auto& w = testing::generated_warehouse(50, 3);
  double before = testing::scalar(w, "SELECT count(*) FROM events");
  int refused = 0, inert = 0;
  for (const auto& a : attempts) {
    auto c = compile_json(a);
    if (!c) {
      ++refused;
      continue;
    }
    EXPECT_EQ(c->sql.find("DROP"), std::string::npos) << a << "\n" << c->sql;
    bool bound = false;
    for (const auto& p : c->params) {
      if (const auto* s = std::get_if<std::string>(&p); s && s->find("DROP") != std::string::npos)
        bound = true;
    }
    EXPECT_TRUE(bound) << "accepted but the text is nowhere: " << a;
    // It runs, or the engine refuses the value as data (e.g. text compared with a number).
    auto r = w.query(c->sql, c->params, {});
    EXPECT_TRUE(r || r.status().code() == StatusCode::kInvalidArgument)
        << a << ": " << r.status().message();
    ++inert;
  }
  EXPECT_EQ(refused + inert, static_cast<int>(attempts.size()));
  EXPECT_GE(inert, 5) << "values are accepted as data";
  EXPECT_EQ(testing::scalar(w, "SELECT count(*) FROM events"), before);
}

}  // namespace
}  // namespace basalt::semantic
