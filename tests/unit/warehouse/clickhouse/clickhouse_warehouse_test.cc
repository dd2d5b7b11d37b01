#include "warehouse/clickhouse/clickhouse_warehouse.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "loader/loader.h"
#include "support/clickhouse_server.h"
#include "support/memory_wal.h"
#include "warehouse/warehouse.h"

namespace basalt::warehouse::clickhouse {
namespace {

using basalt::testing::ClickHouseServer;

// One server for the whole binary (it takes seconds to start); each test its own database.
class ClickHouseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new ClickHouseServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  std::unique_ptr<ClickHouseWarehouse> open(const std::string& cluster = "") {
    ClickHouseOptions o;
    o.url = server_->url();
    o.database =
        std::string("t_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    o.cluster = cluster;
    auto w = ClickHouseWarehouse::open(o);
    EXPECT_TRUE(w.is_ok()) << w.status().to_string();
    return w ? std::move(*w) : nullptr;
  }
  static int64_t count(ClickHouseWarehouse& w, const std::string& sql) {
    auto r = w.query(sql, {});
    EXPECT_TRUE(r.is_ok()) << sql << ": " << r.status().to_string();
    if (!r || r->rows.empty()) return -1;
    return std::get<int64_t>(r->rows[0][0]);
  }
  static ClickHouseServer* server_;
};
ClickHouseServer* ClickHouseTest::server_ = nullptr;

event::Event make_event(int i, const std::string& user = "") {
  event::Event e;
  e.type = event::EventType::kTrack;
  e.event_id = "e-" + std::to_string(i);
  e.message_id = "m-" + std::to_string(i);
  e.source = "app";
  e.event = i % 2 ? "level_up" : "login";
  e.user_id = user.empty() ? "u" + std::to_string(i % 5) : user;
  e.anonymous_id = "a" + std::to_string(i % 5);
  e.timestamp_us = 1'700'000'000'000'000 + int64_t(i) * 3'600'000'000;  // an hour apart
  e.received_at_us = e.timestamp_us + 1;
  e.properties_json = R"({"level":)" + std::to_string(i) + R"(,"name":"it's \"quoted\""})";
  return e;
}

LoadBatch batch_of(int from, int to, uint64_t next_lsn) {
  LoadBatch b;
  for (int i = from; i < to; ++i) b.events.push_back(make_event(i));
  b.next_lsn = next_lsn;
  return b;
}

TEST_F(ClickHouseTest, DetectsTheVersionAndCreatesTablesIdempotently) {
  auto w = open();
  ASSERT_TRUE(w);
  EXPECT_GE(w->version().major, 18);
  ASSERT_TRUE(w->ensure_schema().is_ok());
  ASSERT_TRUE(w->ensure_schema().is_ok()) << "a second run keeps what exists";
  auto r = w->query(
      "SELECT name, engine, partition_key, sorting_key FROM system.tables WHERE database = "
      "currentDatabase() ORDER BY name",
      {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  std::map<std::string, std::string> engines;
  for (const auto& row : r->rows)
    engines[std::get<std::string>(row[0])] = std::get<std::string>(row[1]);
  EXPECT_EQ(engines["events"], "MergeTree");
  EXPECT_EQ(engines["users"], "ReplacingMergeTree");
  EXPECT_EQ(engines["quarantine"], "MergeTree");
  EXPECT_EQ(engines["basalt_offsets"], "MergeTree");
}

TEST_F(ClickHouseTest, LoadsEventsQuarantineAndUsersAndKeepsTheOffset) {
  auto w = open();
  ASSERT_TRUE(w && w->ensure_schema().is_ok());
  auto none = w->load_offset("warehouse");
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->has_value());

  LoadBatch b = batch_of(0, 100, 100);
  event::Event id1 = make_event(100, "ann");
  id1.type = event::EventType::kIdentify;
  id1.traits_json = R"({"plan":"free","city":"Oslo"})";
  event::Event id2 = make_event(101, "ann");
  id2.type = event::EventType::kIdentify;
  id2.anonymous_id = "ann-phone";
  id2.traits_json = R"({"plan":"pro","city":null})";
  b.events.push_back(id2);  // batch order is not timestamp order: id1 is older
  b.events.push_back(id1);
  event::QuarantinedEvent q;
  q.source = "app";
  q.received_at_us = 1'700'000'000'000'000;
  q.reason = "not JSON";
  q.raw_json = "{oops\t'\\";
  b.quarantined.push_back(q);
  b.next_lsn = 103;
  ASSERT_TRUE(w->load(b, "warehouse").is_ok());
  EXPECT_EQ(count(*w, "SELECT count() FROM events"), 102);
  EXPECT_EQ(count(*w, "SELECT count() FROM events WHERE event = 'level_up'"), 51);
  EXPECT_EQ(count(*w, "SELECT count() FROM quarantine WHERE raw = '{oops\\t\\'\\\\'"), 1);
  EXPECT_EQ(count(*w, "SELECT uniqExact(toDate(timestamp)) FROM events"), 6)
      << "hours 0 to 101 from 2023-11-14 22:13 UTC span six days";
  EXPECT_EQ(count(*w,
                  "SELECT count() FROM system.parts WHERE database = currentDatabase() "
                  "AND table = 'events' AND active"),
            6)
      << "a partition per day";
  EXPECT_EQ(count(*w,
                  "SELECT count() FROM events WHERE visitParamExtractString(properties, "
                  "'name') = 'it\\'s \"quoted\"'"),
            102);
  auto u = w->query("SELECT traits, anonymous_ids FROM users FINAL WHERE user_id = 'ann'", {});
  ASSERT_TRUE(u.is_ok()) << u.status().to_string();
  ASSERT_EQ(u->rows.size(), 1u);
  EXPECT_EQ(std::get<std::string>(u->rows[0][0]), R"({"plan":"pro"})");
  EXPECT_EQ(std::get<std::string>(u->rows[0][1]), R"(["a0","ann-phone"])");

  // A later batch merges into the stored user row.
  LoadBatch b2;
  event::Event id3 = make_event(200, "ann");
  id3.type = event::EventType::kIdentify;
  id3.traits_json = R"({"team":"red"})";
  b2.events.push_back(id3);
  b2.next_lsn = 104;
  ASSERT_TRUE(w->load(b2, "warehouse").is_ok());
  u = w->query("SELECT traits FROM users FINAL WHERE user_id = 'ann'", {});
  ASSERT_TRUE(u.is_ok());
  ASSERT_EQ(u->rows.size(), 1u);
  EXPECT_EQ(std::get<std::string>(u->rows[0][0]), R"({"plan":"pro","team":"red"})");
  EXPECT_EQ(count(*w, "SELECT count() FROM users FINAL"), 6);

  // A new process reads the offset back.
  auto w2 = open();
  auto offset = w2->load_offset("warehouse");
  ASSERT_TRUE(offset.is_ok());
  EXPECT_EQ(offset->value_or(0), 104u);
  std::set<std::string> ids;
  ASSERT_TRUE(
      w2->for_each_loaded_message(0, [&](std::string_view s, std::string_view m, int64_t at) {
          EXPECT_EQ(s, "app");
          EXPECT_GT(at, 0);
          ids.insert(std::string(m));
        }).is_ok());
  EXPECT_EQ(ids.size(), 103u);
}

TEST_F(ClickHouseTest, ARetriedBatchAfterACrashMidLoadIsNotInsertedTwice) {
  auto w = open();
  ASSERT_TRUE(w && w->ensure_schema().is_ok());
  ASSERT_TRUE(w->load(batch_of(0, 50, 50), "warehouse").is_ok());
  // A crash during the next load: its range is pending and 20 of its 60 rows got in.
  std::string rows;
  for (int i = 50; i < 70; ++i) {
    event::Event e = make_event(i);
    rows +=
        R"({"event_id":")" + e.event_id + R"(","message_id":")" + e.message_id +
        R"(","source":"app","type":"track","event":"login","timestamp":1700000000,)" +
        R"("timestamp_us":)" + std::to_string(e.timestamp_us) +
        R"(,"received_at":1700000000,"received_at_us":1,"_loader":"warehouse","_batch_end":110})" +
        "\n";
  }
  ASSERT_TRUE(
      w->execute(
           "INSERT INTO basalt_offsets FORMAT JSONEachRow",
           R"({"consumer":"warehouse","first_lsn":50,"next_lsn":110,"state":"pending","updated_at":0})"
           "\n")
          .is_ok());
  ASSERT_TRUE(w->execute("INSERT INTO events FORMAT JSONEachRow", rows).is_ok());

