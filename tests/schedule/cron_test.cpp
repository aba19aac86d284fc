#include "schedule/cron.h"

#include <gtest/gtest.h>

#include "util/time.h"

namespace ferry::schedule {
namespace {

TimePoint at(std::string_view text) {
  auto t = parse_rfc3339(text);
  EXPECT_TRUE(t) << text;
  return t ? *t : TimePoint{};
}

/// The next n fire times after `after`, as RFC 3339 UTC, joined by spaces.
std::string fires(std::string_view cron, std::string_view zone, std::string_view after, int n = 1) {
  auto s = CronSchedule::parse(cron, zone);
  if (!s) return "error: " + s.error().message;
  std::string out;
  TimePoint t = at(after);
  for (int i = 0; i < n; ++i) {
    auto next = s->next_after(t);
    if (!next) return out + (out.empty() ? "" : " ") + "none";
    out += (out.empty() ? "" : " ") + format_rfc3339(*next);
    t = *next;
  }
  return out;
}

std::string error_of(std::string_view cron) {
  auto c = Cron::parse(cron);
  if (c) return "(parsed)";
  EXPECT_EQ(c.error().code, Errc::invalid_argument);
  return c.error().message;
}

TEST(ScheduleCron, Basics) {
  EXPECT_EQ(fires("30 1 * * *", "UTC", "2026-05-01T00:00:00Z", 2), "2026-05-01T01:30:00.000Z 2026-05-02T01:30:00.000Z");
  EXPECT_EQ(fires("*/15 * * * *", "UTC", "2026-05-01T00:07:30Z", 3),
            "2026-05-01T00:15:00.000Z 2026-05-01T00:30:00.000Z 2026-05-01T00:45:00.000Z");
  EXPECT_EQ(fires("1-30/10 * * * *", "UTC", "2026-05-01T00:00:00Z", 4),
            "2026-05-01T00:01:00.000Z 2026-05-01T00:11:00.000Z 2026-05-01T00:21:00.000Z 2026-05-01T01:01:00.000Z");
  EXPECT_EQ(fires("0,30 9 * * *", "UTC", "2026-05-01T09:00:00Z", 2),
            "2026-05-01T09:30:00.000Z 2026-05-02T09:00:00.000Z");
}

TEST(ScheduleCron, StrictlyAfter) {
  EXPECT_EQ(fires("30 1 * * *", "UTC", "2026-05-01T01:30:00Z"), "2026-05-02T01:30:00.000Z");
  EXPECT_EQ(fires("30 1 * * *", "UTC", "2026-05-01T01:29:59.999Z"), "2026-05-01T01:30:00.000Z");
  EXPECT_EQ(fires("* * * * *", "UTC", "2026-05-01T01:30:00.5Z"), "2026-05-01T01:31:00.000Z");
}

TEST(ScheduleCron, Names) {
  // 2026-05-01 is a Friday.
  EXPECT_EQ(fires("0 9 * * mon-fri", "UTC", "2026-05-01T12:00:00Z", 2),
            "2026-05-04T09:00:00.000Z 2026-05-05T09:00:00.000Z");
  EXPECT_EQ(fires("0 9 1 JAN,Jul *", "UTC", "2026-05-01T12:00:00Z", 2),
            "2026-07-01T09:00:00.000Z 2027-01-01T09:00:00.000Z");
  EXPECT_EQ(fires("0 0 * * 7", "UTC", "2026-05-01T00:00:00Z"), "2026-05-03T00:00:00.000Z");
  EXPECT_EQ(fires("0 0 * * 0", "UTC", "2026-05-01T00:00:00Z"), "2026-05-03T00:00:00.000Z");
  EXPECT_EQ(fires("0 0 * * 5-7", "UTC", "2026-05-01T00:00:00Z", 3),
            "2026-05-02T00:00:00.000Z 2026-05-03T00:00:00.000Z 2026-05-08T00:00:00.000Z");
}

TEST(ScheduleCron, AcrossMidnightAndYearEnd) {
  EXPECT_EQ(fires("50 23 * * *", "UTC", "2026-05-01T23:55:00Z"), "2026-05-02T23:50:00.000Z");
  EXPECT_EQ(fires("*/20 23,0 * * *", "UTC", "2026-05-01T23:45:00Z", 3),
            "2026-05-02T00:00:00.000Z 2026-05-02T00:20:00.000Z 2026-05-02T00:40:00.000Z");
  EXPECT_EQ(fires("0 0 1 1 *", "UTC", "2026-06-01T00:00:00Z"), "2027-01-01T00:00:00.000Z");
  // Berlin's 00:30 is the evening before in UTC.
  EXPECT_EQ(fires("30 0 * * *", "Europe/Berlin", "2026-01-10T12:00:00Z"), "2026-01-10T23:30:00.000Z");
  EXPECT_EQ(fires("59 23 31 12 *", "UTC", "2026-12-31T23:59:00Z"), "2027-12-31T23:59:00.000Z");
}

TEST(ScheduleCron, MonthEnds) {
  EXPECT_EQ(fires("0 0 31 * *", "UTC", "2026-01-31T00:00:00Z", 3),
            "2026-03-31T00:00:00.000Z 2026-05-31T00:00:00.000Z 2026-07-31T00:00:00.000Z");
  EXPECT_EQ(fires("0 0 30 * *", "UTC", "2026-01-30T00:00:00Z", 2), "2026-03-30T00:00:00.000Z 2026-04-30T00:00:00.000Z");
}

TEST(ScheduleCron, LeapDay) {
  EXPECT_EQ(fires("0 0 29 2 *", "UTC", "2027-01-01T00:00:00Z", 2), "2028-02-29T00:00:00.000Z 2032-02-29T00:00:00.000Z");
  EXPECT_EQ(fires("0 0 29 2 *", "UTC", "2026-03-01T00:00:00Z"), "2028-02-29T00:00:00.000Z");
  // 2100 is not a leap year: eight years to the next 29 February.
  EXPECT_EQ(fires("0 12 29 2 *", "UTC", "2096-03-01T00:00:00Z"), "2104-02-29T12:00:00.000Z");
  EXPECT_EQ(fires("0 0 28 2 *", "UTC", "2027-03-01T00:00:00Z", 2), "2028-02-28T00:00:00.000Z 2029-02-28T00:00:00.000Z");
}

TEST(ScheduleCron, DayOfMonthOrDayOfWeek) {
  // Both restricted: the 10th OR a Monday (2026-02-01 is a Sunday).
  EXPECT_EQ(fires("0 0 10 * 1", "UTC", "2026-02-01T00:00:00Z", 4),
            "2026-02-02T00:00:00.000Z 2026-02-09T00:00:00.000Z 2026-02-10T00:00:00.000Z 2026-02-16T00:00:00.000Z");
  // One of them '*': the other alone decides.
  EXPECT_EQ(fires("0 0 10 * *", "UTC", "2026-02-01T00:00:00Z"), "2026-02-10T00:00:00.000Z");
  EXPECT_EQ(fires("0 0 * * 1", "UTC", "2026-02-01T00:00:00Z", 2), "2026-02-02T00:00:00.000Z 2026-02-09T00:00:00.000Z");
  // cronie counts a field starting with '*' as unrestricted, "*/2" too: odd days AND Mondays.
  EXPECT_EQ(fires("0 0 */2 * 1", "UTC", "2026-02-01T00:00:00Z", 2),
            "2026-02-09T00:00:00.000Z 2026-02-23T00:00:00.000Z");
}

TEST(ScheduleCron, DstRuleFromFields) {
  EXPECT_EQ(Cron::parse("30 2 * * *")->dst_rule(), DstRule::fixed_time);
  EXPECT_EQ(Cron::parse("0,30 1-3 * * 0")->dst_rule(), DstRule::fixed_time);
  EXPECT_EQ(Cron::parse("*/15 * * * *")->dst_rule(), DstRule::follows_clock);
  EXPECT_EQ(Cron::parse("5 * * * *")->dst_rule(), DstRule::follows_clock);
  EXPECT_EQ(Cron::parse("0 */2 * * *")->dst_rule(), DstRule::follows_clock);
}

// Europe/Berlin 2026: clocks go 02:00 CET -> 03:00 CEST on 29 March (01:00Z) and
// 03:00 CEST -> 02:00 CET on 25 October (01:00Z).
TEST(ScheduleDst, BerlinSpringForwardRunsRightAfterTheJump) {
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 3),
            "2026-03-29T01:00:00.000Z 2026-03-30T00:30:00.000Z 2026-03-31T00:30:00.000Z");
  EXPECT_EQ(fires("0 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z"), "2026-03-29T01:00:00.000Z");
  EXPECT_EQ(fires("59 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z"), "2026-03-29T01:00:00.000Z");
  // 03:00 exists and is the same instant as the end of the gap: one run, not two.
  EXPECT_EQ(fires("0 2,3 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 2),
            "2026-03-29T01:00:00.000Z 2026-03-30T00:00:00.000Z");
  // Times around the gap are untouched.
  EXPECT_EQ(fires("30 1 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z"), "2026-03-29T00:30:00.000Z");
  EXPECT_EQ(fires("30 3 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z"), "2026-03-29T01:30:00.000Z");
}

TEST(ScheduleDst, BerlinFallBackRunsOnce) {
  // 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET): only the first runs.
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 2),
            "2026-10-25T00:30:00.000Z 2026-10-26T01:30:00.000Z");
  // Asked from inside the repeated hour, after the first 02:30.
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", "2026-10-25T00:45:00Z"), "2026-10-26T01:30:00.000Z");
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", "2026-10-25T01:10:00Z"), "2026-10-26T01:30:00.000Z");
  EXPECT_EQ(fires("0 1,2,3 * * *", "Europe/Berlin", "2026-10-24T22:30:00Z", 3),
            "2026-10-24T23:00:00.000Z 2026-10-25T00:00:00.000Z 2026-10-25T02:00:00.000Z");
}

