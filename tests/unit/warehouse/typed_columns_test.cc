// The tracking plan's typed columns: p_<name> on events, a_<name> on users with merge rules.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "warehouse/warehouse.h"

namespace basalt::warehouse {
namespace {

namespace fs = std::filesystem;
using event::TypedField;
using event::ValueType;

constexpr int64_t kT0 = 1795514400'000000;  // 2026-11-24T10:00:00Z

class TypedColumnsTest : public ::testing::Test {
 protected:
  TypedColumnsTest() {
    static std::atomic<int> n{0};
    dir_ = fs::temp_directory_path() /
           ("basalt_typed_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    WarehouseOptions o;
    o.path = (dir_ / "w.duckdb").string();
    auto w = make_warehouse(o);
    EXPECT_TRUE(w.is_ok()) << w.status().to_string();
    if (w.is_ok()) wh_ = std::move(*w);
  }
  ~TypedColumnsTest() override {
    wh_.reset();
    fs::remove_all(dir_);
  }

  PlanColumns columns() const {
    PlanColumns c;
    c.properties = {{"amount", ValueType::kFloat}, {"currency", ValueType::kString},
                    {"level", ValueType::kInt},    {"tags", ValueType::kStringList},
                    {"extra", ValueType::kJson},   {"at", ValueType::kTimestamp},
                    {"vip_flag", ValueType::kBool}};
    using R = schema::MergeRule;
    c.attributes = {
        {"name", ValueType::kString, R::kSet},     {"channel", ValueType::kString, R::kSetOnce},
        {"coins", ValueType::kInt, R::kIncrement}, {"level", ValueType::kInt, R::kMax},
        {"best_time", ValueType::kFloat, R::kMin}, {"badges", ValueType::kStringList, R::kAppend},
        {"vip", ValueType::kBool, R::kSet},        {"promo", ValueType::kString, R::kUnset}};
    return c;
  }

  event::Event track(int i, std::vector<TypedField> typed) {
    event::Event e;
    e.event_id = "e" + std::to_string(i);
    e.message_id = "m" + std::to_string(i);
    e.source = "app";
    e.event = "pay";
    e.user_id = "u1";
    e.timestamp_us = kT0 + i;
    e.received_at_us = kT0 + i;
    e.typed = std::move(typed);
    return e;
  }
  event::Event identify(int i, const std::string& user, int64_t ts, std::vector<TypedField> typed) {
    event::Event e = track(i, std::move(typed));
    e.type = event::EventType::kIdentify;
    e.event.clear();
    e.user_id = user;
    e.timestamp_us = ts;
    return e;
  }

  Value one(const std::string& sql) {
    auto r = wh_->query(sql, {});
    EXPECT_TRUE(r.is_ok()) << sql << ": " << r.status().to_string();
    if (!r.is_ok() || r->rows.size() != 1) return std::monostate{};
    return r->rows[0][0];
  }
  void load(std::vector<event::Event> events) {
    LoadBatch b;
    b.events = std::move(events);
    b.next_lsn = ++lsn_;
    Status s = wh_->load(b, "warehouse");
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }

  static TypedField f(std::string name, ValueType t) {
    TypedField x;
    x.name = std::move(name);
    x.type = t;
    return x;
  }
  static TypedField number(std::string name, double v) {
    TypedField x = f(std::move(name), ValueType::kFloat);
    x.float_value = v;
    return x;
  }
  static TypedField integer(std::string name, int64_t v) {
    TypedField x = f(std::move(name), ValueType::kInt);
    x.int_value = v;
    return x;
  }
  static TypedField text(std::string name, std::string v) {
    TypedField x = f(std::move(name), ValueType::kString);
    x.text = std::move(v);
    return x;
  }

  fs::path dir_;
  std::unique_ptr<Warehouse> wh_;
  uint64_t lsn_ = 0;
};

TEST_F(TypedColumnsTest, PropertiesFillTypedColumnsThatQueriesSum) {
  auto messages = wh_->apply_plan_columns(columns());
  ASSERT_TRUE(messages.is_ok()) << messages.status().to_string();
  EXPECT_TRUE(messages->empty());
  TypedField tags = f("tags", ValueType::kStringList);
  tags.list = {"a", "b"};
  TypedField extra = f("extra", ValueType::kJson);
  extra.text = R"({"x":1})";
  TypedField at = f("at", ValueType::kTimestamp);
  at.int_value = kT0;
  TypedField flag = f("vip_flag", ValueType::kBool);
  flag.int_value = 1;
  load({track(1, {number("amount", 9.99), text("currency", "USD"), tags, extra, at, flag}),
        track(2, {number("amount", 0.01), text("currency", "EUR")}), track(3, {})});
  EXPECT_EQ(one("SELECT round(sum(p_amount), 2) FROM events"), Value(10.0));
  EXPECT_EQ(one("SELECT count(p_amount) FROM events"), Value(int64_t{2}));
  EXPECT_EQ(one("SELECT p_currency FROM events WHERE event_id = 'e2'"), Value(std::string("EUR")));
  EXPECT_EQ(one("SELECT len(p_tags) FROM events WHERE event_id = 'e1'"), Value(int64_t{2}));
  EXPECT_EQ(one("SELECT p_extra->>'x' FROM events WHERE event_id = 'e1'"), Value(std::string("1")));
  EXPECT_EQ(one("SELECT epoch_us(p_at) FROM events WHERE event_id = 'e1'"), Value(kT0));
  EXPECT_EQ(one("SELECT p_vip_flag FROM events WHERE event_id = 'e1'"), Value(true));
  EXPECT_EQ(one("SELECT typeof(p_level) FROM events LIMIT 1"), Value(std::string("BIGINT")));
}

TEST_F(TypedColumnsTest, AddingAPropertyAddsAColumnAndKeepsTheRows) {
  PlanColumns small;
  small.properties = {{"amount", ValueType::kFloat}};
  ASSERT_TRUE(wh_->apply_plan_columns(small).is_ok());
  load({track(1, {number("amount", 5), text("currency", "USD")})});
  ASSERT_TRUE(wh_->apply_plan_columns(columns()).is_ok());
  load({track(2, {number("amount", 7), text("currency", "EUR")})});
  EXPECT_EQ(one("SELECT sum(p_amount) FROM events"), Value(12.0));
  // The row loaded before the column existed has NULL; the new one has its value.
  EXPECT_EQ(one("SELECT count(*) FROM events WHERE p_currency IS NULL"), Value(int64_t{1}));
  EXPECT_EQ(one("SELECT p_currency FROM events WHERE event_id = 'e2'"), Value(std::string("EUR")));
}

TEST_F(TypedColumnsTest, AColumnOfAnotherTypeIsReportedAndNotFilled) {
  ASSERT_TRUE(wh_->query("ALTER TABLE events ADD COLUMN p_amount VARCHAR", {}).is_ok());
  auto messages = wh_->apply_plan_columns(columns());
  ASSERT_TRUE(messages.is_ok());
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_NE((*messages)[0].find("events.p_amount is VARCHAR but the tracking plan says DOUBLE"),
            std::string::npos)
      << (*messages)[0];
  load({track(1, {number("amount", 5), text("currency", "USD")})});
  EXPECT_EQ(one("SELECT count(p_amount) FROM events"), Value(int64_t{0}));
  EXPECT_EQ(one("SELECT p_currency FROM events"), Value(std::string("USD")));
}

TEST_F(TypedColumnsTest, IdentifyAppliesEachMergeRuleByEventTime) {
  ASSERT_TRUE(wh_->apply_plan_columns(columns()).is_ok());
  TypedField badge = f("badges", ValueType::kStringList);
  badge.list = {"first"};
  load({identify(1, "u1", kT0 + 100,
                 {text("name", "Ann"), text("channel", "ads"), integer("coins", 10),
                  integer("level", 3), number("best_time", 50), badge, text("promo", "X")})});
  TypedField badge2 = f("badges", ValueType::kStringList);
  badge2.list = {"second"};
  TypedField vip = f("vip", ValueType::kBool);
  vip.int_value = 1;
  // A later batch, with an update that happened *before* the first one (a late arrival) and
  // one after it.
  load({identify(2, "u1", kT0 + 50,
                 {text("name", "Old"), text("channel", "organic"), integer("coins", 5),
                  integer("level", 9), number("best_time", 70)}),
        identify(3, "u1", kT0 + 200, {integer("level", 4), badge2, vip, text("promo", "Y")})});
  EXPECT_EQ(one("SELECT a_name FROM users"), Value(std::string("Ann")));         // set: newest wins
  EXPECT_EQ(one("SELECT a_channel FROM users"), Value(std::string("organic")));  // set_once: oldest
  EXPECT_EQ(one("SELECT a_coins FROM users"), Value(int64_t{15}));               // increment
  EXPECT_EQ(one("SELECT a_level FROM users"), Value(int64_t{9}));                // max
  EXPECT_EQ(one("SELECT a_best_time FROM users"), Value(50.0));                  // min
  EXPECT_EQ(one("SELECT array_to_string(a_badges, ',') FROM users"),
            Value(std::string("first,second")));  // append
  EXPECT_EQ(one("SELECT a_vip FROM users"), Value(true));
  EXPECT_EQ(one("SELECT a_promo IS NULL FROM users"), Value(true));  // unset by a newer update
  // set with an explicit null clears it, when newest.
  load({identify(4, "u1", kT0 + 300, {f("name", ValueType::kNull)})});
  EXPECT_EQ(one("SELECT a_name IS NULL FROM users"), Value(true));
  EXPECT_EQ(one("SELECT a_coins FROM users"), Value(int64_t{15}));  // untouched attributes stay
  // Events without attributes keep the user's attributes (and update last_seen).
  event::Event later = track(5, {});
  later.timestamp_us = kT0 + 1000;
  load({later});
  EXPECT_EQ(one("SELECT a_level FROM users"), Value(int64_t{9}));
  EXPECT_EQ(one("SELECT epoch_us(last_seen) FROM users"), Value(kT0 + 1000));
}

}  // namespace
}  // namespace basalt::warehouse
