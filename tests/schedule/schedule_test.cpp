#include "schedule/schedule.h"

#include <gtest/gtest.h>

#include "support/fake_clock.h"
#include "util/time.h"

namespace ferry::schedule {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TimePoint at(std::string_view text) {
  auto t = parse_rfc3339(text);
  EXPECT_TRUE(t) << text;
  return t ? *t : TimePoint{};
}

std::string str(std::optional<TimePoint> t) { return t ? format_rfc3339(*t) : "none"; }

std::string list(const std::vector<TimePoint>& times) {
  std::string out;
  for (auto t : times) out += (out.empty() ? "" : " ") + format_rfc3339(t);
  return out;
}

Schedule hourly_from(std::string_view start) { return Schedule(Every{hours(1), at(start)}, TimePoint{}); }

Schedule cron(std::string_view expr, std::string_view zone = "UTC") {
  return Schedule(*CronSchedule::parse(expr, zone), TimePoint{});
}

TEST(ScheduleAt, FiresOnce) {
  Schedule s(At{at("2026-11-23T02:00:00+01:00")}, TimePoint{});
  EXPECT_EQ(str(s.next_after(at("2026-11-01T00:00:00Z"))), "2026-11-23T01:00:00.000Z");
  EXPECT_EQ(str(s.next_after(at("2026-11-23T01:00:00Z"))), "none");
  EXPECT_EQ(describe(s.spec()), "at 2026-11-23T01:00:00.000Z");
}

TEST(ScheduleEvery, FromStart) {
  Schedule s = hourly_from("2026-11-22T00:05:00Z");
  EXPECT_EQ(str(s.next_after(at("2026-11-01T00:00:00Z"))), "2026-11-22T00:05:00.000Z");
  EXPECT_EQ(str(s.next_after(at("2026-11-22T00:05:00Z"))), "2026-11-22T01:05:00.000Z");
  EXPECT_EQ(str(s.next_after(at("2026-11-22T07:30:00Z"))), "2026-11-22T08:05:00.000Z");
  EXPECT_EQ(describe(s.spec()), "every 1h from 2026-11-22T00:05:00.000Z");
}

TEST(ScheduleEvery, WithoutStartOneIntervalAfterTheAnchor) {
  test::FakeClock clock(at("2026-05-01T10:00:00.250Z"));
  Schedule s(Every{minutes(90), std::nullopt}, clock.now());
  EXPECT_EQ(str(s.next_after(clock.now())), "2026-05-01T11:30:00.250Z");
  EXPECT_EQ(str(s.next_after(at("2026-05-01T11:30:00.250Z"))), "2026-05-01T13:00:00.250Z");
  EXPECT_EQ(describe(s.spec()), "every 1h30m");
}

TEST(ScheduleEvery, DaylightSavingDoesNotMatter) {
  // `every` counts real time: 24h after 12:00 CET is 13:00 CEST across the jump.
  Schedule s(Every{hours(24), at("2026-03-28T12:00:00+01:00")}, TimePoint{});
  EXPECT_EQ(str(s.next_after(at("2026-03-28T11:00:00Z"))), "2026-03-29T11:00:00.000Z");
}

TEST(ScheduleDescribe, Durations) {
  EXPECT_EQ(format_duration(seconds(0)), "0s");
  EXPECT_EQ(format_duration(seconds(45)), "45s");
  EXPECT_EQ(format_duration(seconds(5400)), "1h30m");
  EXPECT_EQ(format_duration(seconds(2 * 86400 + 1)), "2d1s");
  EXPECT_EQ(describe(*CronSchedule::parse("30 1 * * *", "Europe/Berlin")), "cron '30 1 * * *' Europe/Berlin");
}

// ---- Misfire ----

TEST(ScheduleMisfire, OnTimeRun) {
  Schedule s = hourly_from("2026-05-01T00:00:00Z");
  Due d = due_at(s, at("2026-05-01T04:00:00Z"), at("2026-05-01T05:00:00.003Z"), {});
  EXPECT_EQ(str(d.run), "2026-05-01T05:00:00.000Z");
  EXPECT_EQ(d.kind, RunKind::on_time);
  EXPECT_EQ(d.skipped_count, 0u);
  EXPECT_TRUE(d.skipped.empty());
  EXPECT_EQ(str(d.last_fire), "2026-05-01T05:00:00.000Z");
  EXPECT_EQ(str(d.next), "2026-05-01T06:00:00.000Z");
}

TEST(ScheduleMisfire, NothingDue) {
  Schedule s = hourly_from("2026-05-01T00:00:00Z");
  Due d = due_at(s, at("2026-05-01T05:00:00Z"), at("2026-05-01T05:30:00Z"), {});
  EXPECT_FALSE(d.run);
  EXPECT_FALSE(d.last_fire);
  EXPECT_EQ(d.skipped_count, 0u);
  EXPECT_EQ(str(d.next), "2026-05-01T06:00:00.000Z");
}

TEST(ScheduleMisfire, RunOnceAfterOutage) {
  // Down from 04:10 to 09:30: 05:00 ... 09:00 were missed.
  Schedule s = hourly_from("2026-05-01T00:00:00Z");
  Due d = due_at(s, at("2026-05-01T04:00:00Z"), at("2026-05-01T09:30:00Z"), {Misfire::run_once, std::nullopt});
  EXPECT_EQ(str(d.run), "2026-05-01T09:00:00.000Z");
  EXPECT_EQ(d.kind, RunKind::catch_up);
  EXPECT_EQ(d.skipped_count, 4u);
  EXPECT_EQ(list(d.skipped),
            "2026-05-01T05:00:00.000Z 2026-05-01T06:00:00.000Z 2026-05-01T07:00:00.000Z 2026-05-01T08:00:00.000Z");
  EXPECT_EQ(d.reason, SkipReason::superseded);
  EXPECT_EQ(to_string(d.reason), "missed; a later missed time ran instead (at most one catch-up run)");
  EXPECT_EQ(str(d.last_fire), "2026-05-01T09:00:00.000Z");
  EXPECT_EQ(str(d.next), "2026-05-01T10:00:00.000Z");
}

TEST(ScheduleMisfire, SkipAfterOutage) {
  Schedule s = hourly_from("2026-05-01T00:00:00Z");
  Due d = due_at(s, at("2026-05-01T04:00:00Z"), at("2026-05-01T09:30:00Z"), {Misfire::skip, std::nullopt});
  EXPECT_FALSE(d.run);
  EXPECT_EQ(d.skipped_count, 5u);
  EXPECT_EQ(d.skipped.size(), 5u);
  EXPECT_EQ(d.reason, SkipReason::misfire_skip);
  EXPECT_EQ(to_string(d.reason), "missed while ferryd was down or stalled (misfire: skip)");
  EXPECT_EQ(str(d.last_fire), "2026-05-01T09:00:00.000Z");
  EXPECT_EQ(str(d.next), "2026-05-01T10:00:00.000Z");
}

TEST(ScheduleMisfire, StartingDeadline) {
  Schedule s = hourly_from("2026-05-01T00:00:00Z");
  Due late = due_at(s, at("2026-05-01T04:00:00Z"), at("2026-05-01T09:30:00Z"), {Misfire::run_once, minutes(20)});
  EXPECT_FALSE(late.run);
  EXPECT_EQ(late.skipped_count, 5u);
  EXPECT_EQ(late.reason, SkipReason::past_deadline);
  EXPECT_EQ(to_string(late.reason), "missed by more than starting_deadline");
  EXPECT_EQ(str(late.last_fire), "2026-05-01T09:00:00.000Z");

  Due in_time = due_at(s, at("2026-05-01T04:00:00Z"), at("2026-05-01T09:30:00Z"), {Misfire::run_once, minutes(45)});
  EXPECT_EQ(str(in_time.run), "2026-05-01T09:00:00.000Z");
  EXPECT_EQ(in_time.kind, RunKind::catch_up);
  EXPECT_EQ(in_time.skipped_count, 4u);

  // The deadline binds even a run within the on-time grace.
  Due strict = due_at(s, at("2026-05-01T04:00:00Z"), at("2026-05-01T05:00:30Z"), {Misfire::run_once, seconds(10)});
  EXPECT_FALSE(strict.run);
  EXPECT_EQ(strict.reason, SkipReason::past_deadline);
}

TEST(ScheduleMisfire, GraceIsNotAMisfire) {
  Schedule s = hourly_from("2026-05-01T00:00:00Z");
  Due d = due_at(s, at("2026-05-01T04:00:00Z"), at("2026-05-01T05:01:00Z"), {Misfire::skip, std::nullopt});
  EXPECT_EQ(str(d.run), "2026-05-01T05:00:00.000Z");
  EXPECT_EQ(d.kind, RunKind::on_time);
  Due after = due_at(s, at("2026-05-01T04:00:00Z"), at("2026-05-01T05:01:00.001Z"), {Misfire::skip, std::nullopt});
  EXPECT_FALSE(after.run);
  EXPECT_EQ(after.reason, SkipReason::misfire_skip);
}

TEST(ScheduleMisfire, StallOfAFrequentJob) {
  // every 1s, the loop stalled 5.5s: the latest runs on time, four are superseded.
  Schedule s(Every{seconds(1), at("2026-05-01T00:00:00Z")}, TimePoint{});
  Due d = due_at(s, at("2026-05-01T00:00:10Z"), at("2026-05-01T00:00:15.500Z"), {Misfire::skip, std::nullopt});
  EXPECT_EQ(str(d.run), "2026-05-01T00:00:15.000Z");
  EXPECT_EQ(d.kind, RunKind::on_time);
  EXPECT_EQ(d.skipped_count, 4u);
  EXPECT_EQ(d.reason, SkipReason::superseded);
}

TEST(ScheduleMisfire, WeekLongOutageIsCountedNotListed) {
  Schedule s(Every{seconds(1), at("2026-05-01T00:00:00Z")}, TimePoint{});
  Due d = due_at(s, at("2026-05-01T00:00:00Z"), at("2026-05-08T00:00:00.5Z"), {});
  EXPECT_EQ(str(d.run), "2026-05-08T00:00:00.000Z");
  EXPECT_EQ(d.skipped_count, 7u * 86400 - 1);
  ASSERT_EQ(d.skipped.size(), kMaxListedSkips);
  EXPECT_EQ(format_rfc3339(d.skipped.front()), "2026-05-01T00:00:01.000Z");
  EXPECT_EQ(format_rfc3339(d.skipped.back()), "2026-05-01T00:01:40.000Z");

  // A minutely job's latest time is always less than a minute ago: on time, even
  // under misfire: skip; the rest of the week is superseded.
  Schedule minutely = cron("* * * * *");
  Due m = due_at(minutely, at("2026-05-01T00:00:00Z"), at("2026-05-08T00:00:30Z"), {Misfire::skip, std::nullopt});
  EXPECT_EQ(str(m.run), "2026-05-08T00:00:00.000Z");
  EXPECT_EQ(m.kind, RunKind::on_time);
  EXPECT_EQ(m.skipped_count, 7u * 1440 - 1);
  EXPECT_EQ(m.reason, SkipReason::superseded);
  EXPECT_EQ(m.skipped.size(), kMaxListedSkips);
  EXPECT_EQ(str(m.last_fire), "2026-05-08T00:00:00.000Z");
}

TEST(ScheduleMisfire, CronAcrossAnOutageAndDst) {
  // Down over the spring-forward night: 02:30 Berlin ran at 03:00 CEST (01:00Z), in
  // the outage; the catch-up run is for that time.
  Schedule s = cron("30 2 * * *", "Europe/Berlin");
  Due d = due_at(s, at("2026-03-28T01:30:00Z"), at("2026-03-29T06:00:00Z"), {Misfire::run_once, hours(6)});
  EXPECT_EQ(str(d.run), "2026-03-29T01:00:00.000Z");
  EXPECT_EQ(d.kind, RunKind::catch_up);
  EXPECT_EQ(d.skipped_count, 0u);
  EXPECT_EQ(str(d.next), "2026-03-30T00:30:00.000Z");
}

TEST(ScheduleMisfire, AtMissedWhileDown) {
  Schedule s(At{at("2026-05-01T02:00:00Z")}, TimePoint{});
  // First seen at 01:00; ferryd down from 01:30 to 04:00.
  Due d = due_at(s, at("2026-05-01T01:00:00Z"), at("2026-05-01T04:00:00Z"), {});
  EXPECT_EQ(str(d.run), "2026-05-01T02:00:00.000Z");
  EXPECT_EQ(d.kind, RunKind::catch_up);
  EXPECT_EQ(str(d.next), "none");
  // Once recorded it never runs again, not even after a restart.
  Due again = due_at(s, *d.last_fire, at("2026-05-02T00:00:00Z"), {});
  EXPECT_FALSE(again.run);
  EXPECT_EQ(again.skipped_count, 0u);
  // An `at` in the past when the job first appeared is not run.
  Due before = due_at(s, at("2026-05-01T03:00:00Z"), at("2026-05-01T04:00:00Z"), {});
  EXPECT_FALSE(before.run);
  EXPECT_FALSE(before.last_fire);
}

TEST(ScheduleMisfire, EveryWithoutStartKeepsItsRhythmOverARestart) {
  // Last fired 10:00; ferryd restarts at 14:20 and anchors on the last fire time.
  Schedule s(Every{hours(6), std::nullopt}, at("2026-05-01T10:00:00Z"));
  Due d = due_at(s, at("2026-05-01T10:00:00Z"), at("2026-05-01T14:20:00Z"), {});
  EXPECT_FALSE(d.run);
  EXPECT_EQ(str(d.next), "2026-05-01T16:00:00.000Z");
  Due later = due_at(s, at("2026-05-01T10:00:00Z"), at("2026-05-01T16:00:00.001Z"), {});
  EXPECT_EQ(str(later.run), "2026-05-01T16:00:00.000Z");
}

}  // namespace
}  // namespace ferry::schedule
