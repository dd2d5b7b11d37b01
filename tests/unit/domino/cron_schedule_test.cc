#include "domino/cron_schedule.h"

#include <gtest/gtest.h>

#include <vector>

namespace basalt::domino {
namespace {

std::vector<std::string> fires(const std::string& cron, const std::string& zone,
                               const std::string& from, int n) {
  auto c = CronSchedule::parse(cron);
  EXPECT_TRUE(c.is_ok()) << c.status().message();
  auto tz = TimeZone::load(zone);
  EXPECT_TRUE(tz.is_ok());
  std::vector<std::string> out;
  UnixSeconds t = *parse_time(from, *tz);
  for (int i = 0; i < n; ++i) {
    auto next = c->next_after(t, *tz);
    if (!next) break;
    out.push_back(format_iso8601(*next, *tz));
    t = *next;
  }
  return out;
}

TEST(CronSchedule, DailyInShanghai) {
  EXPECT_EQ(fires("0 2 * * *", "Asia/Shanghai", "2026-11-22T12:00", 2),
            (std::vector<std::string>{"2026-11-23T02:00:00+08:00", "2026-11-24T02:00:00+08:00"}));
  // Shanghai's own 1991 spring change: 02:30 did not exist and runs at 03:30.
  EXPECT_EQ(fires("30 2 * * *", "Asia/Shanghai", "1991-04-13T12:00", 2),
            (std::vector<std::string>{"1991-04-14T03:30:00+09:00", "1991-04-15T02:30:00+09:00"}));
  // and its autumn change: 01:30 happened twice and runs once.
  EXPECT_EQ(fires("30 1 * * *", "Asia/Shanghai", "1991-09-14T12:00", 2),
            (std::vector<std::string>{"1991-09-15T01:30:00+09:00", "1991-09-16T01:30:00+08:00"}));
}

TEST(CronSchedule, NewYorkSpringForwardShiftsByTheGap) {
  EXPECT_EQ(fires("30 2 * * *", "America/New_York", "2026-03-07T12:00", 3),
            (std::vector<std::string>{"2026-03-08T03:30:00-04:00", "2026-03-09T02:30:00-04:00",
                                      "2026-03-10T02:30:00-04:00"}));
  EXPECT_EQ(fires("0 * * * *", "America/New_York", "2026-03-08T00:30", 3),
            (std::vector<std::string>{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00",
                                      "2026-03-08T04:00:00-04:00"}));
  // 02:30 shifts past 03:00, yet 03:00 still runs, before it.
  EXPECT_EQ(fires("30 2 * * *", "America/New_York", "2026-03-08T00:00", 1),
            (std::vector<std::string>{"2026-03-08T03:30:00-04:00"}));
  EXPECT_EQ(fires("0,30 2,3 8 3 *", "America/New_York", "2026-03-08T00:00", 3),
            (std::vector<std::string>{"2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00",
                                      "2027-03-08T02:00:00-05:00"}));
}

TEST(CronSchedule, NewYorkFallBackRunsOnce) {
  EXPECT_EQ(fires("30 1 * * *", "America/New_York", "2026-10-31T12:00", 2),
            (std::vector<std::string>{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}));
  EXPECT_EQ(fires("0 * * * *", "America/New_York", "2026-11-01T00:30", 3),
            (std::vector<std::string>{"2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00",
                                      "2026-11-01T03:00:00-05:00"}));
}

TEST(CronSchedule, MacrosFieldsAndSeconds) {
  EXPECT_EQ(fires("@hourly", "UTC", "2026-01-01T00:00", 2),
            (std::vector<std::string>{"2026-01-01T01:00:00+00:00", "2026-01-01T02:00:00+00:00"}));
  EXPECT_EQ(fires("@weekly", "UTC", "2026-11-23T00:00", 1),  // a Monday → next Sunday
            (std::vector<std::string>{"2026-11-29T00:00:00+00:00"}));
  EXPECT_EQ(fires("@monthly", "UTC", "2026-11-23", 1),
            (std::vector<std::string>{"2026-12-01T00:00:00+00:00"}));
  EXPECT_EQ(fires("*/20 * * * * *", "UTC", "2026-01-01T00:00", 3),
            (std::vector<std::string>{"2026-01-01T00:00:20+00:00", "2026-01-01T00:00:40+00:00",
                                      "2026-01-01T00:01:00+00:00"}));
  EXPECT_EQ(fires("0 9 * * MON-FRI", "UTC", "2026-11-27T10:00", 1),  // Friday → Monday
            (std::vector<std::string>{"2026-11-30T09:00:00+00:00"}));
  EXPECT_EQ(fires("0 0 13 * 5", "UTC", "2026-11-01", 2),  // the 13th OR a Friday
            (std::vector<std::string>{"2026-11-06T00:00:00+00:00", "2026-11-13T00:00:00+00:00"}));
  EXPECT_EQ(fires("0 0 1 JAN,jul *", "UTC", "2026-02-01", 2),
            (std::vector<std::string>{"2026-07-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"}));
  EXPECT_TRUE(fires("0 0 30 2 *", "UTC", "2026-01-01", 1).empty());
}

TEST(CronSchedule, LastBefore) {
  auto c = CronSchedule::parse("0 2 * * *");
  auto tz = TimeZone::load("Asia/Shanghai");
  auto t = c->last_before(*parse_time("2026-11-23T02:00", *tz), *tz);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(format_iso8601(*t, *tz), "2026-11-22T02:00:00+08:00");
}

TEST(CronSchedule, RejectsBadExpressions) {
  for (const char* bad : {"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
                          "* * * * 8", "*/0 * * * *", "5-1 * * * *", "@fortnightly", "a b c d e",
                          "* * * * * * *"}) {
    EXPECT_FALSE(CronSchedule::parse(bad).is_ok()) << bad;
  }
  auto s = CronSchedule::parse("61 * * * *");
  EXPECT_NE(s.status().message().find("minute field"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace basalt::domino
