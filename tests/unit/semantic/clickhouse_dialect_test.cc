// The ClickHouse dialect's SQL per query shape (golden files under golden/clickhouse/,
// regenerated with BASALT_UPDATE_GOLDEN=1 and reviewed like code; the same requests as the
// DuckDB goldens in compiler_test.cc), and the subquery inlining 18.16 needs. That this SQL
// runs and answers like DuckDB is clickhouse_parity_test.cc's job.
#include "semantic/clickhouse_dialect.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "semantic/compiler.h"
#include "semantic_data.h"

namespace basalt::semantic {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kGoldenDir = BASALT_SOURCE_DIR "/tests/unit/semantic/golden/clickhouse/";

class ClickHouseGolden : public ::testing::Test {
 protected:
  Result<CompiledQuery> compile_json(const std::string& json) {
    auto body = nlohmann::json::parse(json, nullptr, false);
    if (body.is_discarded()) return invalid_argument("bad JSON in the test");
    auto q = parse_query(body);
    if (!q) return q.status();
    return compile(*q, testing::demo_models(), ctx_);
  }

  void expect_golden(const std::string& name, const std::string& json) {
    auto c = compile_json(json);
    ASSERT_TRUE(c) << c.status().message();
    testing::expect_golden_file(*c, kGoldenDir + name + ".sql", name);
    // What 18.16 refuses never appears.
    EXPECT_THAT(c->sql, Not(HasSubstr("WITH ")));
    EXPECT_THAT(c->sql, Not(HasSubstr("FILTER (")));
    EXPECT_THAT(c->sql, Not(HasSubstr("GROUP BY 1")));
    EXPECT_THAT(c->sql, Not(HasSubstr("\"")));
  }

  ClickHouseDialect dialect_;
  domino::TimeZone tz_ = *domino::TimeZone::load("Asia/Shanghai");
  CompileContext ctx_{&dialect_, "Asia/Shanghai", &tz_, testing::kEndUs, 1000};
};

TEST_F(ClickHouseGolden, SqlOfEachShape) {
  for (const auto& g : testing::kGoldenQueries) {
    SCOPED_TRACE(g.name);
    expect_golden(g.name, g.json);
  }
}

TEST(ClickHouseInline, SubqueriesReplaceTheirNames) {
  std::vector<Dialect::Cte> ctes = {{"a", "SELECT 1 AS x"}, {"b", "SELECT x FROM a"}};
  EXPECT_EQ(inline_ctes("SELECT * FROM b AS t JOIN a ON a.x = t.x", ctes),
            "SELECT * FROM (SELECT x FROM a) AS t JOIN (SELECT 1 AS x) AS a ON a.x = t.x");
  // Only table references: not a column, a qualified name, a function or quoted text.
  EXPECT_EQ(inline_ctes("SELECT a, a.x, b(1), 'FROM a', `a` FROM x", ctes),
            "SELECT a, a.x, b(1), 'FROM a', `a` FROM x");
  EXPECT_EQ(inline_ctes("SELECT 'it''s FROM a' FROM a", ctes),
            "SELECT 'it''s FROM a' FROM (SELECT 1 AS x) AS a");
}

TEST(ClickHouseInline, StatementNestsEachSubqueryInTheNext) {
  ClickHouseDialect d;
  EXPECT_EQ(d.statement({{"a", "SELECT 1 AS x"}, {"b", "SELECT x FROM a"}}, "SELECT x FROM b"),
            "SELECT x FROM (SELECT x FROM (SELECT 1 AS x) AS a) AS b SETTINGS join_use_nulls = 1");
}

TEST(ClickHouseDialectPieces, AggregatesOverNoRowsAreNull) {
  ClickHouseDialect d;
  EXPECT_EQ(d.aggregate(Aggregation::kSum, "x", "(f)", 0),
            "if(countIf(isNotNull(x) AND ifNull((f), 0)) = 0, NULL, sumIf(x, ifNull((f), 0)))");
  EXPECT_EQ(d.aggregate(Aggregation::kCount, "", "", 0), "count()");
  // Distinct counts of only NULLs are 0, as in DuckDB (ClickHouse answers NULL).
  EXPECT_EQ(d.aggregate(Aggregation::kCountDistinct, "u", "", 0), "ifNull(uniqExact(u), 0)");
  EXPECT_EQ(d.aggregate(Aggregation::kApproxCountDistinct, "u", "(f)", 0),
            "ifNull(uniqIf(u, ifNull((f), 0)), 0)");
  // NOT IN does not hold for NULL.
  EXPECT_EQ(d.in_list("x", {"$1"}, true), "(isNotNull(x) AND x NOT IN ($1))");
}

}  // namespace
}  // namespace basalt::semantic
