// The tracking plan's typed columns on ClickHouse: p_<property> on events, a_<attribute> on
// users merged by the plan's rules, checked against a real clickhouse-server and, for the
// merges, against the DuckDB engine given the same batches.

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "loader/loader.h"
#include "support/clickhouse_server.h"
#include "support/memory_wal.h"
#include "warehouse/clickhouse/clickhouse_warehouse.h"
#include "warehouse/warehouse.h"

namespace basalt::warehouse::clickhouse {
namespace {

using basalt::testing::ClickHouseServer;
using event::TypedField;
using event::ValueType;
using R = schema::MergeRule;

constexpr int64_t kT0 = 1795514400'000000;  // 2026-11-24T10:00:00Z

PlanColumns plan() {
  PlanColumns c;
  c.properties = {{"amount", ValueType::kFloat}, {"currency", ValueType::kString},
                  {"level", ValueType::kInt},    {"tags", ValueType::kStringList},
                  {"extra", ValueType::kJson},   {"at", ValueType::kTimestamp},
                  {"vip_flag", ValueType::kBool}};
  c.attributes = {
      {"name", ValueType::kString, R::kSet},      {"channel", ValueType::kString, R::kSetOnce},
      {"coins", ValueType::kInt, R::kIncrement},  {"level", ValueType::kInt, R::kMax},
      {"best_time", ValueType::kFloat, R::kMin},  {"badges", ValueType::kStringList, R::kAppend},
      {"vip", ValueType::kBool, R::kSet},         {"promo", ValueType::kString, R::kUnset},
      {"seen_at", ValueType::kTimestamp, R::kSet}, {"prefs", ValueType::kJson, R::kSet}};
  return c;
}

TypedField f(std::string name, ValueType t) {
  TypedField x;
  x.name = std::move(name);
  x.type = t;
  return x;
}
TypedField number(std::string name, double v) {
  TypedField x = f(std::move(name), ValueType::kFloat);
  x.float_value = v;
  return x;
}
TypedField integer(std::string name, int64_t v) {
  TypedField x = f(std::move(name), ValueType::kInt);
  x.int_value = v;
  return x;
}
TypedField text(std::string name, std::string v) {
  TypedField x = f(std::move(name), ValueType::kString);
  x.text = std::move(v);
  return x;
}
TypedField list(std::string name, std::vector<std::string> v) {
  TypedField x = f(std::move(name), ValueType::kStringList);
  x.list = std::move(v);
  return x;
}
TypedField flag(std::string name, bool v) {
  TypedField x = f(std::move(name), ValueType::kBool);
  x.int_value = v;
  return x;
}
TypedField at(std::string name, int64_t us) {
  TypedField x = f(std::move(name), ValueType::kTimestamp);
  x.int_value = us;
  return x;
}

event::Event track(int i, std::vector<TypedField> typed, const std::string& user = "u1") {
  event::Event e;
  e.event_id = "e" + std::to_string(i);
  e.message_id = "m" + std::to_string(i);
  e.source = "app";
  e.event = "pay";
  e.user_id = user;
  e.timestamp_us = kT0 + i;
  e.received_at_us = kT0 + i;
  e.typed = std::move(typed);
  return e;
}
event::Event identify(int i, const std::string& user, int64_t ts, std::vector<TypedField> typed,
                      std::string traits = "{}") {
  event::Event e = track(i, std::move(typed), user);
  e.type = event::EventType::kIdentify;
  e.event.clear();
  e.timestamp_us = ts;
  e.traits_json = std::move(traits);
  return e;
}

// The merge-rule scenario, batch by batch: late updates, an explicit null, events without
// attributes, several users.
std::vector<std::vector<event::Event>> merge_scenario() {
  std::vector<std::vector<event::Event>> batches;
  batches.push_back({identify(1, "u1", kT0 + 100,
                              {text("name", "Ann"), text("channel", "ads"), integer("coins", 10),
                               integer("level", 3), number("best_time", 50), list("badges", {"first"}),
                               text("promo", "X"), at("seen_at", kT0 + 100)},
                              R"({"plan":"free","city":"Oslo"})"),
                     identify(2, "u2", kT0 + 10, {integer("coins", 1), flag("vip", false)})});
  // A later batch with an update that happened *before* the first one (a late arrival) and
  // one after it, in the opposite batch order.
  batches.push_back(
      {identify(4, "u1", kT0 + 200,
                {integer("level", 4), list("badges", {"second", "third"}), flag("vip", true),
                 text("promo", "Y"), integer("coins", 7)},
                R"({"plan":"pro","city":null})"),
       identify(3, "u1", kT0 + 50,
                {text("name", "Old"), text("channel", "organic"), integer("coins", 5),
                 integer("level", 9), number("best_time", 70), at("seen_at", kT0 + 50)},
                R"({"plan":"trial","team":"red"})"),
       identify(5, "u2", kT0 + 20, {integer("coins", 2), text("name", "Bo")})});
  {
    TypedField prefs = f("prefs", ValueType::kJson);
    prefs.text = R"({"sound":false})";
    batches.push_back({identify(6, "u1", kT0 + 300, {f("name", ValueType::kNull), prefs}),
                       identify(7, "u2", kT0 + 5, {text("channel", "store"), integer("coins", 3)}),
                       track(8, {number("amount", 1.5)}, "u3")});
  }
  {
    event::Event later = track(9, {});
    later.timestamp_us = kT0 + 1000;
    later.anonymous_id = "phone";
    batches.push_back({later, identify(10, "u3", kT0 + 9, {number("best_time", 12.25)})});
  }
  return batches;
}

// One row per user with every merged column, normalised so both engines print the same:
// numbers as double, lists joined with ',', booleans 0/1, timestamps as µs, JSON parsed.
using UserRows = std::map<std::string, std::map<std::string, std::string>>;

std::string printed(const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return "NULL";
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "1" : "0";
  if (const int64_t* i = std::get_if<int64_t>(&v)) return std::to_string(static_cast<double>(*i));
  if (const double* d = std::get_if<double>(&v)) return std::to_string(*d);
  return std::get<std::string>(v);
}

UserRows read_users(Warehouse& w, bool clickhouse) {
  std::vector<std::pair<std::string, std::string>> columns;  // (name, expression)
  auto add = [&](const std::string& name, const std::string& duck, const std::string& ch) {
    columns.emplace_back(name, clickhouse ? ch : duck);
  };
  add("anonymous_ids", "coalesce(array_to_string(anonymous_ids, ','), '')", "arrayStringConcat(anonymous_ids, ',')");
  add("traits", "traits::VARCHAR", "traits");
  add("first_seen", "epoch_us(first_seen)", "first_seen_us");
  add("last_seen", "epoch_us(last_seen)", "last_seen_us");
  add("attribute_times", "attribute_times::VARCHAR", "attribute_times");
  for (const PlanColumn& c : plan().attributes) {
    std::string col = "a_" + c.name;
    switch (c.type) {
      case ValueType::kBool:
        add(col, "CAST(" + col + " AS BIGINT)", "toInt64(" + col + ")");
        break;
      case ValueType::kTimestamp:
        add(col, "epoch_us(" + col + ")", col + "_us");
        break;
      case ValueType::kStringList:
        add(col, "coalesce(array_to_string(" + col + ", ','), '')",
            "arrayStringConcat(" + col + ", ',')");
        break;
      case ValueType::kJson:
        add(col, col + "::VARCHAR", col);
        break;
      default:
        add(col, col, col);
    }
  }
  std::string sql = "SELECT user_id";
  for (const auto& [name, expr] : columns) sql += ", " + expr;
  sql += clickhouse ? " FROM users FINAL ORDER BY user_id" : " FROM users ORDER BY user_id";
  auto r = w.query(sql, QueryOptions{});
  EXPECT_TRUE(r.is_ok()) << sql << ": " << r.status().to_string();
  UserRows out;
  if (!r) return out;
  for (const auto& row : r->rows) {
    auto& user = out[std::get<std::string>(row[0])];
    for (size_t i = 0; i < columns.size(); ++i) {
      std::string v = printed(row[i + 1]);
      const std::string& name = columns[i].first;
      // JSON: compared as values (key order and spacing differ between the engines); an
      // absent attribute_times is the same as an empty one.
      if (name == "traits" || name == "attribute_times" || name == "a_prefs") {
        auto j = nlohmann::json::parse(v, nullptr, false);
        if (!j.is_discarded()) v = j.dump();
        if (name == "attribute_times" && (v == "NULL" || v.empty())) v = "{}";
      }
      user[name] = v;
    }
  }
  return out;
}

// The same batches loaded into an in-memory DuckDB warehouse: the reference.
UserRows duckdb_users(const std::vector<std::vector<event::Event>>& batches) {
  WarehouseOptions o;  // engine duckdb, empty path: in memory
  auto w = make_warehouse(o);
  EXPECT_TRUE(w.is_ok()) << w.status().to_string();
  if (!w) return {};
  EXPECT_TRUE((*w)->apply_plan_columns(plan()).is_ok());
  uint64_t lsn = 0;
  for (const auto& events : batches) {
    LoadBatch b;
    b.events = events;
    lsn += events.size();
    b.next_lsn = lsn;
    Status s = (*w)->load(b, "warehouse");
    EXPECT_TRUE(s.is_ok()) << s.to_string();
  }
  return read_users(**w, false);
}

class TypedColumnsClickHouseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new ClickHouseServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  // A warehouse on this test's database (`suffix` for a second one); `before_insert` as in
  // ClickHouseOptions.
  std::unique_ptr<ClickHouseWarehouse> open(
      std::function<Status(std::string_view)> before_insert = {}, const std::string& suffix = "") {
    ClickHouseOptions o;
    o.url = server_->url();
    o.database = std::string("t_") +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + suffix;
    o.before_insert = std::move(before_insert);
    auto w = ClickHouseWarehouse::open(o);
    EXPECT_TRUE(w.is_ok()) << w.status().to_string();
    if (!w) return nullptr;
    EXPECT_TRUE((*w)->ensure_schema().is_ok());
    return std::move(*w);
  }
  static Value one(Warehouse& w, const std::string& sql) {
    auto r = w.query(sql, QueryOptions{});
    EXPECT_TRUE(r.is_ok()) << sql << ": " << r.status().to_string();
    if (!r.is_ok() || r->rows.size() != 1) return std::monostate{};
    return r->rows[0][0];
  }
  static std::string parts(ClickHouseWarehouse& w) {
    auto r = w.execute(
        "SELECT name, modification_time, bytes_on_disk FROM system.parts WHERE database = "
        "currentDatabase() AND table = 'events' AND active ORDER BY name FORMAT TabSeparated");
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r ? *r : "";
  }
  static void load(Warehouse& w, std::vector<event::Event> events, uint64_t next_lsn,
                   const std::string& consumer = "warehouse") {
    LoadBatch b;
    b.events = std::move(events);
    b.next_lsn = next_lsn;
    Status s = w.load(b, consumer);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
  static ClickHouseServer* server_;
};
ClickHouseServer* TypedColumnsClickHouseTest::server_ = nullptr;

TEST_F(TypedColumnsClickHouseTest, ColumnsAreAddedWithoutRewritingTheStoredParts) {
  auto w = open();
  ASSERT_TRUE(w);
  load(*w, {track(1, {number("amount", 5)}), track(2, {})}, 2);
  const std::string before = parts(*w);
  ASSERT_FALSE(before.empty());

  PlanColumns small;
  small.properties = {{"amount", ValueType::kFloat}};
  auto messages = w->apply_plan_columns(small);
  ASSERT_TRUE(messages.is_ok()) << messages.status().to_string();
  EXPECT_TRUE(messages->empty());
  EXPECT_EQ(parts(*w), before) << "ALTER TABLE … ADD COLUMN rewrites no part";
  load(*w, {track(3, {number("amount", 7), text("currency", "EUR")})}, 3);

  messages = w->apply_plan_columns(plan());
  ASSERT_TRUE(messages.is_ok()) << messages.status().to_string();
  EXPECT_TRUE(messages->empty());
  auto types = w->query(
      "SELECT table, name, type FROM system.columns WHERE database = currentDatabase() AND "
      "substring(name, 1, 2) IN ('p_', 'a_') ORDER BY table, name",
      QueryOptions{});
  ASSERT_TRUE(types.is_ok()) << types.status().to_string();
  std::map<std::string, std::string> type_of;
  for (const auto& row : types->rows) {
    type_of[std::get<std::string>(row[0]) + "." + std::get<std::string>(row[1])] =
        std::get<std::string>(row[2]);
  }
  EXPECT_EQ(type_of["events.p_amount"], "Nullable(Float64)");
  EXPECT_EQ(type_of["events.p_currency"], "Nullable(String)");
  EXPECT_EQ(type_of["events.p_level"], "Nullable(Int64)");
  EXPECT_EQ(type_of["events.p_tags"], "Array(String)");
  EXPECT_EQ(type_of["events.p_extra"], "Nullable(String)");
  EXPECT_EQ(type_of["events.p_at"], "Nullable(DateTime)");
  EXPECT_EQ(type_of["events.p_at_us"], "Nullable(Int64)");
  EXPECT_EQ(type_of["events.p_vip_flag"], "Nullable(UInt8)");
  EXPECT_EQ(type_of["users.a_coins"], "Nullable(Int64)");
  EXPECT_EQ(type_of["users.a_badges"], "Array(String)");
  EXPECT_EQ(type_of["users.a_seen_at_us"], "Nullable(Int64)");
  EXPECT_EQ(type_of.size(), 8u + 11u);

  load(*w, {track(4, {number("amount", 1), text("currency", "NOK")})}, 4);

  // Rows stored before a column existed read its default; the ones after are filled.
  EXPECT_EQ(one(*w, "SELECT count() FROM events WHERE p_currency IS NULL"), Value(int64_t{3}));
  EXPECT_EQ(one(*w, "SELECT p_currency FROM events WHERE event_id = 'e4'"), Value(std::string("NOK")));
  EXPECT_EQ(one(*w, "SELECT sum(p_amount) FROM events"), Value(8.0))
      << "e1's amount came before p_amount existed (it stays in properties)";
  EXPECT_EQ(one(*w, "SELECT count() FROM events"), Value(int64_t{4}));

  // Applying the same plan again changes nothing.
  const std::string after = parts(*w);
  messages = w->apply_plan_columns(plan());
  ASSERT_TRUE(messages.is_ok());
  EXPECT_TRUE(messages->empty());
  EXPECT_EQ(parts(*w), after);
}

TEST_F(TypedColumnsClickHouseTest, AQueryOnPAmountSumsTheSentAmounts) {
  auto w = open();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->apply_plan_columns(plan()).is_ok());
  TypedField extra = f("extra", ValueType::kJson);
  extra.text = R"({"x":1,"s":"it's"})";
  std::vector<event::Event> events;
  double sent = 0;
  for (int i = 0; i < 200; ++i) {
    double amount = 0.01 * (i % 37) + i;
    sent += amount;
    events.push_back(track(i, {number("amount", amount), text("currency", i % 2 ? "USD" : "EUR")}));
  }
  events.push_back(track(1000, {number("amount", 9.99), text("currency", "NOK"),
                                list("tags", {"a", "b\"c"}), extra, at("at", kT0 + 123456),
                                flag("vip_flag", true), integer("level", -3)}));
  events.push_back(track(1001, {text("amount", "abc"), integer("level", 2)}))
      /* a value of another type (lenient) leaves the column NULL */;
  event::Event ident = identify(1002, "u1", kT0, {number("amount", 1e6)});
  events.push_back(ident);  // identify traits never fill p_ columns
  load(*w, events, events.size());
  EXPECT_EQ(one(*w, "SELECT count() FROM events"), Value(int64_t{203}));
  auto sum = one(*w, "SELECT sum(p_amount) FROM events WHERE event = 'pay' AND p_currency != 'NOK'");
  ASSERT_TRUE(std::holds_alternative<double>(sum));
  EXPECT_NEAR(std::get<double>(sum), sent, 1e-6);
  EXPECT_EQ(one(*w, "SELECT round(sum(p_amount), 2) FROM events WHERE p_currency = 'NOK'"), Value(9.99));
  EXPECT_EQ(one(*w, "SELECT count(p_amount) FROM events"), Value(int64_t{201}));
  EXPECT_EQ(one(*w, "SELECT arrayStringConcat(p_tags, '|') FROM events WHERE event_id = 'e1000'"),
            Value(std::string("a|b\"c")));
  EXPECT_EQ(one(*w, "SELECT visitParamExtractString(p_extra, 's') FROM events WHERE event_id = 'e1000'"),
            Value(std::string("it's")));
  EXPECT_EQ(one(*w, "SELECT p_at_us FROM events WHERE event_id = 'e1000'"), Value(kT0 + 123456));
  EXPECT_EQ(one(*w, "SELECT toInt64(toUnixTimestamp(p_at)) FROM events WHERE event_id = 'e1000'"),
            Value((kT0 + 123456) / 1000000));
  EXPECT_EQ(one(*w, "SELECT p_vip_flag FROM events WHERE event_id = 'e1000'"), Value(int64_t{1}));
  EXPECT_EQ(one(*w, "SELECT p_level FROM events WHERE event_id = 'e1000'"), Value(int64_t{-3}));
  EXPECT_EQ(one(*w, "SELECT p_amount IS NULL AND p_level = 2 FROM events WHERE event_id = 'e1001'"),
            Value(int64_t{1}));
  EXPECT_EQ(one(*w, "SELECT p_amount IS NULL FROM events WHERE event_id = 'e1002'"), Value(int64_t{1}));
  EXPECT_EQ(one(*w, "SELECT length(p_tags) FROM events WHERE event_id = 'e1'"), Value(int64_t{0}))
      << "an absent string[] is [] (an Array cannot be Nullable)";
}

TEST_F(TypedColumnsClickHouseTest, AColumnOfAnotherTypeIsReportedAndNotFilled) {
  auto w = open();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->execute("ALTER TABLE events ADD COLUMN p_amount Nullable(String)").is_ok());
  PlanColumns c;
  c.properties = {{"amount", ValueType::kFloat},
                  {"currency", ValueType::kString},
                  {"at", ValueType::kTimestamp},
                  {"at_us", ValueType::kInt}};
  auto messages = w->apply_plan_columns(c);
  ASSERT_TRUE(messages.is_ok()) << messages.status().to_string();
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_NE((*messages)[0].find("events.p_amount is Nullable(String) but the tracking plan says "
                                "Nullable(Float64)"),
            std::string::npos)
      << (*messages)[0];
  EXPECT_NE((*messages)[1].find("events.p_at_us holds the microseconds of a timestamp"),
            std::string::npos)
      << (*messages)[1];
  load(*w, {track(1, {number("amount", 5), text("currency", "USD"), integer("at_us", 4),
                      at("at", kT0)})},
       1);
  EXPECT_EQ(one(*w, "SELECT count(p_amount) FROM events"), Value(int64_t{0}));
  EXPECT_EQ(one(*w, "SELECT p_currency FROM events"), Value(std::string("USD")));
  EXPECT_EQ(one(*w, "SELECT p_at_us FROM events"), Value(kT0)) << "the timestamp's, not at_us";
}

