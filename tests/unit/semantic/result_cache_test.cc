#include "semantic/result_cache.h"

#include <gtest/gtest.h>

#include "semantic/compiler.h"
#include "semantic/duckdb_dialect.h"
#include "semantic_data.h"

namespace basalt::semantic {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;
constexpr int64_t kNov10 = 1794268800'000000;  // 2026-11-10T00:00:00Z

warehouse::QueryResult one_row(int64_t v) {
  warehouse::QueryResult r;
  r.columns = {{"n", "BIGINT"}};
  r.rows = {{warehouse::Value(v)}};
  return r;
}

TEST(ResultCache, InvalidatesOnlyOverlappingCommitsOnReadTables) {
  ManualClock clock(kNov10);
  ResultCache cache(10, std::chrono::seconds(60), clock);
  CacheScope nov10_12{{"events", "users"}, kNov10, kNov10 + 3 * kDayUs};
  cache.put("a", cache.begin(), nov10_12, one_row(1));
  ASSERT_TRUE(cache.get("a"));
  cache.invalidate({"events", kNov10 + 5 * kDayUs, kNov10 + 6 * kDayUs});  // after the range
  EXPECT_TRUE(cache.get("a"));
  cache.invalidate({"quarantine", INT64_MIN, INT64_MAX});  // a table it does not read
  EXPECT_TRUE(cache.get("a"));
  cache.invalidate({"events", kNov10 + kDayUs, kNov10 + kDayUs});  // inside
  EXPECT_FALSE(cache.get("a"));

  cache.put("b", cache.begin(), nov10_12, one_row(2));
  cache.invalidate({"users", INT64_MIN, INT64_MAX});
  EXPECT_FALSE(cache.get("b")) << "a users change reaches every query joining users";

  // A result computed across an invalidation is not stored.
  uint64_t ticket = cache.begin();
  cache.invalidate({"events", 0, 1});
  cache.put("c", ticket, nov10_12, one_row(3));
  EXPECT_FALSE(cache.get("c"));

  // Time to live.
  cache.put("d", cache.begin(), nov10_12, one_row(4));
  clock.advance_us(61'000'000);
  EXPECT_FALSE(cache.get("d"));
  auto s = cache.stats();
  EXPECT_EQ(s.hits, 3u);
  EXPECT_EQ(s.invalidated, 2u);
}

// A load announces its span before its rows can be seen and ends it once they are: in between
// nothing it touches is served or kept, and nothing computed before its end is kept after.
TEST(ResultCache, AChangeInProgressKeepsNoAnswerItTouches) {
  ManualClock clock(kNov10);
  ResultCache cache(10, std::chrono::seconds(60), clock);
  CacheScope nov10_12{{"events"}, kNov10, kNov10 + 3 * kDayUs};
  CacheScope nov20{{"events"}, kNov10 + 10 * kDayUs, kNov10 + 11 * kDayUs};
  cache.put("a", cache.begin(), nov10_12, one_row(1));
  cache.put("far", cache.begin(), nov20, one_row(2));
  const DataChange load{"events", kNov10 + kDayUs, kNov10 + kDayUs + 5};
  cache.begin_change(load);
  EXPECT_FALSE(cache.get("a")) << "dropped before the rows can be seen";
  EXPECT_TRUE(cache.get("far"));
  // During the change: an answer it touches is not kept, one it does not touch is.
  cache.put("a", cache.begin(), nov10_12, one_row(3));
  EXPECT_FALSE(cache.get("a"));
  cache.put("far2", cache.begin(), nov20, one_row(4));
  EXPECT_TRUE(cache.get("far2"));
  // Begun before the end, stored after it: refused (it may have read either side).
  uint64_t ticket = cache.begin();
  cache.end_change(load);
  cache.put("a", ticket, nov10_12, one_row(5));
  EXPECT_FALSE(cache.get("a"));
  cache.put("a", cache.begin(), nov10_12, one_row(6));
  ASSERT_TRUE(cache.get("a"));
  EXPECT_EQ(std::get<int64_t>(cache.get("a")->rows[0][0]), 6);
  // Two changes of the same span at once: the first end leaves the second in progress.
  cache.begin_change(load);
  cache.begin_change(load);
  cache.end_change(load);
  cache.put("a", cache.begin(), nov10_12, one_row(7));
  EXPECT_FALSE(cache.get("a"));
  cache.end_change(load);
  cache.put("a", cache.begin(), nov10_12, one_row(8));
  EXPECT_TRUE(cache.get("a"));
}

TEST(ResultCache, LeastRecentlyUsedIsEvicted) {
  ManualClock clock(0);
  ResultCache cache(2, std::chrono::seconds(60), clock);
  cache.put("a", cache.begin(), {}, one_row(1));
  cache.put("b", cache.begin(), {}, one_row(2));
  ASSERT_TRUE(cache.get("a"));
  cache.put("c", cache.begin(), {}, one_row(3));
  EXPECT_TRUE(cache.get("a"));
  EXPECT_FALSE(cache.get("b"));
  EXPECT_TRUE(cache.get("c"));
}

TEST(CompiledScope, CoversTheRangeAndWhatAnalysesReadBeyondIt) {
  DuckDbDialect d;
  auto utc = domino::TimeZone::utc();
  CompileContext ctx{&d, "UTC", &utc, testing::kEndUs, 1000};
  auto scope = [&](const std::string& json) {
    auto q = parse_query(nlohmann::json::parse(json));
    EXPECT_TRUE(q);
    auto c = compile(*q, testing::demo_models(), ctx);
    EXPECT_TRUE(c) << c.status().message();
    return std::make_pair(c->scope_start_us, c->scope_end_us);
  };
  auto s =
      scope(R"({"model":"events","metrics":["dau"],"time":{"range":["2026-11-10","2026-11-12"]}})");
  EXPECT_EQ(s.first, kNov10 - kDayUs);
  EXPECT_EQ(s.second, kNov10 + 4 * kDayUs);
  s = scope(
      R"({"model":"events","metrics":["dau"],"time":{"range":["2026-11-10","2026-11-12"]},"compare":"same_period_last_week"})");
  EXPECT_EQ(s.first, kNov10 - 8 * kDayUs);
  s = scope(
      R"({"type":"retention","model":"events","start":"login","return":"pay","time":{"range":["2026-11-10","2026-11-12"]}})");
  EXPECT_EQ(s.first, INT64_MIN);
  s = scope(R"({"model":"events","metrics":["dau"]})");
  EXPECT_EQ(s.first, INT64_MIN);
  EXPECT_EQ(s.second, INT64_MAX);
}

}  // namespace
}  // namespace basalt::semantic
