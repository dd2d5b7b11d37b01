#include "stream/kafka_sink.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <vector>

namespace basalt::stream {

namespace {

struct KafkaFree {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct ConfFree {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};

// The outcome of one produced record, written by the delivery report callback (which runs
// inside rd_kafka_poll on the sink's thread).
struct Slot {
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  size_t* outstanding = nullptr;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* slot = static_cast<Slot*>(m->_private);
  if (slot == nullptr) return;
  slot->done = true;
  slot->err = m->err;
  --*slot->outstanding;
}

void on_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (level <= 3) {
    spdlog::warn("kafka: {}: {}", fac, buf);
  } else {
    spdlog::debug("kafka: {}: {}", fac, buf);
  }
}

class KafkaSink final : public Sink {
 public:
  explicit KafkaSink(KafkaSinkOptions o) : options_(std::move(o)) {}

  Status open() {
    std::unique_ptr<rd_kafka_conf_t, ConfFree> conf(rd_kafka_conf_new());
    std::map<std::string, std::string> props = {
        {"bootstrap.servers", options_.brokers},
        {"acks", "all"},
        {"enable.idempotence", "true"},
        {"compression.type", options_.compression},
        {"partitioner", "murmur2_random"},
        {"linger.ms", "5"},
        {"message.timeout.ms", std::to_string(options_.delivery_timeout.count())},
    };
    for (const auto& [k, v] : options_.properties) props[k] = v;
    char err[512];
    for (const auto& [k, v] : props) {
      if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof err) !=
          RD_KAFKA_CONF_OK) {
        return invalid_argument("kafka property " + k + ": " + err);
      }
    }
    rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
    rd_kafka_conf_set_log_cb(conf.get(), on_log);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
    if (rk == nullptr) return invalid_argument(std::string("kafka producer: ") + err);
    conf.release();  // owned by rk now
    rk_.reset(rk);
    return Status::ok();
  }

  std::string description() const override {
    return "kafka " + options_.brokers + " topic " + options_.topic + " (" + options_.compression +
           ", acks=all, idempotent)";
  }

  DeliveryReport deliver(std::span<const SinkRecord> records) override {
    DeliveryReport report;
    if (!rk_) {
      report.status = open();
      if (!report.status.is_ok()) return report;
    }
    std::vector<Slot> slots(records.size());
    size_t outstanding = 0;
    size_t produced = 0;
    Status produce_error;
    for (size_t i = 0; i < records.size(); ++i) {
      const SinkRecord& r = records[i];
      std::string topic = kafka_topic_name(options_.topic, r.source);
      slots[i].outstanding = &outstanding;
      while (true) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(r.json.data()), r.json.size()),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&slots[i]), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(rk_.get(), 50);
          continue;
        }
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
          produce_error = unavailable("kafka produce to " + topic + ": " + rd_kafka_err2str(e));
        } else {
          ++outstanding;
          ++produced;
        }
        break;
      }
      if (!produce_error.is_ok()) break;
    }
    // librdkafka reports every produced record within message.timeout.ms: wait for all of
    // them, since `slots` must outlive their callbacks.
    while (outstanding > 0) rd_kafka_poll(rk_.get(), 100);
    for (size_t i = 0; i < produced; ++i) {
      if (slots[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        report.status =
            unavailable("kafka delivery to " + kafka_topic_name(options_.topic, records[i].source) +
                        " failed: " + rd_kafka_err2str(slots[i].err));
        break;
      }
      ++report.acknowledged;
    }
    if (report.status.is_ok() && !produce_error.is_ok()) report.status = produce_error;
    char fatal[512];
    if (rd_kafka_resp_err_t f = rd_kafka_fatal_error(rk_.get(), fatal, sizeof fatal); f) {
      // The idempotent producer cannot go on (e.g. a sequence gap): a new one starts afresh.
      spdlog::error("kafka producer fatal error, recreating it: {}", fatal);
      rk_.reset();
      if (report.status.is_ok()) report.status = unavailable(std::string("kafka: ") + fatal);
    }
    return report;
  }

 private:
  const KafkaSinkOptions options_;
  std::unique_ptr<rd_kafka_t, KafkaFree> rk_;
};

}  // namespace

std::string kafka_topic_name(const std::string& topic, const std::string& source) {
  constexpr std::string_view kPlaceholder = "{source}";
  size_t at = topic.find(kPlaceholder);
  if (at == std::string::npos) return topic;
  std::string name = topic;
  name.replace(at, kPlaceholder.size(), source);
  return name;
}

Result<std::unique_ptr<Sink>> make_kafka_sink(KafkaSinkOptions options) {
  auto sink = std::make_unique<KafkaSink>(std::move(options));
  BASALT_RETURN_IF_ERROR(sink->open());
  return std::unique_ptr<Sink>(std::move(sink));
}

}  // namespace basalt::stream
