// Domino's sql tasks on ClickHouse: `engine: clickhouse:<url>` and `engine: warehouse` with a
// ClickHouse warehouse (src/domino/task_types/sql_engine.h).

#include <gtest/gtest.h>

#include <atomic>

#include "domino/task_types/sql_engine.h"
#include "support/clickhouse_server.h"
#include "warehouse/warehouse.h"

namespace basalt::domino {
namespace {

TEST(SqlEngineOnClickHouse, RunsOnAClickHouseUrlAndOnAClickHouseWarehouse) {
  basalt::testing::ClickHouseServer server;
  std::string url =
      "clickhouse://default@127.0.0.1:" + std::to_string(server.http_port()) + "/domino_test";
  EXPECT_TRUE(check_sql_engine("clickhouse:" + url).is_ok());
  EXPECT_FALSE(check_sql_engine("clickhouse:").is_ok());
  EXPECT_FALSE(check_sql_engine("clickhouse:ftp://x").is_ok());

  const std::atomic<bool> kNotCancelled{false};
  auto options = warehouse::clickhouse_options_from_url(url);
  ASSERT_TRUE(options.is_ok()) << options.status().to_string();
  EXPECT_EQ(options->url, server.url());
  EXPECT_EQ(options->database, "domino_test");
  auto w = warehouse::make_warehouse(*options);
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  ASSERT_TRUE((*w)->ensure_schema().is_ok());

  auto created = run_sql("clickhouse:" + url,
                         "CREATE TABLE daily (d Date, n UInt64) ENGINE = MergeTree ORDER BY d",
                         nullptr, ".", kNotCancelled);
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  auto inserted = run_sql("warehouse", "INSERT INTO daily SELECT toDate('2026-01-01'), 42",
                          w->get(), ".", kNotCancelled);
  ASSERT_TRUE(inserted.is_ok()) << inserted.status().to_string();
  auto read = run_sql("clickhouse:" + url, "SELECT sum(n) FROM daily", nullptr, ".", kNotCancelled);
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  EXPECT_EQ(read->first_value, "42");
  auto again = run_sql("warehouse", "SELECT count() FROM daily", w->get(), ".", kNotCancelled);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->first_value, "1");
  auto bad = run_sql("clickhouse:" + url, "SELECT nope FROM daily", nullptr, ".", kNotCancelled);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace basalt::domino
