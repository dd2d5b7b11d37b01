#include "stream/kafka_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "stream/kafka_sink.h"
#include "stream/stream_record.h"
#include "stream_test_support.h"
#include "support/clickhouse_server.h"
#include "support/mock_kafka.h"
#include "warehouse/warehouse.h"

namespace basalt::stream {
namespace {

using namespace std::chrono_literals;
using basalt::testing::MockKafka;
using basalt::testing::wait_until;

// Writes events from..to to `topic` the way a collector's sink does.
void produce(const std::string& bootstraps, const std::string& topic, int from, int to) {
  KafkaSinkOptions o;
  o.brokers = bootstraps;
  o.topic = topic;
  auto sink = make_kafka_sink(o);
  ASSERT_TRUE(sink.is_ok()) << sink.status().to_string();
  std::vector<SinkRecord> records;
  for (int i = from; i < to; ++i) {
    event::Event e = testing::make_event(i, "app", /*users=*/50);
    records.push_back({static_cast<wal::Lsn>(i), e.source, e.user_id, stream_record(e)});
  }
  DeliveryReport r = (*sink)->deliver(records);
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  ASSERT_EQ(r.acknowledged, records.size());
}

void produce_raw(const std::string& bootstraps, const std::string& topic,
                 const std::string& value) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps.c_str(), err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(rk, nullptr);
  rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                    RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  rd_kafka_flush(rk, 10000);
  rd_kafka_destroy(rk);
}

class KafkaLoaderTest : public ::testing::Test {
 protected:
  KafkaLoaderTest() : dir_("kafka_loader") {
    warehouse::WarehouseOptions o;
    o.path = (dir_.path() / "w.duckdb").string();
    auto w = warehouse::make_warehouse(o);
    if (!w) throw std::runtime_error(w.status().to_string());
    warehouse_ = std::move(*w);
    if (!warehouse_->ensure_schema().is_ok()) throw std::runtime_error("schema");
  }
  int64_t scalar(const std::string& sql) {
    auto r = warehouse_->query(sql, {});
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    if (!r || r->rows.empty()) return -1;
    return std::get<int64_t>(r->rows[0][0]);
  }
  KafkaLoaderOptions options(const std::string& brokers) {
    KafkaLoaderOptions o;
    o.brokers = brokers;
    o.topics = {"events"};
    o.group = "loaders";
    o.batch_events = 100;
    o.batch_interval = 100ms;
    o.properties["session.timeout.ms"] = "6000";
    o.properties["heartbeat.interval.ms"] = "500";
    return o;
  }
  basalt::testing::ScratchDir dir_;
  std::unique_ptr<warehouse::Warehouse> warehouse_;
};

TEST_F(KafkaLoaderTest, TwoLoadersShareThePartitionsAndLoadEachRecordOnce) {
  MockKafka kafka;
  kafka.create_topic("events");
  produce(kafka.bootstraps(), "events", 0, 500);
  MetricsRegistry m1, m2;
  KafkaLoader a(*warehouse_, options(kafka.bootstraps()), m1);
  KafkaLoader b(*warehouse_, options(kafka.bootstraps()), m2);
  ASSERT_TRUE(a.start().is_ok());
  ASSERT_TRUE(b.start().is_ok());
  produce(kafka.bootstraps(), "events", 500, 1000);
  ASSERT_TRUE(wait_until([&] { return scalar("SELECT count(*) FROM events") >= 1000; }, 60s))
      << scalar("SELECT count(*) FROM events");
  ASSERT_TRUE(wait_until([&] { return a.stats().partitions + b.stats().partitions == 4; }, 30s));
  EXPECT_GT(a.stats().partitions, 0u) << "the group split the partitions";
  EXPECT_GT(b.stats().partitions, 0u);
  a.stop();
  b.stop();
  EXPECT_EQ(scalar("SELECT count(*) FROM events"), 1000);
  EXPECT_EQ(scalar("SELECT count(DISTINCT message_id) FROM events"), 1000);
  EXPECT_EQ(scalar("SELECT count(*) FROM basalt_offsets WHERE consumer LIKE 'kafka:events:%'"), 4);
  EXPECT_EQ(a.stats().events + b.stats().events, 1000u);
}

TEST_F(KafkaLoaderTest, ARestartedLoaderResumesFromTheWarehouseOffsetsAndQuarantinesGarbage) {
  MockKafka kafka;
  kafka.create_topic("events");
  produce(kafka.bootstraps(), "events", 0, 300);
  {
    MetricsRegistry m;
    KafkaLoader a(*warehouse_, options(kafka.bootstraps()), m);
    ASSERT_TRUE(a.start().is_ok());
    ASSERT_TRUE(wait_until([&] { return scalar("SELECT count(*) FROM events") == 300; }, 60s));
  }
  produce(kafka.bootstraps(), "events", 300, 400);
  produce_raw(kafka.bootstraps(), "events", "not a record");
  // A loader of another group: it has no committed offsets, so only the warehouse's offsets
  // keep it from loading the first 300 again.
  MetricsRegistry m;
  KafkaLoaderOptions o = options(kafka.bootstraps());
  o.group = "fresh-group";
  KafkaLoader b(*warehouse_, o, m);
  ASSERT_TRUE(b.start().is_ok());
  ASSERT_TRUE(wait_until([&] { return scalar("SELECT count(*) FROM quarantine") == 1; }, 60s));
  ASSERT_TRUE(wait_until([&] { return scalar("SELECT count(*) FROM events") >= 400; }, 60s));
  b.stop();
  EXPECT_EQ(scalar("SELECT count(*) FROM events"), 400);
  EXPECT_EQ(scalar("SELECT count(*) FROM quarantine WHERE reason LIKE 'undecodable stream "
                   "record at events/%'"),
            1);
}

// ---- Dedup by (source, messageId), on both warehouse engines ----

// Writes `events` to `topic` the way a collector's sink does.
void produce_events(const std::string& bootstraps, const std::string& topic,
                    const std::vector<event::Event>& events) {
  KafkaSinkOptions o;
  o.brokers = bootstraps;
  o.topic = topic;
  auto sink = make_kafka_sink(o);
  ASSERT_TRUE(sink.is_ok()) << sink.status().to_string();
  std::vector<SinkRecord> records;
  for (const auto& e : events) {
    records.push_back(
        {static_cast<wal::Lsn>(records.size()), e.source, e.user_id, stream_record(e)});
  }
  DeliveryReport r = (*sink)->deliver(records);
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  ASSERT_EQ(r.acknowledged, records.size());
}

// Events from..to; with `retry`, the same messageIds sent again (a client's retry that reached
// another collector: a new event id, the same message id).
std::vector<event::Event> events_of(int from, int to, bool retry = false) {
  std::vector<event::Event> out;
  for (int i = from; i < to; ++i) {
    event::Event e = testing::make_event(i, "app", /*users=*/50);
    if (retry) e.event_id = "retry-" + std::to_string(i);
    out.push_back(std::move(e));
  }
  return out;
}

class KafkaDedupTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void TearDownTestSuite() {
    delete clickhouse_;
    clickhouse_ = nullptr;
  }
  KafkaDedupTest() : dir_("kafka_dedup") {}
  void SetUp() override {
    warehouse::WarehouseOptions o;
    if (GetParam() == "clickhouse") {
      if (!clickhouse_) clickhouse_ = new basalt::testing::ClickHouseServer();
      o.engine = "clickhouse";
      o.url = clickhouse_->url();
      static int n = 0;
      o.database = "kafka_dedup_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
    } else {
      o.path = (dir_.path() / "w.duckdb").string();
    }
    auto w = warehouse::make_warehouse(o);
    ASSERT_TRUE(w.is_ok()) << w.status().to_string();
    warehouse_ = std::move(*w);
    ASSERT_TRUE(warehouse_->ensure_schema().is_ok());
  }
  int64_t scalar(const std::string& sql) {
    auto r = warehouse_->query(sql, {});
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    if (!r || r->rows.empty()) return -1;
    return std::get<int64_t>(r->rows[0][0]);
  }
  int64_t stored() { return scalar("SELECT count(*) FROM events"); }
  int64_t distinct_ids() { return scalar("SELECT count(DISTINCT message_id) FROM events"); }
  KafkaLoaderOptions options(const std::string& brokers) {
    KafkaLoaderOptions o;
    o.brokers = brokers;
    o.topics = {"events"};
    o.group = "loaders";
    o.batch_events = 100;
    o.batch_interval = 100ms;
    o.properties["session.timeout.ms"] = "6000";
    o.properties["heartbeat.interval.ms"] = "500";
    o.dedup_window = std::chrono::hours(24);
    o.clock = &clock_;
    return o;
  }
  static basalt::testing::ClickHouseServer* clickhouse_;
  // The events' received_at is 2023-11-14 22:13:20 UTC; the loaders' clock an hour later.
  ManualClock clock_{1'700'000'000'000'000 + 3'600'000'000};
  basalt::testing::ScratchDir dir_;
  std::unique_ptr<warehouse::Warehouse> warehouse_;
};
basalt::testing::ClickHouseServer* KafkaDedupTest::clickhouse_ = nullptr;

