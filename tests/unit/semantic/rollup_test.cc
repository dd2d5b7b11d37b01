// Rollup-backed answers against the same queries on the events (the option that forces the raw
// table), on the game generator's events loaded batch by batch as the loader does: every query
// shape the rollups answer, after late events, a restart, a failed (rolled back) load replayed,
// a typed column added later, a zone change and in a zone with DST; the result cache still
// invalidated by commits; and the shapes that must read the events.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "event/event.h"
#include "semantic/duckdb_dialect.h"
#include "semantic/semantic_service.h"
#include "semantic_data.h"

namespace basalt::semantic {
namespace {

namespace fs = std::filesystem;
using testing::kEndUs;

class FixedClock final : public Clock {
 public:
  int64_t now_us() const override { return kEndUs; }
};

constexpr const char* kModels = R"yaml(model: events
table: events
time: timestamp
joins:
  - {model: users, on: "events.user_id = users.user_id", relationship: many_to_one}
dimensions:
  - {name: event, column: event}
  - {name: user, column: user_id}
  - {name: channel, sql: "users.a_channel"}
  - {name: pay_kind, sql: "CASE WHEN event = 'pay' THEN 'pay' ELSE 'other' END"}
  - {name: os, column: os_name}
  - {name: amount_band, sql: "CASE WHEN p_amount < 6 THEN 'small' ELSE 'large' END"}
measures:
  - {name: events, agg: count}
  - {name: dau, agg: count_distinct, column: user_id}
  - {name: revenue, agg: sum, column: p_amount, filter: "event = 'pay'"}
  - {name: payers, agg: count_distinct, column: user_id, filter: "event = 'pay'"}
  - {name: coins, agg: sum, column: p_price_coins}
  - {name: levels, agg: sum, column: p_level, filter: "event IN ('login', 'level_up')"}
  - {name: durations, agg: sum, column: p_duration_s}
  - {name: organic_events, agg: count, filter: "users.a_channel = 'organic'"}
  - {name: median_amount, agg: median, column: p_amount}
  - {name: avg_amount, agg: avg, column: p_amount}
  - {name: named_users, agg: count, column: user_id}
metrics:
  - {name: arpu, expr: "revenue / dau"}
  - {name: pay_rate, expr: "payers / dau"}
---
model: users
table: users
dimensions:
  - {name: channel, sql: "users.a_channel"}
measures:
  - {name: users, agg: count}
)yaml";

const ModelSet& models() {
  static const ModelSet m = [] {
    auto loaded = ModelSet::parse("models/test.yaml", kModels);
    EXPECT_TRUE(loaded.errors.empty()) << loaded.errors.front();
    return loaded.models;
  }();
  return m;
}

// The generator's events as the loader gets them, with the typed values validation would give
// (amount float; level, price_coins, duration_s int).
std::vector<event::Event> game_events(uint64_t players, uint32_t days) {
  std::vector<event::Event> out = testing::game_events(players, days, 5);
  for (event::Event& e : out) {
    auto props =
        nlohmann::json::parse(e.properties_json.empty() ? "{}" : e.properties_json, nullptr, false);
    if (e.type == event::EventType::kTrack && props.is_object()) {
      for (const char* name : {"amount", "level", "price_coins", "duration_s"}) {
        if (!props.contains(name) || !props[name].is_number()) continue;
        event::TypedField f;
        f.name = name;
        if (std::string(name) == "amount") {
          f.type = event::ValueType::kFloat;
          f.float_value = props[name].get<double>();
        } else {
          f.type = event::ValueType::kInt;
          f.int_value = props[name].get<int64_t>();
        }
        e.typed.push_back(std::move(f));
      }
    }
  }
  return out;
}

const std::vector<event::Event>& events_30d() {
  static const std::vector<event::Event> e = game_events(300, 30);
  return e;
}

warehouse::PlanColumns plan(bool with_duration) {
  warehouse::PlanColumns c;
  c.properties = {{"amount", event::ValueType::kFloat},
                  {"level", event::ValueType::kInt},
                  {"price_coins", event::ValueType::kInt}};
  if (with_duration) c.properties.push_back({"duration_s", event::ValueType::kInt});
  c.attributes = {{"channel", event::ValueType::kString}};
  return c;
}

class Rollups : public ::testing::Test {
 protected:
  Rollups() {
    static std::atomic<int> n{0};
    dir_ = fs::temp_directory_path() /
           ("basalt_rollup_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~Rollups() override {
    services_.clear();
    w_.reset();
    fs::remove_all(dir_);
  }

  void open(const std::string& zone, uint64_t compact_rows = 4096) {
    services_.clear();
    w_.reset();
    warehouse::WarehouseOptions wo;
    wo.path = (dir_ / "w.duckdb").string();
    wo.rollup_timezone = zone;
    wo.rollup_compact_rows = compact_rows;
    auto w = warehouse::make_warehouse(wo);
    ASSERT_TRUE(w) << w.status().message();
    w_ = std::move(*w);
    zone_ = zone.empty() ? "UTC" : zone;
    for (bool use : {true, false}) {
      QueryConfig qc;
      qc.rollups = use;
      auto s = SemanticService::with_models(models(), "duckdb", zone_, qc, *w_, clock_);
      ASSERT_TRUE(s) << s.status().message();
      services_.push_back(std::move(*s));
    }
  }
  SemanticService& rolled() { return *services_[0]; }
  SemanticService& raw() { return *services_[1]; }

  void apply(bool with_duration) {
    auto m = w_->apply_plan_columns(plan(with_duration));
    ASSERT_TRUE(m) << m.status().message();
  }
  // Loads events [from, to) of `events` in batches as the loader does; tells the services.
  void load(const std::vector<event::Event>& events, size_t from, size_t to, size_t batch = 4000) {
    to = std::min(to, events.size());
    for (size_t i = from; i < to; i += batch) {
      warehouse::LoadBatch b;
      int64_t lo = INT64_MAX, hi = INT64_MIN;
      for (size_t k = i; k < std::min(to, i + batch); ++k) {
        b.events.push_back(events[k]);
        lo = std::min(lo, events[k].timestamp_us);
        hi = std::max(hi, events[k].timestamp_us);
      }
      lsn_ += b.events.size();
      b.next_lsn = lsn_;
      Status s = w_->load(b, "warehouse");
      ASSERT_TRUE(s.is_ok()) << s.message();
      for (auto& sv : services_) {
        sv->on_commit({"events", lo, hi});
        sv->on_commit({"users", INT64_MIN, INT64_MAX});
      }
    }
    // The channel attribute from the identify traits (the test's stand-in for the plan's merge).
    auto r = w_->query("UPDATE users SET a_channel = traits->>'channel'", {});
    ASSERT_TRUE(r) << r.status().message();
  }
  void load_all() { load(events_30d(), 0, events_30d().size()); }

  Query query(const std::string& json) {
    auto q = parse_query(nlohmann::json::parse(json));
    EXPECT_TRUE(q) << q.status().message();
    return q ? *q : Query{};
  }
  bool uses_rollup(const std::string& json) {
    auto c = rolled().compile(query(json));
    EXPECT_TRUE(c) << json << ": " << c.status().message();
    return c && c->from_rollup;
  }

  // The rollup answer equals the raw answer (floating sums up to rounding); returns the rows.
  size_t expect_same(const std::string& json, bool expect_rollup = true) {
    Query q = query(json);
    auto c = rolled().compile(q);
    EXPECT_TRUE(c) << json << ": " << c.status().message();
    if (!c) return 0;
    EXPECT_EQ(c->from_rollup, expect_rollup) << json;
    auto a = rolled().run(q, std::chrono::seconds(60));
    auto b = raw().run(q, std::chrono::seconds(60));
    EXPECT_TRUE(a) << json << ": " << a.status().message() << "\n" << c->sql;
    EXPECT_TRUE(b) << json << ": " << b.status().message();
    if (!a || !b) return 0;
    EXPECT_FALSE(b->compiled.from_rollup);
    EXPECT_EQ(a->result.columns.size(), b->result.columns.size()) << json;
    EXPECT_EQ(a->result.rows.size(), b->result.rows.size()) << json << "\n" << c->sql;
    for (size_t i = 0; i < std::min(a->result.rows.size(), b->result.rows.size()); ++i) {
      const auto& x = a->result.rows[i];
      const auto& y = b->result.rows[i];
      EXPECT_EQ(x.size(), y.size());
      for (size_t k = 0; k < std::min(x.size(), y.size()); ++k) {
        const auto* dx = std::get_if<double>(&x[k]);
        const auto* dy = std::get_if<double>(&y[k]);
        if (dx && dy) {
          EXPECT_NEAR(*dx, *dy, 1e-9 * std::max(1.0, std::abs(*dy)))
              << json << " row " << i << " column " << a->result.columns[k].name;
        } else {
          EXPECT_EQ(x[k], y[k]) << json << " row " << i << " column " << a->result.columns[k].name
                                << "\n"
                                << c->sql;
        }
      }
    }
    return b->result.rows.size();
  }

  // Every shape the rollups answer, each against the raw answer.
  void expect_every_shape_same() {
    const char* shapes[] = {
        R"({"model":"events","metrics":["events","dau","revenue","coins","levels"]})",
        R"({"model":"events","metrics":["dau"],"time":{"range":["2026-10-26","2026-11-23"],"grain":"day"}})",
        R"({"model":"events","metrics":["dau"],"time":{"range":["2026-11-09","2026-11-23"],"grain":"day"},"compare":"previous_period"})",
        R"({"model":"events","metrics":["revenue","dau","arpu"],"dimensions":["channel"],"time":{"range":["2026-11-09","2026-11-23"]},"compare":"previous_period"})",
        R"({"model":"events","metrics":["events","payers","pay_rate"],"dimensions":["event"],"time":{"range":["2026-10-26","2026-11-22"],"grain":"week"},"filters":[{"dimension":"event","op":"in","values":["login","pay","level_up"]}]})",
        R"({"model":"events","metrics":["revenue","levels","events","durations"],"time":{"range":["2026-10-01","2026-11-30"],"grain":"month"}})",
        R"({"model":"events","metrics":["events","coins"],"dimensions":["pay_kind"],"time":{"range":["2026-01-01","2026-12-31"],"grain":"year"},"filters":[{"metric":"events","op":">","value":10}]})",
        R"({"model":"events","metrics":["organic_events","dau"],"time":{"range":["2026-11-01","2026-11-20"],"grain":"day"},"filters":[{"dimension":"channel","op":"!=","value":"tiktok"}]})",
        R"({"model":"events","metrics":["dau","events"],"dimensions":["channel"],"time":{"range":"last_7_days","grain":"day"},"compare":"same_period_last_week"})",
        R"({"model":"events","metrics":["events","revenue"],"dimensions":["user"],"time":{"range":["2026-11-10","2026-11-12"]},"order":[{"metric":"events","desc":true},{"metric":"user"}],"limit":20})",
        R"({"model":"events","metrics":["dau","payers"],"time":{"range":["2026-10-26","2026-11-22"],"grain":"quarter"}})",
        R"({"model":"events","metrics":["dau","events","payers","pay_rate","revenue"],"dimensions":["channel"],"time":{"range":["2026-10-26","2026-11-22"],"grain":"week"},"compare":"previous_period"})",
        R"({"model":"events","metrics":["dau","events"],"dimensions":["user"],"time":{"range":["2026-11-10","2026-11-13"]},"order":[{"metric":"user"}],"limit":50})",
        R"({"model":"events","metrics":["dau","organic_events","levels"],"dimensions":["channel"],"time":{"range":["2026-11-01","2026-11-20"],"grain":"day"}})",
        R"({"model":"events","metrics":["events","revenue"],"filters":[{"dimension":"channel","op":"in","values":["organic","google"]}]})",
        R"({"type":"retention","model":"events","start":"login","return":"pay","period":"day","periods":7,"time":{"range":["2026-10-28","2026-11-10"]}})",
        R"({"type":"retention","model":"events","start":"login","return":"login","period":"week","periods":3,"time":{"range":["2026-10-26","2026-11-22"]},"filters":[{"dimension":"channel","op":"in","values":["organic","google"]}]})",
        R"({"type":"retention","model":"events","start":{"event":"login"},"return":{"filters":[{"dimension":"event","op":"in","values":["pay","item_purchase"]}]},"period":"month","periods":1,"time":{"range":["2026-10-01","2026-11-30"]}})",
    };
    size_t rows = 0;
    for (const char* s : shapes) rows += expect_same(s);
    EXPECT_GT(rows, 100u);
  }

  fs::path dir_;
  std::string zone_;
  FixedClock clock_;
  std::unique_ptr<warehouse::Warehouse> w_;
  std::vector<std::unique_ptr<SemanticService>> services_;
  uint64_t lsn_ = 0;
};

TEST_F(Rollups, EveryShapeMatchesTheEvents) {
  open("UTC");
  apply(true);
  load_all();
  ASSERT_TRUE(w_->rollups());
  expect_every_shape_same();
}

// events_active_users holds what `events` counts per local day and user (null users too), as
// compaction leaves it and before; the shapes without `event` read it.
TEST_F(Rollups, TheActiveUsersTableMatchesTheEventsAndAnswersWithoutEvent) {
  const char* check =
      "SELECT count(*) FROM (SELECT day, user_id, CAST(sum(events) AS BIGINT) AS n FROM "
      "events_active_users GROUP BY ALL) a FULL JOIN (SELECT CAST(\"timestamp\" AS DATE) AS day, "
      "user_id, count(*) AS n FROM events GROUP BY ALL) e ON a.day = e.day AND a.user_id IS NOT "
      "DISTINCT FROM e.user_id WHERE a.n IS DISTINCT FROM e.n";
  for (uint64_t compact_rows : {uint64_t{1}, uint64_t{1} << 40}) {
    open("UTC", compact_rows);
    apply(true);
    load_all();
    auto differ = w_->query(check, {});
    ASSERT_TRUE(differ) << differ.status().message();
    EXPECT_EQ(std::get<int64_t>(differ->rows[0][0]), 0) << compact_rows;
    auto nulls = w_->query("SELECT count(*) FROM events_active_users WHERE user_id IS NULL", {});
    ASSERT_TRUE(nulls);
    EXPECT_GT(std::get<int64_t>(nulls->rows[0][0]), 0);
    if (compact_rows == 1) {
      auto dup = w_->query(
          "SELECT count(*) FROM (SELECT day, user_id FROM events_active_users GROUP BY ALL HAVING "
          "count(*) > 1)",
          {});
      ASSERT_TRUE(dup);
      EXPECT_EQ(std::get<int64_t>(dup->rows[0][0]), 0);
    }
    services_.clear();
    w_.reset();
    fs::remove_all(dir_ / "w.duckdb");
  }
  open("UTC");
  apply(true);
  load_all();
  auto reads = [&](const std::string& json) {
    auto c = rolled().compile(query(json));
    EXPECT_TRUE(c) << c.status().message();
    return c ? c->sql : std::string();
  };
  const std::string by_channel = reads(
      R"({"model":"events","metrics":["revenue","dau","arpu"],"dimensions":["channel"],"time":{"range":["2026-11-09","2026-11-23"]},"compare":"previous_period"})");
  EXPECT_THAT(by_channel, ::testing::HasSubstr("events_active_users"));
  EXPECT_THAT(by_channel, ::testing::HasSubstr("events_user_day"));  // revenue: the pay rows
  EXPECT_THAT(reads(R"({"model":"events","metrics":["dau","events"],"dimensions":["user"]})"),
              ::testing::Not(::testing::HasSubstr("events_user_day")));
  // An event dimension, or a measure without a filter beside them, keeps the user-day rows.
  EXPECT_THAT(reads(R"({"model":"events","metrics":["dau"],"dimensions":["event"]})"),
              ::testing::Not(::testing::HasSubstr("events_active_users")));
  EXPECT_THAT(reads(R"({"model":"events","metrics":["dau","coins"],"dimensions":["channel"]})"),
              ::testing::Not(::testing::HasSubstr("events_active_users")));
  expect_every_shape_same();
}

TEST_F(Rollups, CompactedDaysAnswerDistinctUsersFromTheDayTable) {
  open("UTC", 1);  // every load compacts the days it wrote
  apply(true);
  load_all();
  auto counted = w_->query("SELECT count(*) FROM events_day_users", {});
  ASSERT_TRUE(counted);
  EXPECT_GT(std::get<int64_t>(counted->rows[0][0]), 25);
  auto dup = w_->query(
      "SELECT count(*) FROM (SELECT day, user_id, event FROM events_user_day GROUP BY ALL "
      "HAVING count(*) > 1)",
      {});
  ASSERT_TRUE(dup);
  EXPECT_EQ(std::get<int64_t>(dup->rows[0][0]), 0);
  expect_every_shape_same();
}

TEST_F(Rollups, LateEventsUpdateTheirDayAndInvalidateTheCache) {
  open("UTC");
  apply(true);
  const auto& all = events_30d();
  load(all, 0, all.size() * 3 / 4);
  const std::string q =
      R"({"model":"events","metrics":["dau","events","revenue"],"time":{"range":["2026-10-26","2026-11-23"],"grain":"day"}})";
  expect_same(q);
  ASSERT_TRUE(rolled().run(query(q), std::chrono::seconds(60))->cached);
  // Events of old days arriving late: copies of events, two days earlier.
  std::vector<event::Event> late;
  for (size_t i = 0; i < all.size() / 2; i += 7) {
    event::Event e = all[i];
    e.message_id += "-late";
    e.event_id += "-late";
    e.timestamp_us -= 2LL * 86400 * 1'000'000;
    late.push_back(std::move(e));
  }
  load(late, 0, late.size());
  auto again = rolled().run(query(q), std::chrono::seconds(60));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->cached);
  load(all, all.size() * 3 / 4, all.size());
  expect_same(q);
  expect_every_shape_same();
}

TEST_F(Rollups, SurviveARestartAndAFailedLoadReplayedOnce) {
  open("UTC");
  apply(true);
  const auto& all = events_30d();
  load(all, 0, all.size() / 2);
  open("UTC");  // a restart: the stored rollups are used as they are
  ASSERT_TRUE(w_->rollups());
  apply(true);
  // A load that fails after its events were appended leaves neither events nor rollups.
  ASSERT_TRUE(w_->query("ALTER TABLE events_day_users RENAME TO moved_away", {}));
  warehouse::LoadBatch b;
  b.events.assign(all.begin() + static_cast<long>(all.size() / 2),
                  all.begin() + static_cast<long>(all.size() / 2 + 500));
  b.next_lsn = lsn_ + 500;
  EXPECT_FALSE(w_->load(b, "warehouse").is_ok());
  ASSERT_TRUE(w_->query("ALTER TABLE moved_away RENAME TO events_day_users", {}));
  // The replay from the stored offset loads them, once.
  load(all, all.size() / 2, all.size());
  auto n = w_->query(
      "SELECT (SELECT count(*) FROM events), "
      "(SELECT CAST(sum(events) AS BIGINT) FROM events_user_day)",
      {});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->rows[0][0], warehouse::Value(static_cast<int64_t>(all.size())));
  EXPECT_EQ(n->rows[0][1], warehouse::Value(static_cast<int64_t>(all.size())));
  open("UTC");
  apply(true);
  expect_every_shape_same();
}

