#include "common/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

namespace basalt {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("basalt_config_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(dir_ / "basalt.yaml") << text; }
  // The error loading `text` gives ("" and a failure when it loads).
  std::string error_of(const std::string& text) {
    write(text);
    auto c = load_project_config(dir_);
    EXPECT_FALSE(c.is_ok()) << text;
    return c.is_ok() ? std::string() : c.status().message();
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigTest, ReadsEverySection) {
  write(R"(project: demo
data_dir: /tmp/x
sources:
  - {name: app, write_key: k1}
  - {name: server, write_key: k2}
ingest: {port: 9000, max_body_bytes: 1MB, max_batch_events: 10, trusted_proxies: [10.0.0.1]}
api: {port: 9001, admin_token: secret}
wal: {segment_size: 16MB, group_commit_delay: 200us, sync: false}
loader: {batch_events: 1000, batch_interval: 50ms, dedup_window: 1h}
warehouse: {memory_limit: 512MB, checkpoint_threshold: 64MB}
)");
  auto c = load_project_config(dir_);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->name, "demo");
  ASSERT_EQ(c->sources.size(), 2u);
  EXPECT_EQ(c->sources[1].write_key, "k2");
  EXPECT_EQ(c->ingest.port, 9000);
  EXPECT_EQ(c->ingest.max_body_bytes, 1024u * 1024);
  EXPECT_EQ(c->ingest.trusted_proxies, std::vector<std::string>{"10.0.0.1"});
  EXPECT_EQ(c->api.admin_token, "secret");
  EXPECT_EQ(c->wal.segment_bytes, 16u << 20);
  EXPECT_EQ(c->wal.group_commit_delay, std::chrono::microseconds(200));
  EXPECT_FALSE(c->wal.sync);
  EXPECT_EQ(c->loader.batch_interval, std::chrono::milliseconds(50));
  EXPECT_EQ(c->loader.dedup_window, std::chrono::hours(1));
  EXPECT_EQ(c->warehouse_path(), std::filesystem::path("/tmp/x/warehouse.duckdb"));
  EXPECT_EQ(c->warehouse.memory_limit_bytes, 512ull << 20);
  EXPECT_EQ(c->warehouse.checkpoint_threshold_bytes, 64ull << 20);

  write("project: demo\n");
  c = load_project_config(dir_);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->warehouse.memory_limit_bytes, 1ull << 30);
  EXPECT_EQ(c->warehouse.checkpoint_threshold_bytes, 256ull << 20);
  std::string e = error_of("warehouse: {memory_limit: 1MB}\n");
  EXPECT_NE(e.find("warehouse.memory_limit must be at least 64MB"), std::string::npos) << e;
  e = error_of("warehouse: {checkpoint_threshold: 0}\n");
  EXPECT_NE(e.find("warehouse.checkpoint_threshold must be at least 1MB"), std::string::npos)
      << e;
}

TEST_F(ConfigTest, ErrorsNameFileAndLine) {
  std::string e = error_of("project: demo\ningest:\n  port: lots\n");
  EXPECT_NE(e.find("basalt.yaml:3: ingest.port must be a whole number"), std::string::npos)
      << e;
  e = error_of("project: demo\nbogus: 1\n");
  EXPECT_NE(e.find("basalt.yaml:2: unknown key 'bogus'"), std::string::npos) << e;
  e = error_of("sources:\n  - {name: a, write_key: k}\n  - {name: b, write_key: k}\n");
  EXPECT_NE(e.find(":3: source 'b' reuses"), std::string::npos);

  write("project: [unclosed\n");
  EXPECT_FALSE(load_project_config(dir_).is_ok());
}

TEST_F(ConfigTest, MissingFileIsNotFound) {
  auto c = load_project_config(dir_ / "nope");
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
}

TEST_F(ConfigTest, EnvironmentOverridesFile) {
  write("api: {admin_token: from-file, port: 1}\n");
  auto c = load_project_config(dir_);
  ASSERT_TRUE(c.is_ok());
  std::map<std::string, std::string> env = {{"BASALT_ADMIN_TOKEN", "from-env"},
                                            {"BASALT_API_PORT", "9999"},
                                            {"BASALT_WAREHOUSE_URL", "duckdb:///srv/w.duckdb"}};
  auto getenv = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  ASSERT_TRUE(apply_environment(*c, getenv).is_ok());
  EXPECT_EQ(c->api.admin_token, "from-env");
  EXPECT_EQ(c->api.port, 9999);
  EXPECT_EQ(c->warehouse_path(), std::filesystem::path("/srv/w.duckdb"));

  env = {{"BASALT_API_PORT", "99999"}};
  EXPECT_FALSE(apply_environment(*c, getenv).is_ok());
  env = {{"BASALT_WAREHOUSE_URL", "mysql://x"}};
  EXPECT_FALSE(apply_environment(*c, getenv).is_ok());
}

