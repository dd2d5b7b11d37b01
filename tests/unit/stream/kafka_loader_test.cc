#include "stream/kafka_loader.h"

#include <gtest/gtest.h>

#include <thread>

#include "stream/kafka_sink.h"
#include "stream/stream_record.h"
#include "stream_test_support.h"
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

}  // namespace
}  // namespace basalt::stream