TEST_F(Rollups, APlanColumnAddedLaterIsSummedFromThen) {
  open("UTC");
  apply(false);  // no duration_s yet
  const auto& all = events_30d();
  load(all, 0, all.size() / 2);
  ASSERT_TRUE(w_->rollups());
  // Sums of a column the rollups do not carry read the events.
  EXPECT_FALSE(uses_rollup(R"({"model":"events","metrics":["durations"]})"));
  apply(true);
  auto info = w_->rollups();
  ASSERT_TRUE(info);
  EXPECT_NE(std::find(info->sum_columns.begin(), info->sum_columns.end(), "p_duration_s"),
            info->sum_columns.end());
  load(all, all.size() / 2, all.size());
  expect_same(
      R"({"model":"events","metrics":["durations","events"],"time":{"range":["2026-10-26","2026-11-23"],"grain":"day"}})");
  // A column `events` already held values in before the plan named it: the rollups are rebuilt.
  ASSERT_TRUE(w_->query("ALTER TABLE events ADD COLUMN p_stars BIGINT", {}));
  ASSERT_TRUE(w_->query("UPDATE events SET p_stars = length(event) WHERE event IS NOT NULL", {}));
  auto p = plan(true);
  p.properties.push_back({"stars", event::ValueType::kInt});
  ASSERT_TRUE(w_->apply_plan_columns(p));
  info = w_->rollups();
  ASSERT_TRUE(info);
  auto stars =
      w_->query("SELECT sum(p_stars) = (SELECT sum(p_stars) FROM events) FROM events_user_day", {});
  ASSERT_TRUE(stars);
  EXPECT_EQ(stars->rows[0][0], warehouse::Value(true));
}

