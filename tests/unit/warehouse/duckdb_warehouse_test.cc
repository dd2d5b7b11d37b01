#include "warehouse/duckdb/duckdb_warehouse.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "warehouse/warehouse.h"

namespace basalt::warehouse {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1795514400'000000;  // 2026-11-24T10:00:00Z
constexpr int64_t kHourUs = 3600'000000;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> n{0};
    path_ = fs::temp_directory_path() /
            ("basalt_wh_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

event::Event make_event(int i, int64_t ts) {
  event::Event e;
  e.type = event::EventType::kTrack;
  e.event_id = "evt-" + std::to_string(i);
  e.message_id = "msg-" + std::to_string(i);
  e.source = "web";
  e.event = "Clicked";
  e.anonymous_id = "anon-" + std::to_string(i);
  e.timestamp_us = ts;
  e.received_at_us = ts + 5;
  e.properties_json = R"({"n":)" + std::to_string(i) + "}";
  e.context_json = R"({"locale":"en"})";
  return e;
}

// The size of DuckDB's own WAL beside the database file `db`; 0 when there is none.
uintmax_t wal_bytes(const std::string& db) {
  std::error_code ec;
  auto n = fs::file_size(db + ".wal", ec);
  return ec ? uintmax_t{0} : n;
}

class DuckDbWarehouseTest : public ::testing::Test {
 protected:
  void SetUp() override { wh_ = open(false); }

  std::unique_ptr<Warehouse> open(bool read_only) {
    WarehouseOptions o;
    o.path = (dir_.path() / "basalt.duckdb").string();
    o.read_only = read_only;
    auto w = make_warehouse(o);
    EXPECT_TRUE(w.is_ok()) << w.status().to_string();
    return w.is_ok() ? std::move(*w) : nullptr;
  }

  QueryResult q(const std::string& sql, QueryOptions o = {}) {
    auto r = wh_->query(sql, o);
    EXPECT_TRUE(r.is_ok()) << sql << ": " << r.status().to_string();
    return r.is_ok() ? std::move(*r) : QueryResult{};
  }
  Value one(const std::string& sql) {
    auto r = q(sql);
    if (r.rows.size() != 1 || r.rows[0].empty()) {
      ADD_FAILURE() << sql << " returned " << r.rows.size() << " rows";
      return std::monostate{};
    }
    return r.rows[0][0];
  }

  TempDir dir_;
  std::unique_ptr<Warehouse> wh_;
};

TEST_F(DuckDbWarehouseTest, UnknownEngineIsRefused) {
  WarehouseOptions o;
  o.engine = "oracle";
  auto w = make_warehouse(o);
  ASSERT_FALSE(w.is_ok());
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(DuckDbWarehouseTest, SchemaCreationIsIdempotentAndKeepsData) {
  LoadBatch b;
  b.events.push_back(make_event(1, kT0));
  b.next_lsn = 1;
  ASSERT_TRUE(wh_->load(b, "warehouse").is_ok());
  ASSERT_TRUE(wh_->ensure_schema().is_ok());
  ASSERT_TRUE(wh_->ensure_schema().is_ok());
  wh_.reset();
  wh_ = open(false);
  EXPECT_EQ(one("SELECT count(*) FROM events"), Value(int64_t{1}));
  auto cols = q("SELECT table_name FROM information_schema.tables ORDER BY 1");
  std::vector<std::string> names;
  for (auto& r : cols.rows) names.push_back(std::get<std::string>(r[0]));
  EXPECT_EQ(names, (std::vector<std::string>{"basalt_offsets", "events", "quarantine", "quarantine_replays", "users"}));
}

TEST_F(DuckDbWarehouseTest, LoadThenQueryGivesExactValuesWhateverTheTimeZone) {
  event::Event e = make_event(7, kT0 + 123456);
  e.user_id = "u1";
  e.sent_at_us = kT0 + 1;
  e.ip = "10.0.0.1";
  e.user_agent = "Mozilla/5.0";
  e.library_name = "analytics.js";
  e.library_version = "4.1.0";
  e.os_name = "Linux";
  e.app_version = "1.2.3";
  e.properties_json = R"({"price":9.5,"name":"caf\u00e9"})";
  LoadBatch b;
  b.events.push_back(e);
  b.next_lsn = 42;
  ASSERT_TRUE(wh_->load(b, "warehouse").is_ok());

  ASSERT_TRUE(wh_->query("SET TimeZone = 'Asia/Kolkata'", {}).is_ok());
  auto r = q("SELECT event_id, message_id, source, type, event, user_id, anonymous_id, group_id, "
             "previous_id, timestamp, received_at, sent_at, original_timestamp, ip, user_agent, "
             "library_name, library_version, os_name, app_version, properties->>'price', "
             "traits, context, epoch_us(timestamp) FROM events");
  ASSERT_EQ(r.rows.size(), 1u);
  const auto& row = r.rows[0];
  EXPECT_EQ(row[0], Value(std::string("evt-7")));
  EXPECT_EQ(row[1], Value(std::string("msg-7")));
  EXPECT_EQ(row[2], Value(std::string("web")));
  EXPECT_EQ(row[3], Value(std::string("track")));
  EXPECT_EQ(row[4], Value(std::string("Clicked")));
  EXPECT_EQ(row[5], Value(std::string("u1")));
  EXPECT_EQ(row[6], Value(std::string("anon-7")));
  EXPECT_EQ(row[7], Value(std::monostate{}));  // absent ids are NULL
  EXPECT_EQ(row[8], Value(std::monostate{}));
  EXPECT_EQ(row[9], Value(std::string("2026-11-24T10:00:00.123456Z")));
  EXPECT_EQ(row[10], Value(std::string("2026-11-24T10:00:00.123461Z")));
  EXPECT_EQ(row[11], Value(std::string("2026-11-24T10:00:00.000001Z")));
  EXPECT_EQ(row[12], Value(std::monostate{}));
  EXPECT_EQ(row[13], Value(std::string("10.0.0.1")));
  EXPECT_EQ(row[14], Value(std::string("Mozilla/5.0")));
  EXPECT_EQ(row[15], Value(std::string("analytics.js")));
  EXPECT_EQ(row[16], Value(std::string("4.1.0")));
  EXPECT_EQ(row[17], Value(std::string("Linux")));
  EXPECT_EQ(row[18], Value(std::string("1.2.3")));
  EXPECT_EQ(row[19], Value(std::string("9.5")));
  EXPECT_EQ(row[20], Value(std::string("{}")));
  EXPECT_EQ(row[21], Value(std::string(R"({"locale":"en"})")));
  EXPECT_EQ(row[22], Value(int64_t{kT0 + 123456}));
  EXPECT_EQ(r.columns[9].type, "TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ(r.columns[20].type, "JSON");

  auto off = wh_->load_offset("warehouse");
  ASSERT_TRUE(off.is_ok());
  EXPECT_EQ(*off, std::optional<uint64_t>(42));
}

TEST_F(DuckDbWarehouseTest, InvalidUtf8IsRepairedNotFatal) {
  event::Event e = make_event(1, kT0);
  e.user_agent = "bad \xFF byte";
  LoadBatch b;
  b.events.push_back(e);
  event::QuarantinedEvent qe;
  qe.source = "web";
  qe.received_at_us = kT0;
  qe.reason = "invalid JSON";
  qe.raw_json = "{\"a\": \xC3";
  b.quarantined.push_back(qe);
  ASSERT_TRUE(wh_->load(b, "warehouse").is_ok());
  EXPECT_EQ(one("SELECT user_agent FROM events"), Value(std::string("bad \xEF\xBF\xBD byte")));
  EXPECT_EQ(one("SELECT raw FROM quarantine"), Value(std::string("{\"a\": \xEF\xBF\xBD")));
  EXPECT_EQ(one("SELECT reason FROM quarantine"), Value(std::string("invalid JSON")));
}

TEST_F(DuckDbWarehouseTest, UsersMergeTraitsSeenTimesAndAnonymousIds) {
  auto identify = [](int64_t ts, std::string anon, std::string traits) {
    event::Event e = make_event(static_cast<int>(ts % 1000), ts);
    e.type = event::EventType::kIdentify;
    e.event.clear();
    e.user_id = "u1";
    e.anonymous_id = std::move(anon);
    e.traits_json = std::move(traits);
    return e;
  };
  LoadBatch b1;
  // Out of order in the batch: the later timestamp must win whatever the batch order.
  b1.events.push_back(identify(kT0 + 2 * kHourUs, "a2", R"({"plan":"pro","age":30})"));
  b1.events.push_back(identify(kT0 + kHourUs, "a1", R"({"plan":"free","email":"x@y.z"})"));
  b1.next_lsn = 2;
  ASSERT_TRUE(wh_->load(b1, "warehouse").is_ok());
  EXPECT_EQ(one("SELECT traits->>'plan' FROM users WHERE user_id = 'u1'"),
            Value(std::string("pro")));
  EXPECT_EQ(one("SELECT traits->>'email' FROM users WHERE user_id = 'u1'"),
            Value(std::string("x@y.z")));

  LoadBatch b2;
  event::Event early = make_event(3, kT0);  // a track, earlier than anything seen
  early.user_id = "u1";
  early.anonymous_id = "a1";
  b2.events.push_back(early);
  b2.events.push_back(identify(kT0 + 3 * kHourUs, "a3", R"({"age":31,"email":null})"));
  event::Event alias = make_event(4, kT0 + 4 * kHourUs);
  alias.type = event::EventType::kAlias;
  alias.user_id = "u1";
  alias.anonymous_id.clear();
  alias.previous_id = "old-id";
  b2.events.push_back(alias);
  b2.next_lsn = 5;
  ASSERT_TRUE(wh_->load(b2, "warehouse").is_ok());

  auto r = q("SELECT anonymous_ids::VARCHAR, traits->>'plan', traits->>'age', "
             "traits->>'email', epoch_us(first_seen), epoch_us(last_seen) FROM users");
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0][0], Value(std::string("[a1, a2, a3, old-id]")));
  EXPECT_EQ(r.rows[0][1], Value(std::string("pro")));
  EXPECT_EQ(r.rows[0][2], Value(std::string("31")));
  EXPECT_EQ(r.rows[0][3], Value(std::monostate{}));  // null deletes the key
  EXPECT_EQ(r.rows[0][4], Value(int64_t{kT0}));
  EXPECT_EQ(r.rows[0][5], Value(int64_t{kT0 + 4 * kHourUs}));
  // Events without a user id make no user row.
  EXPECT_EQ(one("SELECT count(*) FROM users"), Value(int64_t{1}));
}

// Users are rewritten (old rows deleted, merged rows inserted) rather than updated: a user a
// later batch touches without an identify keeps its traits and ids, and every user keeps
// exactly one row however many batches touch it.
TEST_F(DuckDbWarehouseTest, UsersTouchedByManyBatchesKeepOneMergedRow) {
  constexpr int kUsers = 300;
  for (int k = 0; k < 4; ++k) {
    LoadBatch b;
    for (int u = 0; u < kUsers; ++u) {
      event::Event e = make_event(k * kUsers + u, kT0 + k * kHourUs + u);
      e.user_id = "u" + std::to_string(u);
      e.anonymous_id = "a" + std::to_string(u % 7 == 0 ? k : 0);
      if (k == 0) {
        e.type = event::EventType::kIdentify;
        e.event.clear();
        e.traits_json = R"({"plan":"free","n":)" + std::to_string(u) + "}";
      } else if (k == 2 && u % 2 == 0) {
        e.type = event::EventType::kIdentify;
        e.event.clear();
        e.traits_json = R"({"plan":"pro"})";
      }
      b.events.push_back(e);
      b.events.push_back(e);  // the same user twice in a batch
    }
    b.next_lsn = static_cast<uint64_t>(k + 1);
    ASSERT_TRUE(wh_->load(b, "warehouse").is_ok());
  }
  EXPECT_EQ(one("SELECT count(*) FROM users"), Value(int64_t{kUsers}));
  EXPECT_EQ(one("SELECT count(DISTINCT user_id) FROM users"), Value(int64_t{kUsers}));
  auto r = q("SELECT user_id, traits->>'plan', traits->>'n', anonymous_ids::VARCHAR, "
             "epoch_us(first_seen), epoch_us(last_seen) FROM users "
             "WHERE user_id IN ('u7', 'u8', 'u9') ORDER BY user_id");
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0][1], Value(std::string("free")));  // u7: identified once only
  EXPECT_EQ(r.rows[0][2], Value(std::string("7")));
  EXPECT_EQ(r.rows[0][3], Value(std::string("[a0, a1, a2, a3]")));
  EXPECT_EQ(r.rows[0][4], Value(int64_t{kT0 + 7}));
  EXPECT_EQ(r.rows[0][5], Value(int64_t{kT0 + 3 * kHourUs + 7}));
  EXPECT_EQ(r.rows[1][1], Value(std::string("pro")));  // u8: the later identify wins per key
  EXPECT_EQ(r.rows[1][2], Value(std::string("8")));
  EXPECT_EQ(r.rows[1][3], Value(std::string("[a0]")));
  EXPECT_EQ(r.rows[2][1], Value(std::string("free")));
  EXPECT_EQ(one("SELECT count(*) FROM users WHERE traits->>'plan' = 'pro'"),
            Value(int64_t{kUsers / 2}));
}