  // The restarted loader: offset 50, so it reads the same records again (here as one batch
  // with a different end, as a restarted loader may batch differently).
  auto restarted = open();
  auto offset = restarted->load_offset("warehouse");
  ASSERT_TRUE(offset.is_ok());
  EXPECT_EQ(offset->value_or(0), 50u);
  ASSERT_TRUE(restarted->load(batch_of(50, 120, 120), "warehouse").is_ok());
  EXPECT_EQ(count(*restarted, "SELECT count() FROM events"), 120);
  EXPECT_EQ(count(*restarted, "SELECT uniqExact(event_id) FROM events"), 120);
  // Past the check, loads are plain inserts again.
  ASSERT_TRUE(restarted->load(batch_of(120, 130, 130), "warehouse").is_ok());
  EXPECT_EQ(count(*restarted, "SELECT count() FROM events"), 130);
  EXPECT_EQ(restarted->load_offset("warehouse")->value_or(0), 130u);
}

TEST_F(ClickHouseTest, ServerDownFailsTheLoadThenTheRetryStoresItOnce) {
  auto w = open();
  ASSERT_TRUE(w && w->ensure_schema().is_ok());
  ASSERT_TRUE(w->load(batch_of(0, 10, 10), "warehouse").is_ok());
  server_->kill9();
  Status s = w->load(batch_of(10, 20, 20), "warehouse");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.to_string();
  EXPECT_NE(s.message().find(server_->url()), std::string::npos) << s.message();
  server_->restart();
  ASSERT_TRUE(w->load(batch_of(10, 20, 20), "warehouse").is_ok());
  ASSERT_TRUE(w->load(batch_of(10, 20, 20), "other").is_ok()) << "consumers are independent";
  EXPECT_EQ(count(*w, "SELECT count() FROM events WHERE _loader = 'warehouse'"), 20);
}

TEST_F(ClickHouseTest, QueriesReturnTypedValuesAndPreciseErrors) {
  auto w = open();
  ASSERT_TRUE(w && w->ensure_schema().is_ok());
  auto r = w->query("SELECT toUInt8(1) AS a, toInt64(-5) AS b, 1.5 AS c, NULL AS d, 'x' AS e;", {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->columns.size(), 5u);
  EXPECT_EQ(r->columns[1].name, "b");
  EXPECT_EQ(r->columns[1].type, "Int64");
  EXPECT_EQ(std::get<int64_t>(r->rows[0][0]), 1);
  EXPECT_EQ(std::get<int64_t>(r->rows[0][1]), -5);
  EXPECT_DOUBLE_EQ(std::get<double>(r->rows[0][2]), 1.5);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(r->rows[0][3]));
  EXPECT_EQ(std::get<std::string>(r->rows[0][4]), "x");

  QueryOptions few;
  few.max_rows = 10;
  auto many = w->query("SELECT number FROM system.numbers LIMIT 1000", few);
  ASSERT_TRUE(many.is_ok()) << many.status().to_string();
  EXPECT_EQ(many->rows.size(), 10u);
  EXPECT_TRUE(many->truncated);

  auto bound = w->query("SELECT count() FROM numbers(100) WHERE number < ? AND 'x?' = ?",
                        {Value(int64_t(5)), Value(std::string("x?"))}, QueryOptions{});
  ASSERT_TRUE(bound.is_ok()) << bound.status().to_string();
  EXPECT_EQ(std::get<int64_t>(bound->rows[0][0]), 5);
  std::string hostile = "'; DROP TABLE events; --";
  auto safe = w->query("SELECT ? AS v", {Value(hostile)}, QueryOptions{});
  ASSERT_TRUE(safe.is_ok()) << safe.status().to_string();
  EXPECT_EQ(std::get<std::string>(safe->rows[0][0]), hostile);

  auto bad = w->query("SELEC 1", {});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("Syntax error"), std::string::npos);
  auto missing = w->query("SELECT nope FROM events", {});
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);

  QueryOptions quick;
  quick.timeout = std::chrono::seconds(1);
  auto slow = w->query("SELECT count() FROM system.numbers WHERE sipHash64(number) = 7", quick);
  ASSERT_FALSE(slow.is_ok());
  EXPECT_EQ(slow.status().code(), StatusCode::kDeadlineExceeded) << slow.status().to_string();
}