TEST_F(Rollups, AnOldWarehouseIsBackfilledAndAZoneChangeRebuilds) {
  open("");  // no rollups kept
  apply(true);
  load_all();
  EXPECT_FALSE(w_->rollups());
  EXPECT_FALSE(uses_rollup(R"({"model":"events","metrics":["dau"]})"));
  open("UTC");
  EXPECT_FALSE(w_->rollups());  // built once the typed columns are known
  apply(true);
  ASSERT_TRUE(w_->rollups());
  expect_every_shape_same();
  open("America/New_York");
  apply(true);
  ASSERT_TRUE(w_->rollups());
  EXPECT_EQ(w_->rollups()->timezone, "America/New_York");
  expect_every_shape_same();
  // Rollups kept before events_active_users existed: it is filled from the user-day rows.
  services_.clear();
  w_.reset();
  {
    warehouse::WarehouseOptions wo;
    wo.path = (dir_ / "w.duckdb").string();
    auto w = warehouse::make_warehouse(wo);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->query("DROP TABLE events_active_users", {}));
  }
  open("America/New_York");
  apply(true);
  auto n = w_->query(
      "SELECT (SELECT CAST(sum(events) AS BIGINT) FROM events_active_users), "
      "(SELECT count(*) FROM events)",
      {});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->rows[0][0], n->rows[0][1]);
  expect_every_shape_same();
  // Opened without a zone, the stored one is kept.
  open("");
  ASSERT_TRUE(w_->rollups());
  EXPECT_EQ(w_->rollups()->timezone, "America/New_York");
}