TEST_F(DuckDbWarehouseTest, FailedLoadRollsBackEverythingIncludingTheOffset) {
  LoadBatch ok;
  ok.events.push_back(make_event(1, kT0));
  ok.next_lsn = 10;
  ASSERT_TRUE(wh_->load(ok, "warehouse").is_ok());
  // A users table that refuses one user id: the load fails at its last-but-one step, after the
  // events and quarantine rows were appended.
  ASSERT_TRUE(wh_->query("DROP TABLE users", {}).is_ok());
  ASSERT_TRUE(wh_->query("CREATE TABLE users (user_id VARCHAR PRIMARY KEY CHECK (user_id <> 'poison'), "
                         "anonymous_ids VARCHAR[], traits JSON, first_seen TIMESTAMPTZ, "
                         "last_seen TIMESTAMPTZ, updated_at TIMESTAMPTZ)",
                         {})
                  .is_ok());

  LoadBatch bad;
  event::Event good = make_event(2, kT0);
  good.user_id = "u2";
  bad.events.push_back(good);
  event::Event poison = make_event(3, kT0);
  poison.user_id = "poison";
  bad.events.push_back(poison);
  bad.quarantined.push_back({"web", kT0, "r", "{}", ""});
  bad.next_lsn = 20;
  Status s = wh_->load(bad, "warehouse");
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("poison"), std::string::npos) << s.to_string();

  EXPECT_EQ(one("SELECT count(*) FROM events"), Value(int64_t{1}));
  EXPECT_EQ(one("SELECT count(*) FROM quarantine"), Value(int64_t{0}));
  EXPECT_EQ(one("SELECT count(*) FROM users"), Value(int64_t{0}));
  auto off = wh_->load_offset("warehouse");
  ASSERT_TRUE(off.is_ok());
  EXPECT_EQ(*off, std::optional<uint64_t>(10));

  // The same batch fails again the same way, and the connection stays usable: without the
  // poison event the retry goes through.
  EXPECT_FALSE(wh_->load(bad, "warehouse").is_ok());
  bad.events.pop_back();
  ASSERT_TRUE(wh_->load(bad, "warehouse").is_ok());
  EXPECT_EQ(one("SELECT count(*) FROM events"), Value(int64_t{2}));
  EXPECT_EQ(one("SELECT count(*) FROM quarantine"), Value(int64_t{1}));
  EXPECT_EQ(*wh_->load_offset("warehouse"), std::optional<uint64_t>(20));
}

