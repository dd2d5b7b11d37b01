#include "stream/kafka_sink.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <set>
#include <thread>

#include "stream/sink_runner.h"
#include "stream/stream_record.h"
#include "stream_test_support.h"
#include "support/mock_kafka.h"

namespace basalt::stream {
namespace {

using namespace std::chrono_literals;
using basalt::testing::MockKafka;
using basalt::testing::wait_until;

struct Consumed {
  std::vector<std::string> ids;                        // arrival order over partitions
  std::map<std::string, std::vector<int>> seq_by_key;  // per key, in partition order
  std::map<std::string, std::set<int32_t>> partitions_of_key;
};

// Reads `topic` from the beginning until `want` records arrived (or 30 s passed).
Consumed consume(const std::string& bootstraps, const std::string& topic, size_t want) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", ("check-" + topic).c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  Consumed out;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (out.ids.size() < want && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::string key(static_cast<const char*>(m->key), m->key_len);
      auto e = parse_stream_record(std::string_view(static_cast<const char*>(m->payload), m->len));
      EXPECT_TRUE(e.is_ok());
      if (e) {
        EXPECT_EQ(key, e->user_id);
        out.ids.push_back(e->message_id);
        out.seq_by_key[key].push_back(std::stoi(e->message_id.substr(2)));
        out.partitions_of_key[key].insert(m->partition);
      }
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

SinkRunnerOptions fast_options() {
  SinkRunnerOptions o;
  o.name = "kafka";
  o.batch_events = 200;
  o.poll_wait = 20ms;
  o.retry_initial = 20ms;
  o.retry_max = 500ms;
  return o;
}

void expect_complete_and_ordered_per_key(const Consumed& c, int total) {
  std::set<std::string> unique(c.ids.begin(), c.ids.end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(total));
  for (int i = 0; i < total; ++i) {
    EXPECT_TRUE(unique.contains("m-" + std::to_string(i))) << "missing m-" << i;
  }
  for (const auto& [key, seqs] : c.seq_by_key) {
    EXPECT_EQ(c.partitions_of_key.at(key).size(), 1u) << "one key, one partition: " << key;
    // First occurrences strictly increase: one user's events keep their order.
    int last = -1;
    std::set<int> seen;
    for (int s : seqs) {
      if (!seen.insert(s).second) continue;
      EXPECT_GT(s, last) << "out of order for " << key;
      last = s;
    }
  }
}

TEST(KafkaSink, RefusesABadProperty) {
  KafkaSinkOptions o;
  o.brokers = "127.0.0.1:1";
  o.properties["no.such.property"] = "1";
  auto sink = make_kafka_sink(o);
  ASSERT_FALSE(sink.is_ok());
  EXPECT_NE(sink.status().message().find("no.such.property"), std::string::npos);
  EXPECT_EQ(kafka_topic_name("events.{source}", "web"), "events.web");
}

TEST(KafkaSink, DeliversEveryEventKeyedByUserInOrderPerKey) {
  MockKafka kafka;
  kafka.create_topic("events");
  testing::TestWal w;
  MetricsRegistry metrics;
  KafkaSinkOptions ko;
  ko.brokers = kafka.bootstraps();
  ko.topic = "events";
  ko.compression = "zstd";
  auto sink = make_kafka_sink(ko);
  ASSERT_TRUE(sink.is_ok()) << sink.status().to_string();
  SinkRunner runner(*w.wal, std::move(*sink), fast_options(), SystemClock::instance(), metrics);
  ASSERT_TRUE(runner.start().is_ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(w.append_events(i * 50, i * 50 + 50).is_ok());
  ASSERT_TRUE(wait_until([&] { return runner.stats().position == 1000; }, 30s));
  runner.stop();
  Consumed c = consume(kafka.bootstraps(), "events", 1000);
  EXPECT_EQ(c.ids.size(), 1000u) << "no duplicates without failures";
  expect_complete_and_ordered_per_key(c, 1000);
  EXPECT_EQ(c.seq_by_key.size(), 7u);
}

TEST(KafkaSink, SurvivesBrokerFailuresWithoutLossOrReordering) {
  MockKafka kafka;
  kafka.create_topic("events");
  testing::TestWal w;
  MetricsRegistry metrics;
  KafkaSinkOptions ko;
  ko.brokers = kafka.bootstraps();
  ko.topic = "events";
  ko.compression = "lz4";
  ko.delivery_timeout = 3000ms;
  auto sink = make_kafka_sink(ko);
  ASSERT_TRUE(sink.is_ok()) << sink.status().to_string();
  SinkRunner runner(*w.wal, std::move(*sink), fast_options(), SystemClock::instance(), metrics);
  ASSERT_TRUE(runner.start().is_ok());
  int n = 0;
  auto append = [&](int count) {
    for (int i = 0; i < count; i += 10) {
      ASSERT_TRUE(w.append_events(n, n + 10).is_ok());
      n += 10;
      std::this_thread::sleep_for(2ms);
    }
  };
  append(300);
  // Produce requests fail with retriable errors, then a broker goes down and comes back.
  rd_kafka_mock_push_request_errors(
      kafka.cluster(), 0 /* Produce */, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
      RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
  append(300);
  rd_kafka_mock_broker_set_down(kafka.cluster(), 1);
  append(300);
  std::this_thread::sleep_for(1s);
  rd_kafka_mock_broker_set_up(kafka.cluster(), 1);
  rd_kafka_mock_broker_set_down(kafka.cluster(), 2);
  append(300);
  rd_kafka_mock_broker_set_up(kafka.cluster(), 2);
  append(100);
  ASSERT_TRUE(wait_until([&] { return runner.stats().position == static_cast<wal::Lsn>(n); }, 60s))
      << "position " << runner.stats().position << " of " << n << ": " << runner.stats().last_error;
  runner.stop();
  Consumed c = consume(kafka.bootstraps(), "events", static_cast<size_t>(n));
  expect_complete_and_ordered_per_key(c, n);
}

}  // namespace
}  // namespace basalt::stream