// The warehouse loader (src/loader) on ClickHouse: a restart resumes from the offset stored in
// ClickHouse and loads every WAL record once.
TEST_F(ClickHouseTest, TheLoaderLoadsEachWalRecordOnceAcrossRestarts) {
  auto w = open();
  ASSERT_TRUE(w && w->ensure_schema().is_ok());
  basalt::testing::MemoryWal wal;
  auto append = [&](int from, int to) {
    std::vector<std::string> records;
    for (int i = from; i < to; ++i) {
      std::string r;
      event::encode(make_event(i), r);
      records.push_back(std::move(r));
    }
    ASSERT_TRUE(wal.append_sync(std::move(records)).is_ok());
  };
  loader::LoaderOptions lo;
  lo.batch_events = 70;
  lo.batch_interval = std::chrono::milliseconds(20);
  lo.thread_nice = 0;
  // stop() drains everything: on a machine shared with other test servers a ClickHouse load
  // can take seconds, and this test is about exactly once, not drain speed.
  lo.stop_deadline = std::chrono::seconds(120);
  ManualClock clock(1'700'000'000'000'000);
  append(0, 300);
  {
    MetricsRegistry metrics;
    loader::Loader l(wal, *w, lo, clock, metrics);
    ASSERT_TRUE(l.start().is_ok());
    append(300, 500);
    l.stop();
    EXPECT_EQ(l.stats().position, 500u);
  }
  append(500, 650);
  auto restarted = open();
  MetricsRegistry metrics;
  loader::Loader l(wal, *restarted, lo, clock, metrics);
  ASSERT_TRUE(l.start().is_ok());
  l.stop();
  EXPECT_EQ(count(*restarted, "SELECT count() FROM events"), 650);
  EXPECT_EQ(count(*restarted, "SELECT uniqExact(event_id) FROM events"), 650);
  EXPECT_EQ(restarted->load_offset("warehouse")->value_or(0), 650u);
}

TEST_F(ClickHouseTest, ClusterTablesAreDistributedOverLocalOnes) {
  // ON CLUSTER needs ZooKeeper; the tables it would create are made here directly on the
  // test's one-shard cluster, then the warehouse loads and queries through them.
  auto plain = open();
  ASSERT_TRUE(plain);
  SchemaOptions o;
  o.database = std::string("t_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  o.cluster = "test_cluster";
  o.version = plain->version();
  for (std::string s : schema_statements(o)) {
    s = std::regex_replace(s, std::regex(" ON CLUSTER `test_cluster`"), "");
    auto r = plain->execute(s);
    ASSERT_TRUE(r.is_ok()) << s << ": " << r.status().to_string();
  }
  // The typed columns, as apply_plan_columns would ALTER them on every node.
  for (const char* t : {"events_local", "events"}) {
    std::string s = add_columns_statement(o, t, {{"p_level", "Nullable(Int64)"}});
    s = std::regex_replace(s, std::regex(" ON CLUSTER `test_cluster`"), "");
    ASSERT_TRUE(plain->execute(s).is_ok()) << s;
  }
  for (const char* t : {"users_local", "users"}) {
    std::string s = add_columns_statement(o, t, {{"a_coins", "Nullable(Int64)"}});
    s = std::regex_replace(s, std::regex(" ON CLUSTER `test_cluster`"), "");
    ASSERT_TRUE(plain->execute(s).is_ok()) << s;
  }
  auto w = open("test_cluster");
  PlanColumns columns;
  columns.properties = {{"level", event::ValueType::kInt}};
  columns.attributes = {{"coins", event::ValueType::kInt, schema::MergeRule::kIncrement}};
  auto messages = w->apply_plan_columns(columns);
  ASSERT_TRUE(messages.is_ok()) << messages.status().to_string() << " (no ALTER was needed)";
  EXPECT_TRUE(messages->empty());
  LoadBatch b = batch_of(0, 40, 40);
  for (auto& e : b.events) {
    event::TypedField f;
    f.name = "level";
    f.type = event::ValueType::kInt;
    f.int_value = 2;
    e.typed.push_back(f);
  }
  for (int i = 0; i < 2; ++i) {
    event::Event id = make_event(1000 + i, "ann");
    id.type = event::EventType::kIdentify;
    event::TypedField f;
    f.name = "coins";
    f.type = event::ValueType::kInt;
    f.int_value = 5;
    id.typed.push_back(f);
    b.events.push_back(id);
  }
  b.next_lsn = 42;
  ASSERT_TRUE(w->load(b, "warehouse").is_ok());
  EXPECT_EQ(count(*w, "SELECT count() FROM events"), 42);
  EXPECT_EQ(count(*w, "SELECT count() FROM events_local"), 42);
  EXPECT_EQ(count(*w, "SELECT sum(p_level) FROM events"), 80);
  EXPECT_EQ(count(*w, "SELECT a_coins FROM users FINAL WHERE user_id = 'ann'"), 10);
  EXPECT_EQ(w->load_offset("warehouse")->value_or(0), 42u);
}

}  // namespace
}  // namespace basalt::warehouse::clickhouse