TEST_F(DuckDbWarehouseTest, MalformedJsonIsKeptAsAJsonString) {
  event::Event e = make_event(1, kT0);
  e.properties_json = "{not json";
  LoadBatch b;
  b.events.push_back(e);
  ASSERT_TRUE(wh_->load(b, "warehouse").is_ok());
  EXPECT_EQ(one("SELECT properties::VARCHAR FROM events"), Value(std::string("\"{not json\"")));
  EXPECT_EQ(one("SELECT properties->>'$' FROM events"), Value(std::string("{not json")));
}

TEST_F(DuckDbWarehouseTest, OffsetsArePerConsumer) {
  auto none = wh_->load_offset("warehouse");
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->has_value());
  LoadBatch b;
  b.next_lsn = 5;
  ASSERT_TRUE(wh_->load(b, "a").is_ok());
  b.next_lsn = 7;
  ASSERT_TRUE(wh_->load(b, "b").is_ok());
  b.next_lsn = 9;
  ASSERT_TRUE(wh_->load(b, "a").is_ok());
  EXPECT_EQ(*wh_->load_offset("a"), std::optional<uint64_t>(9));
  EXPECT_EQ(*wh_->load_offset("b"), std::optional<uint64_t>(7));
}

TEST_F(DuckDbWarehouseTest, ForEachMessageIdHonoursSince) {
  LoadBatch b;
  for (int i = 0; i < 3000; ++i) b.events.push_back(make_event(i, kT0 + i * 1000));
  b.next_lsn = 3000;
  ASSERT_TRUE(wh_->load(b, "warehouse").is_ok());
  size_t n = 0;
  int64_t min_at = INT64_MAX;
  ASSERT_TRUE(wh_->for_each_loaded_message(kT0 + 1000 * 1000 + 5,
                                           [&](std::string_view src, std::string_view id,
                                               int64_t at) {
                                             EXPECT_EQ(src, "web");
                                             EXPECT_EQ(id.substr(0, 4), "msg-");
                                             min_at = std::min(min_at, at);
                                             ++n;
                                           })
                  .is_ok());
  EXPECT_EQ(n, 2000u);
  EXPECT_EQ(min_at, kT0 + 1000 * 1000 + 5);
  size_t m = 0;
  ASSERT_TRUE(wh_->for_each_message_id(0, [&](std::string_view, std::string_view) { ++m; })
                  .is_ok());
  EXPECT_EQ(m, 3000u);
}