TEST(ScheduleDst, FollowsClockSchedulesRunAsTheClockShows) {
  // Spring: 02:xx does not exist, so a run "5 minutes past every hour" has no 02:05.
  EXPECT_EQ(fires("5 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", 2),
            "2026-03-29T00:05:00.000Z 2026-03-29T01:05:00.000Z");
  EXPECT_EQ(fires("*/30 * * * *", "Europe/Berlin", "2026-03-29T00:15:00Z", 2),
            "2026-03-29T00:30:00.000Z 2026-03-29T01:00:00.000Z");
  // Autumn: the repeated hour runs twice, keeping the interval.
  EXPECT_EQ(fires("*/30 * * * *", "Europe/Berlin", "2026-10-25T00:15:00Z", 4),
            "2026-10-25T00:30:00.000Z 2026-10-25T01:00:00.000Z 2026-10-25T01:30:00.000Z 2026-10-25T02:00:00.000Z");
}

// America/New_York 2026: 02:00 EST -> 03:00 EDT on 8 March (07:00Z); 02:00 EDT ->
// 01:00 EST on 1 November (06:00Z).
TEST(ScheduleDst, NewYork) {
  EXPECT_EQ(fires("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 2),
            "2026-03-08T07:00:00.000Z 2026-03-09T06:30:00.000Z");
  EXPECT_EQ(fires("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2),
            "2026-11-01T05:30:00.000Z 2026-11-02T06:30:00.000Z");
  EXPECT_EQ(fires("0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", 3),
            "2026-11-01T05:00:00.000Z 2026-11-01T06:00:00.000Z 2026-11-01T07:00:00.000Z");
}

TEST(ScheduleCron, Zones) {
  EXPECT_EQ(fires("0 9 * * *", "Asia/Kolkata", "2026-05-01T00:00:00Z"), "2026-05-01T03:30:00.000Z");
  EXPECT_EQ(
      fires("0 9 * * *", "Nowhere/City", "2026-05-01T00:00:00Z"),
      "error: unknown time zone 'Nowhere/City'; expected a name from the tz database such as Europe/Berlin or UTC");
  EXPECT_EQ(format_local(at("2026-03-29T01:00:00Z"), *Zone::find("Europe/Berlin")), "2026-03-29T03:00:00+02:00");
  EXPECT_EQ(format_local(at("2026-01-29T01:00:00Z"), *Zone::find("Europe/Berlin")), "2026-01-29T02:00:00+01:00");
  EXPECT_EQ(Zone::find("Europe/Berlin")->offset_at(at("2026-07-01T00:00:00Z")), std::chrono::hours(2));
}

TEST(ScheduleCronErrors, FieldCount) {
  EXPECT_EQ(error_of("0 1 * *"),
            "expected a cron expression of 5 fields (minute hour day-of-month month day-of-week); got 4 in '0 1 * *'");
  EXPECT_EQ(error_of(""),
            "expected a cron expression of 5 fields (minute hour day-of-month month day-of-week); got 0 in ''");
}

TEST(ScheduleCronErrors, NameTheFieldAndWhatItTakes) {
  EXPECT_EQ(error_of("60 * * * *"), "minute: 60 is out of range; expected 0-59");
  EXPECT_EQ(error_of("0 24 * * *"), "hour: 24 is out of range; expected 0-23");
  EXPECT_EQ(error_of("0 0 0 * *"), "day-of-month: 0 is out of range; expected 1-31");
  EXPECT_EQ(error_of("0 0 * 13 *"), "month: 13 is out of range; expected 1-12 or jan-dec");
  EXPECT_EQ(error_of("0 0 * * 8"), "day-of-week: 8 is out of range; expected 0-7 or sun-sat (0 and 7 are Sunday)");
  EXPECT_EQ(error_of("0 0 * foo *"),
            "month: expected 1-12 or jan-dec, a range such as 1-5, a list such as 1,3 or a step such as */15 or "
            "1-30/5; got 'foo'");
  EXPECT_EQ(error_of("1,,2 * * * *"),
            "minute: expected 0-59, a range such as 1-5, a list such as 1,3 or a step such as */15 or 1-30/5; got ''");
  EXPECT_EQ(error_of("0 jan * * *"),
            "hour: expected 0-23, a range such as 1-5, a list such as 1,3 or a step such as */15 or 1-30/5; got 'jan'");
  EXPECT_EQ(error_of("*/0 * * * *"), "minute: expected a step from 1 to 60 after '/'; got '*/0'");
  EXPECT_EQ(error_of("0 0 * * */x"), "day-of-week: expected a step from 1 to 7 after '/'; got '*/x'");
  EXPECT_EQ(error_of("5/15 * * * *"),
            "minute: a step needs '*' or a range before it, such as */15 or 5-59/15; got '5/15'");
  EXPECT_EQ(error_of("0 0 20-10 * *"), "day-of-month: range '20-10' runs backwards; write the smaller value first");
  EXPECT_EQ(error_of("0 0 * * sat-sun"), "day-of-week: range 'sat-sun' runs backwards; write the smaller value first");
}

TEST(ScheduleCronErrors, NeverRuns) {
  EXPECT_EQ(error_of("0 0 30 2 *"),
            "day-of-month and month never meet (no month in '2' has a day '30'); '0 0 30 2 *' would never run");
  EXPECT_EQ(error_of("0 0 31 apr,jun *"),
            "day-of-month and month never meet (no month in 'apr,jun' has a day '31'); '0 0 31 apr,jun *' would "
            "never run");
  // With a day of the week as well, the OR rule makes it run on Mondays.
  EXPECT_TRUE(Cron::parse("0 0 30 2 1"));
}

}  // namespace
}  // namespace ferry::schedule