TEST_F(TypedColumnsClickHouseTest, EveryMergeRuleGivesWhatDuckDbGives) {
  auto w = open();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->apply_plan_columns(plan()).is_ok());
  auto batches = merge_scenario();
  uint64_t lsn = 0;
  for (const auto& events : batches) {
    lsn += events.size();
    load(*w, events, lsn);
  }
  UserRows ch = read_users(*w, true);
  UserRows duck = duckdb_users(batches);
  ASSERT_EQ(ch.size(), 3u);
  EXPECT_EQ(ch, duck);
  // And the values themselves (as typed_columns_test.cc checks them on DuckDB).
  const auto& u1 = ch["u1"];
  EXPECT_EQ(u1.at("a_name"), "NULL");               // set, then cleared by a newer null
  EXPECT_EQ(u1.at("a_channel"), "organic");         // set_once: the oldest update
  EXPECT_EQ(u1.at("a_coins"), printed(int64_t{22}));  // increment: 10 + 7 + 5
  EXPECT_EQ(u1.at("a_level"), printed(int64_t{9}));   // max
  EXPECT_EQ(u1.at("a_best_time"), printed(50.0));     // min
  EXPECT_EQ(u1.at("a_badges"), "first,second,third");  // append in arrival order
  EXPECT_EQ(u1.at("a_vip"), printed(int64_t{1}));
  EXPECT_EQ(u1.at("a_promo"), "NULL");  // unset
  EXPECT_EQ(u1.at("a_seen_at"), printed(kT0 + 100)) << "a late set never overwrites a newer one";
  EXPECT_EQ(u1.at("a_prefs"), R"({"sound":false})");
  EXPECT_EQ(u1.at("last_seen"), printed(kT0 + 1000));
  EXPECT_EQ(u1.at("anonymous_ids"), "phone");
  EXPECT_EQ(u1.at("traits"), R"({"plan":"pro","team":"red"})");
  EXPECT_EQ(ch["u2"].at("a_coins"), printed(int64_t{6}));
  EXPECT_EQ(ch["u2"].at("a_channel"), "store");
  EXPECT_EQ(ch["u2"].at("a_vip"), printed(int64_t{0}));
  EXPECT_EQ(ch["u3"].at("a_best_time"), printed(12.25));
}