TEST_F(DuckDbWarehouseTest, QueryConvertsEveryTypeFamily) {
  auto r = q(R"sql(SELECT
      42::TINYINT AS ti, 42::INTEGER AS i, -7::BIGINT AS bi, 18446744073709551615::UBIGINT AS ub,
      12::UBIGINT AS ub_small, 170141183460469231731687303715884105727::HUGEINT AS hi,
      5::HUGEINT AS hi_small, 12.345::DECIMAL(10,3) AS dec, 1.5::FLOAT AS f, 2.25::DOUBLE AS d,
      true AS b, 'text' AS s, '{"a":1}'::JSON AS j,
      TIMESTAMP '2026-11-24 10:00:00.123' AS ts,
      TIMESTAMPTZ '2026-11-24 10:00:00.123+00' AS tstz,
      DATE '2026-11-24' AS dt, NULL::INTEGER AS n,
      [1, 2, 3] AS l, {'k': 'v'} AS st, INTERVAL 3 DAY AS iv,
      '4a5f8d52-3b8e-4c3e-9a0e-4f1f9c1b2d3e'::UUID AS u)sql");
  ASSERT_EQ(r.rows.size(), 1u);
  const auto& v = r.rows[0];
  EXPECT_EQ(v[0], Value(int64_t{42}));
  EXPECT_EQ(v[1], Value(int64_t{42}));
  EXPECT_EQ(v[2], Value(int64_t{-7}));
  EXPECT_EQ(v[3], Value(18446744073709551615.0));
  EXPECT_EQ(v[4], Value(int64_t{12}));
  EXPECT_TRUE(std::holds_alternative<double>(v[5]));
  EXPECT_EQ(v[6], Value(int64_t{5}));
  ASSERT_TRUE(std::holds_alternative<double>(v[7]));
  EXPECT_DOUBLE_EQ(std::get<double>(v[7]), 12.345);
  EXPECT_EQ(v[8], Value(1.5));
  EXPECT_EQ(v[9], Value(2.25));
  EXPECT_EQ(v[10], Value(true));
  EXPECT_EQ(v[11], Value(std::string("text")));
  EXPECT_EQ(v[12], Value(std::string(R"({"a":1})")));
  EXPECT_EQ(v[13], Value(std::string("2026-11-24T10:00:00.123Z")));
  EXPECT_EQ(v[14], Value(std::string("2026-11-24T10:00:00.123Z")));
  EXPECT_EQ(v[15], Value(std::string("2026-11-24")));
  EXPECT_EQ(v[16], Value(std::monostate{}));
  EXPECT_EQ(v[17], Value(std::string("[1, 2, 3]")));
  EXPECT_EQ(v[18], Value(std::string("{'k': v}")));
  EXPECT_EQ(v[19], Value(std::string("3 days")));
  EXPECT_EQ(v[20], Value(std::string("4a5f8d52-3b8e-4c3e-9a0e-4f1f9c1b2d3e")));

  std::vector<std::string> types;
  for (auto& c : r.columns) types.push_back(c.type);
  EXPECT_EQ(types, (std::vector<std::string>{
                       "TINYINT", "INTEGER", "BIGINT", "UBIGINT", "UBIGINT", "HUGEINT",
                       "HUGEINT", "DECIMAL(10,3)", "FLOAT", "DOUBLE", "BOOLEAN", "VARCHAR", "JSON",
                       "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "DATE", "INTEGER", "INTEGER[]",
                       "STRUCT(k VARCHAR)", "INTERVAL", "UUID"}));
  EXPECT_EQ(r.columns[0].name, "ti");
  EXPECT_EQ(r.columns[17].name, "l");
}