TEST_P(KafkaDedupTest, DuplicatesAreDroppedInABatchAcrossLoadersOfAGroupAndAfterARestart) {
  MockKafka kafka;
  kafka.create_topic("events");
  // One loader; within what it reads, the second copy of each of 0..50 is dropped.
  std::vector<event::Event> first = events_of(0, 200);
  std::vector<event::Event> again = events_of(0, 50, /*retry=*/true);
  first.insert(first.end(), again.begin(), again.end());
  produce_events(kafka.bootstraps(), "events", first);
  {
    MetricsRegistry m;
    KafkaLoader a(*warehouse_, options(kafka.bootstraps()), m);
    ASSERT_TRUE(a.start().is_ok());
    ASSERT_TRUE(wait_until([&] { return a.stats().duplicates == 50 && stored() == 200; }, 60s))
        << a.stats().duplicates << " duplicates, " << stored() << " stored";
    a.stop();
    EXPECT_NE(m.render().find("basalt_kafka_loader_duplicates_total 50"), std::string::npos);
  }

  // Two loaders of the group, started after it: their indexes come from the warehouse.
  produce_events(kafka.bootstraps(), "events", events_of(100, 300, /*retry=*/true));
  MetricsRegistry m1, m2;
  KafkaLoader b(*warehouse_, options(kafka.bootstraps()), m1);
  auto c = std::make_unique<KafkaLoader>(*warehouse_, options(kafka.bootstraps()), m2);
  ASSERT_TRUE(b.start().is_ok());
  ASSERT_TRUE(c->start().is_ok());
  ASSERT_TRUE(wait_until([&] { return stored() == 300; }, 60s)) << stored();
  ASSERT_TRUE(wait_until([&] { return b.stats().duplicates + c->stats().duplicates == 100; }, 60s));
  ASSERT_TRUE(
      wait_until([&] { return b.stats().partitions > 0 && c->stats().partitions > 0; }, 30s))
      << "the group split the partitions";

  // c leaves: its partitions move to b, which must drop retries of what c stored after b
  // built its index.
  c->stop();
  c.reset();
  ASSERT_TRUE(wait_until([&] { return b.stats().partitions == 4; }, 30s));
  uint64_t before = b.stats().duplicates;
  produce_events(kafka.bootstraps(), "events", events_of(200, 300, /*retry=*/true));
  produce_events(kafka.bootstraps(), "events", events_of(300, 320));
  ASSERT_TRUE(wait_until([&] { return stored() == 320; }, 60s)) << stored();
  ASSERT_TRUE(wait_until([&] { return b.stats().duplicates - before == 100; }, 60s))
      << b.stats().duplicates - before;
  b.stop();
  EXPECT_EQ(stored(), 320);
  EXPECT_EQ(distinct_ids(), 320);
  EXPECT_EQ(scalar("SELECT count(*) FROM events WHERE event_id LIKE 'retry-%'"), 100)
      << "200..300 were first loaded as retries; nothing else is a retry";
}