TEST_F(ConfigTest, ReadsSinksAndTheClickHouseWarehouse) {
  write(R"(sources:
  - {name: app, write_key: k1}
  - {name: web, write_key: k2}
wal: {disk_budget: 2GB}
warehouse: {engine: clickhouse, url: "http://ch:8123", database: events, user: u,
            password: p, cluster: main}
sinks:
  - {type: redis, url: "redis://cache:6379/1", max_len: 5000, overflow: drop_oldest}
  - name: audit
    type: kafka
    sources: [web]
    brokers: "k1:9092,k2:9092"
    topic: "basalt.{source}"
    compression: zstd
    properties: {security.protocol: SASL_SSL, sasl.mechanism: PLAIN}
)");
  auto c = load_project_config(dir_);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->wal.disk_budget_bytes, 2ull << 30);
  EXPECT_EQ(c->warehouse.engine, "clickhouse");
  EXPECT_EQ(c->warehouse.url, "http://ch:8123");
  EXPECT_EQ(c->warehouse.cluster, "main");
  ASSERT_EQ(c->sinks.size(), 2u);
  EXPECT_EQ(c->sinks[0].name, "redis");
  EXPECT_EQ(c->sinks[0].max_len, 5000u);
  EXPECT_EQ(c->sinks[0].overflow, "drop_oldest");
  EXPECT_EQ(c->sinks[0].stream, "basalt:events:{source}");
  EXPECT_EQ(c->sinks[1].name, "audit");
  EXPECT_EQ(c->sinks[1].sources, std::vector<std::string>{"web"});
  EXPECT_EQ(c->sinks[1].compression, "zstd");
  EXPECT_EQ(c->sinks[1].properties.at("security.protocol"), "SASL_SSL");

  struct Bad {
    const char* sinks;
    const char* message;
  } bad[] = {
      {"sinks: [{type: mqtt}]", "type 'mqtt' is not supported"},
      {"sinks: [{type: redis, url: 'http://x'}]", "needs a url redis://"},
      {"sinks: [{type: kafka, brokers: b, compression: brotli}]", "compression 'brotli'"},
      {"sinks: [{type: kafka, brokers: b, overflow: wait}]", "overflow 'wait'"},
      {"sinks: [{type: kafka, brokers: b, sources: [nope]}]", "unknown source 'nope'"},
      {"sinks: [{type: kafka, brokers: b}, {type: kafka, brokers: c}]", "declared twice"},
      {"sinks: [{type: kafka, brokers: b, properties: [1]}]", "must be a mapping"},
      {"sinks: {type: kafka}", "sinks must be a list"},
      {"warehouse: {engine: clickhouse}", "warehouse.url is required"},
  };
  for (const auto& b : bad) {
    write(std::string("sources: [{name: app, write_key: k}]\n") + b.sinks + "\n");
    auto r = load_project_config(dir_);
    ASSERT_FALSE(r.is_ok()) << b.sinks;
    EXPECT_NE(r.status().message().find(b.message), std::string::npos)
        << b.sinks << " → " << r.status().message();
    EXPECT_NE(r.status().message().find("basalt.yaml:"), std::string::npos);
  }
}

TEST_F(ConfigTest, EnvironmentEnablesSinksAndClickHouse) {
  write("sources: [{name: app, write_key: k}]\nsinks: [{type: redis, url: 'redis://a:1/0'}]\n");
  auto c = load_project_config(dir_);
  ASSERT_TRUE(c.is_ok());
  std::map<std::string, std::string> env = {
      {"BASALT_REDIS_URL", "redis://b:2/3"},
      {"BASALT_KAFKA_BROKERS", "k:9092"},
      {"BASALT_KAFKA_TOPIC", "events"},
      {"BASALT_WAREHOUSE_URL", "clickhouse://bob:s3cret@ch.local:8124/analytics"}};
  auto getenv = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  ASSERT_TRUE(apply_environment(*c, getenv).is_ok());
  ASSERT_EQ(c->sinks.size(), 2u);
  EXPECT_EQ(c->sinks[0].url, "redis://b:2/3") << "the environment replaces the file's sink";
  EXPECT_EQ(c->sinks[1].type, "kafka");
  EXPECT_EQ(c->sinks[1].brokers, "k:9092");
  EXPECT_EQ(c->sinks[1].topic, "events");
  EXPECT_EQ(c->warehouse.engine, "clickhouse");
  EXPECT_EQ(c->warehouse.url, "http://ch.local:8124");
  EXPECT_EQ(c->warehouse.user, "bob");
  EXPECT_EQ(c->warehouse.password, "s3cret");
  EXPECT_EQ(c->warehouse.database, "analytics");

  env = {{"BASALT_WAREHOUSE_URL", "clickhouse://host"}};
  ASSERT_TRUE(apply_environment(*c, getenv).is_ok());
  EXPECT_EQ(c->warehouse.url, "http://host:8123");
  EXPECT_EQ(c->warehouse.database, "basalt");
  EXPECT_EQ(c->warehouse.user, "default");
  env = {{"BASALT_WAREHOUSE_URL", "clickhouse://"}};
  EXPECT_FALSE(apply_environment(*c, getenv).is_ok());
  env = {{"BASALT_REDIS_URL", "http://x"}};
  EXPECT_FALSE(apply_environment(*c, getenv).is_ok());
}

TEST(ParseTest, DurationsAndSizes) {
  EXPECT_EQ(*parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(*parse_duration("24h"), std::chrono::hours(24));
  EXPECT_EQ(*parse_duration("1d"), std::chrono::hours(24));
  EXPECT_FALSE(parse_duration("5 minutes").is_ok());
  EXPECT_FALSE(parse_duration("").is_ok());
  EXPECT_EQ(*parse_size("512KB"), 512u * 1024);
  EXPECT_EQ(*parse_size("100"), 100u);
  EXPECT_FALSE(parse_size("1TB").is_ok());
}

}  // namespace
}  // namespace basalt