TEST_F(DuckDbWarehouseTest, MaxRowsTruncates) {
  auto r = q("SELECT * FROM range(10000)", QueryOptions{.max_rows = 2500});
  EXPECT_EQ(r.rows.size(), 2500u);
  EXPECT_TRUE(r.truncated);
  auto exact = q("SELECT * FROM range(2500)", QueryOptions{.max_rows = 2500});
  EXPECT_EQ(exact.rows.size(), 2500u);
  EXPECT_FALSE(exact.truncated);
  EXPECT_EQ(exact.rows[2499][0], Value(int64_t{2499}));
}

TEST_F(DuckDbWarehouseTest, TimeoutInterruptsALongQueryQuickly) {
  auto start = std::chrono::steady_clock::now();
  auto r = wh_->query("SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range = 7",
                      QueryOptions{.max_rows = 10, .timeout = std::chrono::milliseconds(200)});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().to_string();
  EXPECT_LT(took, std::chrono::seconds(5));
  // The warehouse still answers.
  EXPECT_EQ(one("SELECT 1"), Value(int64_t{1}));
}

TEST_F(DuckDbWarehouseTest, BadSqlGivesTheEnginesMessage) {
  auto r = wh_->query("SELEC 1", {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("syntax error"), std::string::npos)
      << r.status().message();
  auto missing = wh_->query("SELECT * FROM no_such_table", {});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("no_such_table"), std::string::npos);
  auto runtime = wh_->query("SELECT 'abc'::INTEGER", {});
  ASSERT_FALSE(runtime.is_ok());
  EXPECT_EQ(runtime.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(runtime.status().message().find("abc"), std::string::npos);
}

// basalt_funnel_chain (duckdb/funnel_chain.h) on tagged instants us * 32 + tag, step k's tag
// 32 - k: step 1 at 100 µs is 3231; step 2 at 120 µs is 3870, at 200 µs 6430; step 3 at 150 µs
// is 4829, at 300 µs 9629.
TEST_F(DuckDbWarehouseTest, FunnelChainTakesEachStepAsEarlyAsItCan) {
  auto chain = [&](const std::string& args) {
    Value v = one("SELECT CAST(basalt_funnel_chain(" + args + ") AS VARCHAR)");
    return std::holds_alternative<std::string>(v) ? std::get<std::string>(v) : "NULL";
  };
  const std::string list = "[6430, 4829, 9629, 3870]";
  EXPECT_EQ(chain(list + ", 3231, 32031, 3"), "[3231, 3870, 4829]");
  EXPECT_EQ(chain(list + ", 3231, 32031, 2"), "[3231, 3870]");
  EXPECT_EQ(chain(list + ", 3231, 32031, 1"), "[3231]");
  // The deadline (140 µs) ends the chain before step 3; it is inclusive (150 µs, tag 31).
  EXPECT_EQ(chain(list + ", 3231, 4511, 3"), "[3231, 3870]");
  EXPECT_EQ(chain(list + ", 3231, 4831, 3"), "[3231, 3870, 4829]");
  // A step counts only after the one before it: step 3 at 150 µs comes before step 2 at 200.
  EXPECT_EQ(chain("[6430, 4829], 3231, 32031, 3"), "[3231, 6430]");
  // Step 2 in the same microsecond as step 1 (3230) is not after it.
  EXPECT_EQ(chain("[3230], 3231, 32031, 2"), "[3231]");
  // NULLs: no first step, no list, no deadline, NULL elements; and instants before the epoch.
  EXPECT_EQ(chain(list + ", NULL, 32031, 3"), "NULL");
  EXPECT_EQ(chain("NULL, 3231, 32031, 3"), "[3231]");
  EXPECT_EQ(chain(list + ", 3231, NULL, 3"), "[3231]");
  EXPECT_EQ(chain("[NULL, 3870], 3231, 32031, 3"), "[3231, 3870]");
  EXPECT_EQ(chain("[-1570], -3169, 0, 2"), "[-3169, -1570]");
  auto bad = wh_->query("SELECT basalt_funnel_chain([1], 31, 63, 0)", {});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("steps must be 1 to 31"), std::string::npos)
      << bad.status().message();
  // Many rows (several vectors of output): each row's own chain.
  EXPECT_EQ(one("SELECT sum(c[2]) - sum(i * 32 + 30) FROM (SELECT i, basalt_funnel_chain("
                "[i * 32 + 30, i * 32 + 62], i * 32 + 31 - 32, i * 32 + 3231, 2) AS c "
                "FROM range(5000) AS r(i)) WHERE len(c) = 2"),
            Value(int64_t{0}));
  EXPECT_EQ(one("SELECT count(*) FROM (SELECT basalt_funnel_chain([i * 32 + 30], i * 32 + 31, "
                "i * 32 + 3231, 2) AS c FROM range(5000) AS r(i)) WHERE len(c) = 1"),
            Value(int64_t{5000}));
}

