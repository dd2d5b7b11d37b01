#pragma once
// librdkafka's mock cluster for the Kafka tests: three brokers on 127.0.0.1 hosted by the test
// process, with failures injected through the rd_kafka_mock_* API.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>
#include <string>

namespace basalt::testing {

// librdkafka's mock cluster with three brokers, hosted by this test process on 127.0.0.1.
class MockKafka {
 public:
  explicit MockKafka(int partitions = 4) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (handle_ == nullptr) throw std::runtime_error(err);
    cluster_ = rd_kafka_mock_cluster_new(handle_, 3);
    if (cluster_ == nullptr) throw std::runtime_error("no mock cluster");
    partitions_ = partitions;
  }
  ~MockKafka() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void create_topic(const std::string& topic) {
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions_, 3),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  rd_kafka_mock_cluster_t* cluster() { return cluster_; }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  int partitions_ = 4;
};

}  // namespace basalt::testing
