#include "warehouse/clickhouse/clickhouse_sql.h"

#include <gtest/gtest.h>

namespace basalt::warehouse::clickhouse {
namespace {

TEST(ClickHouseSql, QuoteStringEscapesEverythingThatCouldEndTheLiteral) {
  EXPECT_EQ(quote_string("plain"), "'plain'");
  EXPECT_EQ(quote_string("it's"), "'it\\'s'");
  EXPECT_EQ(quote_string("back\\slash"), "'back\\\\slash'");
  EXPECT_EQ(quote_string("a\nb\tc\rd"), "'a\\nb\\tc\\rd'");
  EXPECT_EQ(quote_string(std::string("nul\0x", 5)), "'nul\\0x'");
  EXPECT_EQ(quote_string("\x01\x7f"), "'\\x01\\x7F'");
  EXPECT_EQ(quote_string("é"), "'é'") << "UTF-8 passes through";
  EXPECT_EQ(quote_string("' OR 1=1 --"), "'\\' OR 1=1 --'");
  EXPECT_EQ(quote_identifier("events"), "`events`");
  EXPECT_EQ(quote_identifier("we`ird"), "`we\\`ird`");
}

TEST(ClickHouseSql, TsvUnescapeUndoesTheServersEscaping) {
  EXPECT_EQ(unescape_tsv("a\\tb\\nc\\\\d\\'e"), "a\tb\nc\\d'e");
  EXPECT_EQ(unescape_tsv("\\x41\\0"), std::string("A\0", 2));
  EXPECT_EQ(unescape_tsv("trailing\\"), "trailing\\");
  auto f = split_tsv("a\tb\t\tc");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[2], "");
  EXPECT_EQ(f[3], "c");
}

TEST(ClickHouseSql, ParsesServerVersions) {
  auto v = parse_server_version("18.16.1\n");
  ASSERT_TRUE(v.is_ok());
  EXPECT_EQ(v->major, 18);
  EXPECT_EQ(v->minor, 16);
  EXPECT_FALSE(v->low_cardinality());
  auto n = parse_server_version("23.8.2.7");
  ASSERT_TRUE(n.is_ok());
  EXPECT_TRUE(n->low_cardinality());
  EXPECT_TRUE(parse_server_version("21.3").is_ok());
  EXPECT_FALSE(parse_server_version("Code: 516").is_ok());
  EXPECT_FALSE(parse_server_version("").is_ok());
}

TEST(ClickHouseSql, SchemaForOneServerAndForACluster) {
  SchemaOptions o;
  o.database = "basalt";
  o.version = *parse_server_version("18.16.1");
  auto one = schema_statements(o);
  ASSERT_EQ(one.size(), 5u);
  EXPECT_EQ(one[0], "CREATE DATABASE IF NOT EXISTS `basalt`");
  EXPECT_NE(one[1].find("`basalt`.`events` ("), std::string::npos);
  EXPECT_NE(one[1].find("PARTITION BY toDate(timestamp) ORDER BY (event, timestamp"),
            std::string::npos);
  EXPECT_EQ(one[1].find("LowCardinality"), std::string::npos) << "18.16 needs a setting";
  EXPECT_NE(one[2].find("ReplacingMergeTree(updated_at_us) ORDER BY user_id"), std::string::npos);
  for (const auto& s : one) EXPECT_EQ(s.find("ON CLUSTER"), std::string::npos);

  o.cluster = "main";
  o.version = *parse_server_version("23.8.1");
  auto many = schema_statements(o);
  ASSERT_EQ(many.size(), 9u);
  EXPECT_EQ(many[0], "CREATE DATABASE IF NOT EXISTS `basalt` ON CLUSTER `main`");
  EXPECT_NE(many[1].find("`basalt`.`events_local` ON CLUSTER `main` ("), std::string::npos);
  EXPECT_NE(many[1].find("source LowCardinality(String)"), std::string::npos);
  EXPECT_NE(many[2].find("`basalt`.`events` ON CLUSTER `main` AS `basalt`.`events_local` "
                         "ENGINE = Distributed(`main`, `basalt`, `events_local`"),
            std::string::npos)
      << many[2];
}

TEST(ClickHouseSql, TypedColumnsAndTheirAlterStatements) {
  EXPECT_EQ(column_type_of(event::ValueType::kFloat), "Nullable(Float64)");
  EXPECT_EQ(column_type_of(event::ValueType::kBool), "Nullable(UInt8)");
  EXPECT_EQ(column_type_of(event::ValueType::kTimestamp), "Nullable(DateTime)");
  EXPECT_EQ(column_type_of(event::ValueType::kStringList), "Array(String)");
  EXPECT_EQ(column_type_of(event::ValueType::kJson), "Nullable(String)");
  EXPECT_EQ(micros_column_of("p_at"), "p_at_us");
  SchemaOptions o;
  o.database = "basalt";
  EXPECT_EQ(
      add_columns_statement(o, "events", {{"p_a", "Nullable(Int64)"}, {"p_b`", "Array(String)"}}),
      "ALTER TABLE `basalt`.`events` ADD COLUMN `p_a` Nullable(Int64), ADD COLUMN `p_b\\`` "
      "Array(String)");
  EXPECT_EQ(physical_tables(o, "users"), std::vector<std::string>{"users"});
  o.cluster = "main";
  EXPECT_EQ(physical_tables(o, "users"), (std::vector<std::string>{"users_local", "users"}));
  EXPECT_EQ(
      add_columns_statement(o, "users_local", {{"a_x", "Nullable(String)"}}),
      "ALTER TABLE `basalt`.`users_local` ON CLUSTER `main` ADD COLUMN `a_x` Nullable(String)");
  // users carries the per-attribute times and the loads' marks from its first CREATE.
  bool users_seen = false;
  for (const auto& s : schema_statements(o)) {
    if (s.find("`users_local`") == std::string::npos || s.find(" AS ") != std::string::npos)
      continue;
    users_seen = true;
    EXPECT_NE(s.find("attribute_times String, _merged_loads String"), std::string::npos) << s;
  }
  EXPECT_TRUE(users_seen);
}

}  // namespace
}  // namespace basalt::warehouse::clickhouse