TEST_F(DuckDbWarehouseTest, ReadOnlyModeQueriesButRefusesLoads) {
  LoadBatch b;
  b.events.push_back(make_event(1, kT0));
  b.next_lsn = 1;
  ASSERT_TRUE(wh_->load(b, "warehouse").is_ok());
  wh_.reset();  // DuckDB allows one writer process; the read-only open comes after it.
  wh_ = open(true);
  ASSERT_NE(wh_, nullptr);
  EXPECT_EQ(one("SELECT count(*) FROM events"), Value(int64_t{1}));
  Status s = wh_->load(b, "warehouse");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  auto w = wh_->query("INSERT INTO events (event_id) VALUES ('x')", {});
  EXPECT_FALSE(w.is_ok());
}

// The memory bound and the checkpoint threshold reach DuckDB: the settings read back, and a
// commit whose WAL passes the threshold is checkpointed into the file at once.
TEST_F(DuckDbWarehouseTest, MemoryLimitAndCheckpointThresholdApply) {
  wh_.reset();
  LoadBatch b;
  for (int i = 0; i < 20000; ++i) b.events.push_back(make_event(i, kT0 + i));
  b.next_lsn = 20000;
  for (uint64_t threshold : {uint64_t{1} << 20, uint64_t{256} << 20}) {
    WarehouseOptions o;
    o.path = (dir_.path() / ("t" + std::to_string(threshold) + ".duckdb")).string();
    o.memory_limit_bytes = 300ull << 20;
    o.checkpoint_threshold_bytes = threshold;
    auto w = make_warehouse(o);
    ASSERT_TRUE(w.is_ok()) << w.status().to_string();
    wh_ = std::move(*w);
    EXPECT_EQ(one("SELECT current_setting('memory_limit')"), Value(std::string("300.0 MiB")));
    ASSERT_TRUE(wh_->load(b, "warehouse").is_ok());
    EXPECT_EQ(one("SELECT count(*) FROM events"), Value(int64_t{20000}));
    if (threshold == (uint64_t{1} << 20)) {
      EXPECT_LT(wal_bytes(o.path), threshold) << "checkpointed at the commit";
    } else {
      EXPECT_GT(wal_bytes(o.path), uintmax_t{1} << 20) << "logged, not yet checkpointed";
    }
    wh_.reset();
  }
}

