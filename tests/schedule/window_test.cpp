#include "schedule/window.h"

#include <gtest/gtest.h>

#include "util/time.h"

namespace ferry::schedule {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

TimePoint at(std::string_view text) {
  auto t = parse_rfc3339(text);
  EXPECT_TRUE(t) << text;
  return t ? *t : TimePoint{};
}

std::string str(std::optional<TimePoint> t) { return t ? format_rfc3339(*t) : "none"; }

WindowRule rule(std::string name, WindowKind kind, std::string_view cron, std::chrono::seconds duration,
                std::string_view zone = "UTC") {
  return {std::move(name), kind, *CronSchedule::parse(cron, zone), duration};
}

/// "open until CLOSE" or "closed (REASON), opens OPEN until CLOSE".
std::string state(const Windows& w, std::string_view name, std::string_view t) {
  auto s = w.status(name, at(t));
  if (!s) return "error: " + s.error().message;
  if (s->state == Openness::open) return "open until " + str(s->next_close);
  return "closed (" + s->reason + "), opens " + str(s->next_open) + " until " + str(s->next_close);
}

TEST(WindowAllow, OpensAtCronTimeForDuration) {
  Windows w({rule("nightly", WindowKind::allow, "0 1 * * *", hours(4), "Europe/Berlin")}, {});
  // 01:00-05:00 Berlin summer time is 23:00Z-03:00Z.
  EXPECT_EQ(state(w, "nightly", "2026-06-10T00:30:00Z"), "open until 2026-06-10T03:00:00.000Z");
  EXPECT_EQ(state(w, "nightly", "2026-06-09T23:00:00Z"), "open until 2026-06-10T03:00:00.000Z");
  EXPECT_EQ(state(w, "nightly", "2026-06-10T03:00:00Z"),
            "closed (outside window 'nightly'), opens 2026-06-10T23:00:00.000Z until 2026-06-11T03:00:00.000Z");
  EXPECT_EQ(state(w, "nightly", "2026-06-10T12:00:00Z"),
            "closed (outside window 'nightly'), opens 2026-06-10T23:00:00.000Z until 2026-06-11T03:00:00.000Z");
}

TEST(WindowAllow, AcrossMidnight) {
  Windows w({rule("late", WindowKind::allow, "0 22 * * *", hours(4))}, {});
  EXPECT_EQ(state(w, "late", "2026-06-11T01:00:00Z"), "open until 2026-06-11T02:00:00.000Z");
  EXPECT_EQ(state(w, "late", "2026-06-10T23:59:59Z"), "open until 2026-06-11T02:00:00.000Z");
  EXPECT_EQ(state(w, "late", "2026-06-11T02:00:00Z"),
            "closed (outside window 'late'), opens 2026-06-11T22:00:00.000Z until 2026-06-12T02:00:00.000Z");
}

TEST(WindowAllow, DaylightSavingNight) {
  // 02:30 does not exist on 29 March in Berlin: the window opens when the clocks jump.
  Windows w({rule("w", WindowKind::allow, "30 2 * * *", hours(1), "Europe/Berlin")}, {});
  EXPECT_EQ(state(w, "w", "2026-03-28T12:00:00Z"),
            "closed (outside window 'w'), opens 2026-03-29T01:00:00.000Z until 2026-03-29T02:00:00.000Z");
  // ...and on 25 October it opens once, at the first 02:30.
  EXPECT_EQ(state(w, "w", "2026-10-25T01:45:00Z"),
            "closed (outside window 'w'), opens 2026-10-26T01:30:00.000Z until 2026-10-26T02:30:00.000Z");
  EXPECT_EQ(state(w, "w", "2026-10-25T01:00:00Z"), "open until 2026-10-25T01:30:00.000Z");
}

TEST(WindowAllow, OverlappingOpeningsMerge) {
  Windows w({rule("hourly", WindowKind::allow, "0 * * * *", minutes(90)),
             rule("touching", WindowKind::allow, "0 0,2 * * *", hours(2))},
            {});
  EXPECT_EQ(state(w, "hourly", "2026-06-10T00:30:00Z"), "open until none");
  EXPECT_EQ(state(w, "touching", "2026-06-10T01:00:00Z"), "open until 2026-06-10T04:00:00.000Z");
}

TEST(WindowDeny, DenyWins) {
  // Daily 01:00-05:00, but nothing on Fridays (2026-06-12 is a Friday).
  Windows w({rule("nightly", WindowKind::allow, "0 1 * * *", hours(4)),
             rule("fridays", WindowKind::deny, "0 0 * * 5", hours(24))},
            {});
  EXPECT_EQ(state(w, "nightly", "2026-06-12T02:00:00Z"),
            "closed (deny window 'fridays' is open until 2026-06-13T00:00:00.000Z), opens 2026-06-13T01:00:00.000Z "
            "until 2026-06-13T05:00:00.000Z");
  // A deny window reports its own state.
  EXPECT_EQ(state(w, "fridays", "2026-06-12T02:00:00Z"), "open until 2026-06-13T00:00:00.000Z");
  EXPECT_EQ(state(w, "fridays", "2026-06-10T02:00:00Z"),
            "closed (), opens 2026-06-12T00:00:00.000Z until 2026-06-13T00:00:00.000Z");
}

TEST(WindowDeny, DenyOpeningCutsAnOpenWindowShort) {
  Windows w({rule("late", WindowKind::allow, "0 22 * * *", hours(6)),
             rule("fridays", WindowKind::deny, "0 0 * * 5", hours(24))},
            {});
  // Thursday 23:00: open, but only until Friday begins.
  EXPECT_EQ(state(w, "late", "2026-06-11T23:00:00Z"), "open until 2026-06-12T00:00:00.000Z");
  // Friday 22:00 opens into the deny window; work may start when Saturday begins.
  EXPECT_EQ(state(w, "late", "2026-06-12T21:00:00Z"),
            "closed (outside window 'late'; deny window 'fridays' is open until 2026-06-13T00:00:00.000Z), opens "
            "2026-06-13T00:00:00.000Z until 2026-06-13T04:00:00.000Z");
}

TEST(WindowExclusion, ExclusionWins) {
  Windows w({rule("nightly", WindowKind::allow, "0 1 * * *", hours(4))},
            {{at("2026-12-20T00:00:00Z"), at("2027-01-04T00:00:00Z"), "year-end freeze"}});
  EXPECT_EQ(state(w, "nightly", "2026-12-24T02:00:00Z"),
            "closed (exclusion 'year-end freeze' from 2026-12-20T00:00:00.000Z until 2027-01-04T00:00:00.000Z), "
            "opens 2027-01-04T01:00:00.000Z until 2027-01-04T05:00:00.000Z");
  EXPECT_EQ(state(w, "nightly", "2026-12-19T12:00:00Z"),
            "closed (outside window 'nightly'), opens 2027-01-04T01:00:00.000Z until 2027-01-04T05:00:00.000Z");
}

TEST(WindowExclusion, ExclusionStartingInsideAnOpenWindow) {
  Windows w({rule("nightly", WindowKind::allow, "0 1 * * *", hours(4))},
            {{at("2026-12-19T02:00:00Z"), at("2026-12-19T03:00:00Z"), ""}});
  EXPECT_EQ(state(w, "nightly", "2026-12-19T01:30:00Z"), "open until 2026-12-19T02:00:00.000Z");
  EXPECT_EQ(state(w, "nightly", "2026-12-19T02:30:00Z"),
            "closed (exclusion from 2026-12-19T02:00:00.000Z until 2026-12-19T03:00:00.000Z), opens "
            "2026-12-19T03:00:00.000Z until 2026-12-19T05:00:00.000Z");
}

TEST(WindowStatusList, UnknownAndAll) {
  Windows w({rule("nightly", WindowKind::allow, "0 1 * * *", hours(4)),
             rule("freeze", WindowKind::deny, "0 0 1 12 *", hours(24))},
            {});
  EXPECT_EQ(state(w, "weekly", "2026-06-10T00:00:00Z"),
            "error: no maintenance window named 'weekly'; configured: nightly, freeze");
  EXPECT_EQ(w.status("weekly", at("2026-06-10T00:00:00Z")).error().code, Errc::not_found);
  auto all = w.all(at("2026-06-10T02:00:00Z"));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "nightly");
  EXPECT_EQ(all[0].state, Openness::open);
  EXPECT_EQ(all[1].name, "freeze");
  EXPECT_EQ(all[1].kind, WindowKind::deny);
  EXPECT_EQ(all[1].state, Openness::closed);
  EXPECT_EQ(str(all[1].next_open), "2026-12-01T00:00:00.000Z");
  EXPECT_EQ(Windows().all(at("2026-06-10T02:00:00Z")).size(), 0u);
}

}  // namespace
}  // namespace ferry::schedule