namespace basalt::warehouse::clickhouse {
namespace {

TEST(ClickHouseSql, BindsParametersAsLiteralsOutsideQuotesAndComments) {
  auto q = bind_parameters("SELECT ?, ?, ?, ?, ? FROM t WHERE a = '?' AND `b?` = ? -- ?\n",
                           {Value(int64_t(-3)), Value(2.5), Value(true), Value(std::monostate{}),
                            Value(std::string("it's")), Value(std::string("x"))});
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  EXPECT_EQ(*q, "SELECT -3, 2.5, 1, NULL, 'it\\'s' FROM t WHERE a = '?' AND `b?` = 'x' -- ?\n");
  auto d = bind_parameters("SELECT $2, $1, $2 /* $3 */", {Value(int64_t(1)), Value(3.0)});
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_EQ(*d, "SELECT 3.0, 1, 3.0 /* $3 */");
  EXPECT_FALSE(bind_parameters("SELECT ?", {}).is_ok());
  EXPECT_FALSE(bind_parameters("SELECT 1", {Value(int64_t(1))}).is_ok());
  EXPECT_FALSE(bind_parameters("SELECT $2", {Value(int64_t(1))}).is_ok());
  EXPECT_FALSE(bind_parameters("SELECT ?, $1", {Value(int64_t(1))}).is_ok());
  EXPECT_EQ(*bind_parameters("SELECT 'a\\'?' , ?", {Value(int64_t(7))}), "SELECT 'a\\'?' , 7");
}

}  // namespace
}  // namespace basalt::warehouse::clickhouse

namespace basalt::warehouse::clickhouse {
namespace {

// What a newer server gets instead of 18.16's path (no such server here: the requests).
TEST(ClickHouseSql, NewerServersGetServerSideParameters) {
  EXPECT_FALSE(parse_server_version("18.16.1")->query_parameters());
  EXPECT_TRUE(parse_server_version("23.8.2.7")->query_parameters());
  auto q =
      bind_server_parameters("SELECT ?, ?, ?, ?, ? FROM t WHERE a = '?' -- ?\n",
                             {Value(int64_t(-3)), Value(2.5), Value(true), Value(std::monostate{}),
                              Value(std::string("it's a\ttab & \\ more"))});
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  EXPECT_EQ(q->sql,
            "SELECT {p1:Int64}, {p2:Float64}, {p3:UInt8}, {p4:Nullable(String)}, {p5:String} "
            "FROM t WHERE a = '?' -- ?\n");
  EXPECT_EQ(q->settings,
            "&param_p1=-3&param_p2=2.5&param_p3=1&param_p4=%5CN"
            "&param_p5=it%27s%20a%5Cttab%20%26%20%5C%5C%20more");
  auto d = bind_server_parameters("SELECT $2 = $2, $1", {Value(std::string("x")), Value(1.0)});
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->sql, "SELECT {p2:Float64} = {p2:Float64}, {p1:String}");
  EXPECT_EQ(d->settings, "&param_p1=x&param_p2=1.0");
  EXPECT_FALSE(bind_server_parameters("SELECT ?", {}).is_ok()) << "the same checks as the client";
  EXPECT_FALSE(bind_server_parameters("SELECT ?, $1", {Value(int64_t(1))}).is_ok());
}

TEST(ClickHouseSql, NewerServersGetInsertDeduplicationTokens) {
  ServerVersion old = *parse_server_version("18.16.1");
  ServerVersion current = *parse_server_version("24.3.1");
  EXPECT_EQ(insert_deduplication_settings(old, "kafka:t:0", 10, 20, "events"), "");
  EXPECT_EQ(insert_deduplication_settings(current, "kafka:t:0", 10, 20, "events"),
            "&insert_deduplication_token=kafka%3At%3A0%3A10-20%3Aevents");
  SchemaOptions o;
  o.version = old;
  for (const auto& s : schema_statements(o)) {
    EXPECT_EQ(s.find("non_replicated_deduplication_window"), std::string::npos) << s;
  }
  o.version = current;
  auto statements = schema_statements(o);
  ASSERT_EQ(statements.size(), 5u);
  EXPECT_NE(statements[1].find("ORDER BY (event, timestamp, event_id) SETTINGS "
                               "non_replicated_deduplication_window = 1000"),
            std::string::npos)
      << statements[1];
  EXPECT_EQ(statements[2].find("non_replicated_deduplication_window"), std::string::npos)
      << "users rows are merged versions, not retried copies";
  EXPECT_NE(statements[3].find("non_replicated_deduplication_window"), std::string::npos);
}

}  // namespace
}  // namespace basalt::warehouse::clickhouse