// The premise of bulk_events(): an append of more than one row group writes its row groups to
// the database file and logs only where they are, so DuckDB's WAL stays small and no
// checkpoint has to write those rows again; an append of one row group is logged row by row.
TEST_F(DuckDbWarehouseTest, BulkLoadsWriteRowGroupsToTheFileInsteadOfTheWal) {
  wh_.reset();
  WarehouseOptions o;
  o.path = (dir_.path() / "bulk.duckdb").string();
  auto w = make_warehouse(o);
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  wh_ = std::move(*w);
  const size_t bulk = wh_->bulk_events();
  ASSERT_EQ(bulk, 2 * DuckDbWarehouse::kRowGroupRows);
  auto wal_growth = [&](size_t events, uint64_t next_lsn) {
    const uintmax_t before = wal_bytes(o.path);
    LoadBatch b;
    b.events.reserve(events);
    for (size_t i = 0; i < events; ++i) {
      b.events.push_back(make_event(static_cast<int>(next_lsn + i), kT0 + static_cast<int64_t>(i)));
    }
    b.next_lsn = next_lsn + events;
    Status s = wh_->load(b, "warehouse");
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    const uintmax_t after = wal_bytes(o.path);
    return after > before ? after - before : uintmax_t{0};
  };
  const uintmax_t bulk_growth = wal_growth(bulk, 0);
  const uintmax_t row_group_growth = wal_growth(DuckDbWarehouse::kRowGroupRows, bulk);
  EXPECT_EQ(one("SELECT count(*) FROM events"),
            Value(static_cast<int64_t>(bulk + DuckDbWarehouse::kRowGroupRows)));
  EXPECT_LT(bulk_growth, uintmax_t{1} << 20) << "the bulk load's rows went to the WAL";
  EXPECT_GT(row_group_growth, 20 * bulk_growth) << "one row group was not logged row by row";
  EXPECT_EQ(one("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('events')"),
            Value(int64_t{3}))
      << "3 full row groups, none smaller";
}

TEST_F(DuckDbWarehouseTest, ReadOnlyOpenOfAMissingFileFails) {
  WarehouseOptions o;
  o.path = (dir_.path() / "missing.duckdb").string();
  o.read_only = true;
  EXPECT_FALSE(make_warehouse(o).is_ok());
}

TEST_F(DuckDbWarehouseTest, TablesWithExtraColumnsStillLoad) {
  ASSERT_TRUE(wh_->query("ALTER TABLE events ADD COLUMN p_price DOUBLE", {}).is_ok());
  ASSERT_TRUE(wh_->query("ALTER TABLE users ADD COLUMN a_plan VARCHAR", {}).is_ok());
  ASSERT_TRUE(wh_->query("ALTER TABLE quarantine ADD COLUMN note VARCHAR DEFAULT 'n/a'", {}).is_ok());
  LoadBatch b;
  event::Event e = make_event(1, kT0);
  e.user_id = "u1";
  b.events.push_back(e);
  b.quarantined.push_back({"web", kT0, "r", "{}", ""});
  b.next_lsn = 2;
  Status s = wh_->load(b, "warehouse");
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(one("SELECT count(*) FROM events WHERE p_price IS NULL"), Value(int64_t{1}));
  EXPECT_EQ(one("SELECT note FROM quarantine"), Value(std::string("n/a")));
  EXPECT_EQ(one("SELECT count(*) FROM users"), Value(int64_t{1}));
}

TEST_F(DuckDbWarehouseTest, QueriesRunWhileALoadIsInProgress) {
  std::atomic<bool> done{false};
  std::thread loader([&] {
    for (int k = 0; k < 5; ++k) {
      LoadBatch b;
      for (int i = 0; i < 5000; ++i) b.events.push_back(make_event(k * 5000 + i, kT0 + i));
      b.next_lsn = static_cast<uint64_t>((k + 1) * 5000);
      EXPECT_TRUE(wh_->load(b, "warehouse").is_ok());
    }
    done = true;
  });
  int queries = 0;
  while (!done) {
    auto r = wh_->query("SELECT count(*) FROM events", {});
    ASSERT_TRUE(r.is_ok());
    // Loads are atomic: a reader only ever sees whole batches.
    EXPECT_EQ(std::get<int64_t>(r->rows[0][0]) % 5000, 0);
    ++queries;
  }
  loader.join();
  EXPECT_GT(queries, 0);
  EXPECT_EQ(one("SELECT count(*) FROM events"), Value(int64_t{25000}));
}

