#include "collect/iso8601.h"

#include <gtest/gtest.h>

namespace basalt::collect {
namespace {

constexpr int64_t kSec = 1'000'000;

TEST(Iso8601Test, ValidForms) {
  EXPECT_EQ(parse_iso8601_us("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_iso8601_us("2024-02-29T13:45:10Z"), 1709214310 * kSec);
  EXPECT_EQ(parse_iso8601_us("2024-02-29T13:45:10.5Z"), 1709214310 * kSec + 500000);
  EXPECT_EQ(parse_iso8601_us("2024-02-29T13:45:10.123456789Z"), 1709214310 * kSec + 123456);
  EXPECT_EQ(parse_iso8601_us("2024-02-29T15:45:10+02:00"), 1709214310 * kSec);
  EXPECT_EQ(parse_iso8601_us("2024-02-29T08:15:10-0530"), 1709214310 * kSec);
  EXPECT_EQ(parse_iso8601_us("2024-02-29 13:45:10"), 1709214310 * kSec);
  EXPECT_EQ(parse_iso8601_us("2024-02-29t13:45:10z"), 1709214310 * kSec);
  EXPECT_EQ(parse_iso8601_us("2024-02-29T13:45Z"), 1709214300 * kSec);
  EXPECT_EQ(parse_iso8601_us("2024-02-29"), 1709164800 * kSec);
  EXPECT_EQ(parse_iso8601_us("1969-12-31T23:59:59Z"), -kSec);
  EXPECT_EQ(parse_iso8601_us("2000-02-29T00:00:00Z"), 951782400 * kSec);
}

TEST(Iso8601Test, RejectsImpossibleAndMalformed) {
  for (const char* bad :
       {"yesterday", "", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z", "2024-04-31T00:00:00Z", "2024-01-01T24:00:00Z",
        "2024-01-01T23:60:00Z", "2024-01-01T23:59:61Z", "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+01:60", "2024-01-01T00:00:00ZZ",
        "2024-1-01T00:00:00Z", "24-01-01", "2024-01-01X00:00:00Z", "2024-01-01T00:00:00 Z",
        "1700000000"}) {
    EXPECT_EQ(parse_iso8601_us(bad), std::nullopt) << bad;
  }
}

TEST(Iso8601Test, DaysFromCivil) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
  EXPECT_EQ(days_from_civil(1600, 1, 1), -135140);
}

}  // namespace
}  // namespace basalt::collect
