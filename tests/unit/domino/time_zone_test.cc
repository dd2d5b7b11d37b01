#include "domino/time_zone.h"

#include <gtest/gtest.h>

namespace basalt::domino {
namespace {

UnixSeconds utc(int y, int mo, int d, int h, int mi = 0) { return from_civil(y, mo, d, h, mi); }

TEST(TimeZone, ReadsOffsetsOfNewYorkAroundBothChanges) {
  auto tz = TimeZone::load("America/New_York");
  ASSERT_TRUE(tz.is_ok()) << tz.status().message();
  EXPECT_EQ(tz->offset_at(utc(2026, 3, 8, 6, 59)), -5 * 3600);
  EXPECT_EQ(tz->offset_at(utc(2026, 3, 8, 7, 0)), -4 * 3600);
  EXPECT_EQ(tz->offset_at(utc(2026, 11, 1, 5, 59)), -4 * 3600);
  EXPECT_EQ(tz->offset_at(utc(2026, 11, 1, 6, 0)), -5 * 3600);
  // Past the file's last transition (2037) the POSIX footer rule applies.
  EXPECT_EQ(tz->offset_at(utc(2050, 7, 1, 12)), -4 * 3600);
  EXPECT_EQ(tz->offset_at(utc(2050, 1, 1, 12)), -5 * 3600);
  EXPECT_EQ(tz->offset_at(utc(2050, 3, 13, 6, 59)), -5 * 3600);  // second Sunday of March 2050
  EXPECT_EQ(tz->offset_at(utc(2050, 3, 13, 7, 0)), -4 * 3600);
}

TEST(TimeZone, GapShiftsForwardAndOverlapTakesFirstOccurrence) {
  auto tz = TimeZone::load("America/New_York");
  ASSERT_TRUE(tz.is_ok());
  // 02:30 does not exist on 2026-03-08: it becomes 03:30 EDT = 07:30Z.
  EXPECT_EQ(tz->occurrences(from_civil(2026, 3, 8, 2, 30)), 0);
  EXPECT_EQ(tz->to_utc(from_civil(2026, 3, 8, 2, 30)), utc(2026, 3, 8, 7, 30));
  // 01:30 happens twice on 2026-11-01: the first is EDT, 05:30Z.
  EXPECT_EQ(tz->occurrences(from_civil(2026, 11, 1, 1, 30)), 2);
  EXPECT_EQ(tz->to_utc(from_civil(2026, 11, 1, 1, 30)), utc(2026, 11, 1, 5, 30));
  EXPECT_EQ(tz->occurrences(from_civil(2026, 11, 1, 3, 0)), 1);
  EXPECT_EQ(tz->to_utc(from_civil(2026, 11, 1, 3, 0)), utc(2026, 11, 1, 8, 0));
}

TEST(TimeZone, ShanghaiHasNoChangeNowAndHadOneIn1991) {
  auto tz = TimeZone::load("Asia/Shanghai");
  ASSERT_TRUE(tz.is_ok());
  EXPECT_EQ(tz->offset_at(utc(2026, 3, 8, 12)), 8 * 3600);
  EXPECT_EQ(tz->offset_at(utc(2026, 11, 1, 12)), 8 * 3600);
  EXPECT_EQ(tz->to_utc(from_civil(1991, 4, 14, 2, 30)), utc(1991, 4, 13, 18, 30));  // → 03:30 CDT
  EXPECT_EQ(tz->occurrences(from_civil(1991, 9, 15, 1, 30)), 2);
  EXPECT_EQ(tz->to_utc(from_civil(1991, 9, 15, 1, 30)), utc(1991, 9, 14, 16, 30));  // CDT first
}

TEST(TimeZone, RefusesUnknownAndEscapingNames) {
  EXPECT_FALSE(TimeZone::load("Mars/Olympus").is_ok());
  EXPECT_FALSE(TimeZone::load("../../etc/passwd").is_ok());
  EXPECT_FALSE(TimeZone::load("/etc/localtime").is_ok());
  EXPECT_TRUE(TimeZone::load("UTC").is_ok());
}

TEST(TimeZone, FormatsAndParsesIsoTimes) {
  auto tz = TimeZone::load("Asia/Shanghai");
  ASSERT_TRUE(tz.is_ok());
  EXPECT_EQ(format_iso8601(utc(2026, 11, 22, 18), *tz), "2026-11-23T02:00:00+08:00");
  EXPECT_EQ(format_date(utc(2026, 11, 22, 18), *tz), "2026-11-23");
  EXPECT_EQ(*parse_time("2026-11-23", *tz), utc(2026, 11, 22, 16));
  EXPECT_EQ(*parse_time("2026-11-23T02:00:00+08:00", TimeZone::utc()), utc(2026, 11, 22, 18));
  EXPECT_EQ(*parse_time("2026-11-23 02:00Z", *tz), utc(2026, 11, 23, 2));
  EXPECT_FALSE(parse_time("2026-13-01", *tz).is_ok());
  EXPECT_FALSE(parse_time("tomorrow", *tz).is_ok());
}

}  // namespace
}  // namespace basalt::domino
