#include "warehouse/duckdb/value_text.h"

#include <gtest/gtest.h>

namespace basalt::warehouse::duck {
namespace {

TEST(ValueText, Iso8601PicksTheShortestExactFraction) {
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00Z");
  // 2026-11-24T10:00:00Z = 1795514400 s
  EXPECT_EQ(iso8601_utc(1795514400'123000), "2026-11-24T10:00:00.123Z");
  EXPECT_EQ(iso8601_utc(1795514400'123456), "2026-11-24T10:00:00.123456Z");
  EXPECT_EQ(iso8601_utc(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(ValueText, IsoDate) {
  EXPECT_EQ(iso_date(0), "1970-01-01");
  EXPECT_EQ(iso_date(20781), "2026-11-24");
  EXPECT_EQ(iso_date(-1), "1969-12-31");
}

TEST(ValueText, Utf8ValidationAndRepair) {
  EXPECT_TRUE(is_valid_utf8("plain ascii text, long enough for the fast path"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("bad \xC3"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_EQ(repair_utf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(repair_utf8("caf\xC3\xA9"), "caf\xC3\xA9");
}

}  // namespace
}  // namespace basalt::warehouse::duck