TEST_F(Rollups, DaysOfAZoneWithDaylightSavingTime) {
  // 2026-11-01 is 25 hours long in New York; the data spans it.
  open("America/New_York", 1);
  apply(true);
  load_all();
  expect_every_shape_same();
  expect_same(
      R"({"model":"events","metrics":["events","dau"],"time":{"range":["2026-10-31","2026-11-02"],"grain":"day"}})");
}

TEST_F(Rollups, ShapesTheRollupsCannotAnswerReadTheEvents) {
  open("UTC");
  apply(true);
  load(events_30d(), 0, events_30d().size() / 3);
  ASSERT_TRUE(w_->rollups());
  const char* raw_only[] = {
      R"({"model":"events","metrics":["events"],"time":{"range":["2026-11-10","2026-11-12"],"grain":"hour"}})",
      R"({"model":"events","metrics":["dau"],"time":{"range":["2026-11-10","2026-11-12"],"grain":"minute"}})",
      R"({"model":"events","metrics":["dau"],"filters":[{"dimension":"os","op":"=","value":"iOS"}]})",
      R"({"model":"events","metrics":["events"],"dimensions":["amount_band"]})",
      R"({"model":"events","metrics":["dau"],"time":{"range":["2026-11-10T08:00","2026-11-12"],"grain":"day"}})",
      R"({"model":"events","metrics":["median_amount"]})",
      R"({"model":"events","metrics":["avg_amount"]})",
      R"({"model":"events","metrics":["named_users"]})",
      R"({"type":"funnel","model":"events","steps":["login","pay"],"time":{"range":["2026-11-01","2026-11-07"]}})",
      R"({"type":"retention","model":"events","start":"login","return":"pay","period":"day","periods":3,"time":{"range":["2026-11-01T06:00","2026-11-07"]}})",
      R"({"type":"activity","model":"events","time":{"range":["2026-11-10","2026-11-12"]}})",
  };
  for (const char* s : raw_only) {
    EXPECT_FALSE(uses_rollup(s)) << s;
    expect_same(s, false);
  }
}