// A typical event: ~400 bytes of properties and context JSON. Run with
//   warehouse_test --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'
TEST_F(DuckDbWarehouseTest, DISABLED_LoadThroughput) {
  constexpr int kBatches = 6;
  constexpr int kPerBatch = 50000;
  std::vector<LoadBatch> batches(kBatches);
  int n = 0;
  for (auto& b : batches) {
    for (int i = 0; i < kPerBatch; ++i, ++n) {
      event::Event e;
      e.type = n % 20 == 0 ? event::EventType::kIdentify : event::EventType::kTrack;
      e.event_id = "0b8f3c6e-5d1a-4e7b-9c2d-" + std::to_string(100000000000 + n);
      e.message_id = "ajs-next-" + std::to_string(n) + "-1f3a9c2e7b";
      e.source = "web";
      e.event = e.type == event::EventType::kTrack ? "Product Viewed" : "";
      e.user_id = n % 3 == 0 ? "user-" + std::to_string(n % 20000) : "";
      e.anonymous_id = "anon-" + std::to_string(n % 50000);
      e.timestamp_us = kT0 + n * 1000;
      e.received_at_us = e.timestamp_us + 20000;
      e.sent_at_us = e.timestamp_us + 10000;
      e.ip = "203.0.113.7";
      e.user_agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36";
      e.library_name = "analytics.js";
      e.library_version = "5.2.0";
      e.os_name = "Linux";
      e.app_version = "3.14.1";
      e.properties_json = R"({"product_id":")" + std::to_string(n % 977) +
                          R"(","sku":"G-32","category":"Games","name":"Monopoly: 3rd Edition","price":18.99,"quantity":1,"coupon":"MAYDEALS","currency":"usd","position":3,"value":18.99,"url":"https://www.example.com/product/path"})";
      e.context_json = R"({"locale":"en-US","page":{"path":"/academy/","referrer":"","title":"Analytics Academy"},"screen":{"width":1920,"height":1080},"timezone":"Europe/Amsterdam"})";
      if (e.type == event::EventType::kIdentify) e.traits_json = R"({"plan":"pro","logins":)" + std::to_string(n) + "}";
      b.events.push_back(std::move(e));
    }
  }
  size_t json_bytes = batches[0].events[1].properties_json.size() + batches[0].events[1].context_json.size();
  auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < kBatches; ++k) {
    batches[k].next_lsn = static_cast<uint64_t>((k + 1) * kPerBatch);
    Status s = wh_->load(batches[k], "warehouse");
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("loaded %d events (%zu B of JSON each) in %.2f s: %.0f events/s\n", n, json_bytes,
              secs, n / secs);
  EXPECT_EQ(one("SELECT count(*) FROM events"), Value(int64_t{n}));
}

}  // namespace
}  // namespace basalt::warehouse

namespace basalt::warehouse {
namespace {

TEST(DuckDbParameters, ValuesAreBoundNeverSpliced) {
  auto w = make_warehouse(WarehouseOptions{});
  ASSERT_TRUE(w) << w.status().message();
  auto r = (*w)->query("SELECT $1 AS s, $2 + 1 AS i, $3 * 2 AS d, $4 AS b, $5 IS NULL AS n, $1 || '!' AS again",
                       {Value(std::string("x'); DROP TABLE events; --")), Value(int64_t{41}),
                        Value(1.25), Value(true), Value()},
                       QueryOptions{});
  ASSERT_TRUE(r) << r.status().message();
  ASSERT_EQ(r->rows.size(), 1u);
  for (size_t i = 0; i < r->columns.size(); ++i) {
    SCOPED_TRACE(r->columns[i].name + " " + r->columns[i].type + " " + std::to_string(r->rows[0][i].index()));
  }
  ASSERT_EQ(r->rows[0][1].index(), 2u) << r->columns[1].type;
  ASSERT_EQ(r->rows[0][2].index(), 3u) << r->columns[2].type;
  ASSERT_EQ(r->rows[0][0].index(), 4u) << r->columns[0].type;
  ASSERT_EQ(r->rows[0][3].index(), 1u) << r->columns[3].type;
  ASSERT_EQ(r->rows[0][4].index(), 1u) << r->columns[4].type;
  ASSERT_EQ(r->rows[0][5].index(), 4u) << r->columns[5].type;
  EXPECT_EQ(std::get<std::string>(r->rows[0][0]), "x'); DROP TABLE events; --");
  EXPECT_EQ(std::get<int64_t>(r->rows[0][1]), 42);
  EXPECT_EQ(std::get<double>(r->rows[0][2]), 2.5);
  EXPECT_EQ(std::get<bool>(r->rows[0][3]), true);
  EXPECT_EQ(std::get<bool>(r->rows[0][4]), true);
  EXPECT_EQ(std::get<std::string>(r->rows[0][5]), "x'); DROP TABLE events; --!");
  auto count = (*w)->query("SELECT count(*) FROM events", QueryOptions{});
  EXPECT_TRUE(count) << "the events table is still there";

  auto wrong = (*w)->query("SELECT $1, $2", {Value(int64_t{1})}, QueryOptions{});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("2 parameters but 1 values"), std::string::npos);
  // A parameterised query whose result needs the VARCHAR wrap (a list column) still binds.
  auto listed = (*w)->query("SELECT [CAST($1 AS VARCHAR), $1] AS l", {Value(std::string("a"))}, QueryOptions{});
  ASSERT_TRUE(listed) << listed.status().message();
  ASSERT_EQ(listed->rows[0][0].index(), 4u) << listed->columns[0].type;
  EXPECT_EQ(std::get<std::string>(listed->rows[0][0]), "[a, a]");
}

}  // namespace
}  // namespace basalt::warehouse