TEST_P(KafkaDedupTest, AnIdOlderThanTheWindowIsLoadedAgainAndZeroTurnsDedupOff) {
  MockKafka kafka;
  kafka.create_topic("events");
  produce_events(kafka.bootstraps(), "events", events_of(0, 100));
  {
    MetricsRegistry m;
    KafkaLoader a(*warehouse_, options(kafka.bootstraps()), m);
    ASSERT_TRUE(a.start().is_ok());
    ASSERT_TRUE(wait_until([&] { return stored() == 100; }, 60s)) << stored();
  }
  // Two days later the ids have left the window: a retry then is stored.
  clock_.advance_us(48LL * 3'600'000'000);
  produce_events(kafka.bootstraps(), "events", events_of(0, 10, /*retry=*/true));
  {
    MetricsRegistry m;
    KafkaLoader a(*warehouse_, options(kafka.bootstraps()), m);
    ASSERT_TRUE(a.start().is_ok());
    ASSERT_TRUE(wait_until([&] { return stored() == 110; }, 60s)) << stored();
    EXPECT_EQ(a.stats().duplicates, 0u);
  }
  clock_.advance_us(-48LL * 3'600'000'000);
  produce_events(kafka.bootstraps(), "events", events_of(20, 30, /*retry=*/true));
  KafkaLoaderOptions off = options(kafka.bootstraps());
  off.dedup_window = std::chrono::seconds(0);
  MetricsRegistry m;
  KafkaLoader a(*warehouse_, off, m);
  ASSERT_TRUE(a.start().is_ok());
  ASSERT_TRUE(wait_until([&] { return stored() == 120; }, 60s)) << stored();
  a.stop();
  EXPECT_EQ(a.stats().duplicates, 0u);
  EXPECT_EQ(distinct_ids(), 100);
}

// Exactly once by the warehouse's offsets alone (dedup off, so it cannot hide a second load):
// a second loader joins while the first is loading (on ClickHouse several partitions at once),
// the revocation waits for the loads in progress, and every record is stored once.
TEST_P(KafkaDedupTest, ARebalanceWhileLoadingStoresEachRecordOnce) {
  MockKafka kafka;
  kafka.create_topic("events");
  produce_events(kafka.bootstraps(), "events", events_of(0, 3000));
  KafkaLoaderOptions o = options(kafka.bootstraps());
  o.dedup_window = std::chrono::seconds(0);
  MetricsRegistry m1, m2;
  KafkaLoader a(*warehouse_, o, m1);
  ASSERT_TRUE(a.start().is_ok());
  ASSERT_TRUE(wait_until([&] { return a.stats().batches > 0; }, 60s));
  KafkaLoader b(*warehouse_, o, m2);
  ASSERT_TRUE(b.start().is_ok());
  produce_events(kafka.bootstraps(), "events", events_of(3000, 4000));
  ASSERT_TRUE(wait_until([&] { return stored() >= 4000; }, 120s)) << stored();
  ASSERT_TRUE(wait_until([&] { return a.stats().partitions + b.stats().partitions == 4; }, 30s));
  a.stop();
  b.stop();
  EXPECT_EQ(stored(), 4000);
  EXPECT_EQ(distinct_ids(), 4000);
  EXPECT_EQ(a.stats().events + b.stats().events, 4000u);
}

INSTANTIATE_TEST_SUITE_P(Engines, KafkaDedupTest, ::testing::Values("duckdb", "clickhouse"),
                         [](const auto& info) { return info.param; });
}  // namespace
}  // namespace basalt::stream