TEST_F(Rollups, AnotherZoneThanTheRollupsReadsTheEvents) {
  open("UTC");
  apply(true);
  load(events_30d(), 0, events_30d().size() / 3);
  QueryConfig qc;
  auto shanghai =
      SemanticService::with_models(models(), "duckdb", "Asia/Shanghai", qc, *w_, clock_);
  ASSERT_TRUE(shanghai);
  auto c = (*shanghai)->compile(query(
      R"({"model":"events","metrics":["dau"],"time":{"range":["2026-11-10","2026-11-12"],"grain":"day"}})"));
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->from_rollup);
}

TEST_F(Rollups, GoldenSql) {
  open("UTC");
  apply(true);
  const std::string dir = BASALT_SOURCE_DIR "/tests/unit/semantic/golden/";
  struct Golden {
    const char* name;
    const char* json;
  } goldens[] = {
      {"rollup_dau_by_day",
       R"({"model":"events","metrics":["dau"],"time":{"range":["2026-10-25","2026-11-23"],"grain":"day"}})"},
      {"rollup_revenue_by_channel",
       R"({"model":"events","metrics":["revenue","dau","arpu"],"dimensions":["channel"],"time":{"range":["2026-11-09","2026-11-23"]},"compare":"previous_period"})"},
      {"rollup_events_by_event_week",
       R"({"model":"events","metrics":["events","payers"],"dimensions":["event"],"time":{"range":["2026-10-26","2026-11-22"],"grain":"week"},"filters":[{"dimension":"event","op":"in","values":["login","pay"]}]})"},
      {"rollup_retention",
       R"({"type":"retention","model":"events","start":"login","return":"session_start","period":"day","periods":30,"time":{"range":["2026-10-25","2026-11-23"]}})"},
  };
  for (const auto& g : goldens) {
    auto c = rolled().compile(query(g.json));
    ASSERT_TRUE(c) << c.status().message();
    EXPECT_TRUE(c->from_rollup) << g.name;
    testing::expect_golden_file(*c, dir + g.name + ".sql", g.name);
    auto r = w_->query(c->sql, c->params, {});
    EXPECT_TRUE(r) << g.name << ": " << r.status().message();
  }
}

}  // namespace
}  // namespace basalt::semantic