// A load interrupted at each of its inserts (a server refusing it, or a crash) and retried —
// by the same process, or by a new one with other batch bounds — merges every identify once.
TEST_F(TypedColumnsClickHouseTest, ARetriedBatchMergesEveryIdentifyOnce) {
  auto batches = merge_scenario();
  const UserRows expected = duckdb_users(batches);
  // The new process's bounds: batch 2's first event, then the rest of it with batch 3.
  std::vector<event::Event> part(batches[1].begin(), batches[1].begin() + 1);
  std::vector<event::Event> rest(batches[1].begin() + 1, batches[1].end());
  rest.insert(rest.end(), batches[2].begin(), batches[2].end());
  // Traits merge in event-time order within a load and in arrival order across loads (as on
  // DuckDB), so other bounds give other traits — unless the interrupted load's users insert
  // landed, which merged batch 2 whole.
  const UserRows expected_rebatched = duckdb_users({batches[0], part, rest, batches[3]});
  ASSERT_NE(expected_rebatched, expected) << "the scenario tells the two apart";
  const std::vector<std::string> steps = {"basalt_offsets", "events", "users", "done"};
  for (const std::string& step : steps) {
    SCOPED_TRACE("interrupted before the insert into " + step);
    for (bool restart : {false, true}) {
      SCOPED_TRACE(restart ? "retried by a new process with other bounds" : "retried as is");
      bool armed = false;
      int offsets_inserts = 0;
      auto hook = [&](std::string_view table) -> Status {
        if (!armed) return Status::ok();
        bool hit = step == "done" ? table == "basalt_offsets" && ++offsets_inserts == 2
                                  : table == step;
        if (!hit) return Status::ok();
        armed = false;
        return unavailable("injected failure before the insert into " + std::string(table));
      };
      auto w = open(hook, std::string(step == "basalt_offsets" ? "_offsets" : "_" + step) +
                              (restart ? "_restart" : ""));
      ASSERT_TRUE(w);
      ASSERT_TRUE(w->apply_plan_columns(plan()).is_ok());
      load(*w, batches[0], 2);
      // Batch 2 (LSN 2..5) fails at the step.
      LoadBatch b;
      b.events = batches[1];
      b.next_lsn = 5;
      armed = true;
      offsets_inserts = 0;
      Status s = w->load(b, "warehouse");
      ASSERT_FALSE(s.is_ok());
      EXPECT_EQ(s.code(), StatusCode::kUnavailable);
      if (!restart) {
        load(*w, batches[1], 5);
        load(*w, batches[2], 8);
        load(*w, batches[3], 10);
      } else {
        // A new process reads the offset (2) and batches differently: first only part of
        // the interrupted range, then the rest together with the next batch.
        auto again = open({}, std::string(step == "basalt_offsets" ? "_offsets" : "_" + step) +
                                  "_restart");
        ASSERT_TRUE(again->apply_plan_columns(plan()).is_ok());
        EXPECT_EQ(again->load_offset("warehouse")->value_or(0), 2u);
        load(*again, part, 3);
        load(*again, rest, 8);
        load(*again, batches[3], 10);
        w = std::move(again);
      }
      EXPECT_EQ(read_users(*w, true), restart && step != "done" ? expected_rebatched : expected);
      EXPECT_EQ(one(*w, "SELECT count() FROM events"), Value(int64_t{10}));
      EXPECT_EQ(w->load_offset("warehouse")->value_or(0), 10u);
    }
  }
}

// The warehouse loader restarted after a crash between the users insert and `done`: the
// events of the interrupted load are in ClickHouse, yet the loader must see them again (they
// are not duplicates to drop) and each identify is merged once.
TEST_F(TypedColumnsClickHouseTest, TheLoaderResumesAnInterruptedLoadOnce) {
  auto batches = merge_scenario();
  std::vector<event::Event> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  const UserRows expected = duckdb_users({all});

  basalt::testing::MemoryWal wal;
  std::vector<std::string> records;
  for (const auto& e : all) {
    std::string r;
    event::encode(e, r);
    records.push_back(std::move(r));
  }
  ASSERT_TRUE(wal.append_sync(std::move(records)).is_ok());

  int offsets_inserts = 0;
  auto w = open([&](std::string_view table) -> Status {
    if (table == "basalt_offsets" && ++offsets_inserts == 2) return unavailable("crash");
    return Status::ok();
  });
  ASSERT_TRUE(w->apply_plan_columns(plan()).is_ok());
  LoadBatch b;
  b.events = all;
  b.next_lsn = all.size();
  ASSERT_FALSE(w->load(b, "warehouse").is_ok());
  EXPECT_EQ(one(*w, "SELECT count() FROM events"), Value(int64_t(all.size())))
      << "the interrupted load stored its events";

  auto restarted = open();
  ASSERT_TRUE(restarted->apply_plan_columns(plan()).is_ok());
  loader::LoaderOptions lo;
  lo.batch_events = 4;
  lo.batch_interval = std::chrono::milliseconds(10);
  lo.thread_nice = 0;
  // stop() drains everything: on a machine shared with other test servers a ClickHouse load
  // can take seconds, and this test is about exactly once, not drain speed.
  lo.stop_deadline = std::chrono::seconds(120);
  ManualClock clock(kT0 + 3'600'000'000);
  MetricsRegistry metrics;
  loader::Loader l(wal, *restarted, lo, clock, metrics);
  ASSERT_TRUE(l.start().is_ok());
  l.stop();
  EXPECT_EQ(l.stats().position, all.size());
  EXPECT_EQ(one(*restarted, "SELECT count() FROM events"), Value(int64_t(all.size())));
  EXPECT_EQ(one(*restarted, "SELECT uniqExact(event_id) FROM events"), Value(int64_t(all.size())));
  EXPECT_EQ(read_users(*restarted, true), expected);
}

}  // namespace
}  // namespace basalt::warehouse::clickhouse
