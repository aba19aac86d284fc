// Cron expressions and time zones: the calendar half of schedules and maintenance
// windows (PRODUCT.md sections 6 and 7). Pure: no clock, no I/O except the system
// tz database, which date/tz reads once per zone on first use.
//
// Thread-safety: Cron, Zone and CronSchedule are immutable values; any thread may
// call their const members at the same time.
#pragma once

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "util/clock.h"
#include "util/error.h"

namespace date {
class time_zone;
}

namespace ferry::schedule {

/// How a cron schedule treats daylight-saving jumps, following cronie (see
/// docs/jobs.md, "Daylight saving"). A schedule is `fixed_time` when neither its
/// minute nor its hour field starts with '*' ("30 2 * * *", "0 1-3 * * 0"); every
/// other one ("*/15 * * * *", "5 * * * *", "0 */2 * * *") `follows_clock`.
enum class DstRule {
  fixed_time,     ///< skipped local times run at the end of the gap; repeated ones run once
  follows_clock,  ///< runs at the local times that exist, as often as they occur
};

/// A parsed 5-field cron expression: minute hour day-of-month month day-of-week.
/// Fields take '*', numbers, ranges "1-5", lists "1,3,5", steps "*/15" and "1-30/5";
/// months take jan-dec and days of the week sun-sat (0 and 7 are both Sunday).
/// When both day-of-month and day-of-week are restricted (neither starts with '*'),
/// a day matches if either one matches (the Vixie/cronie rule).
class Cron {
 public:
  /// Parses text. Errors are invalid_argument and name the field and what it takes,
  /// e.g. "hour: 24 is out of range; expected 0-23". An expression that can never
  /// run ("0 0 31 2 *") is refused too.
  static Expected<Cron> parse(std::string_view text);

  /// The expression as written.
  const std::string& text() const { return text_; }
  DstRule dst_rule() const { return dst_rule_; }

  /// Whether the calendar day matches (month, day-of-month and day-of-week).
  bool matches_day(std::chrono::year_month_day day) const;
  /// Whether hour:minute matches; hour 0-23, minute 0-59.
  bool matches_time(int hour, int minute) const { return hours_.test(hour) && minutes_.test(minute); }

  /// The first local wall-clock minute at or after `from` and before `until` that
  /// matches, with wall-clock times written as if they were UTC (sys_time holds the
  /// local reading, no zone applied). nullopt if none.
  std::optional<std::chrono::sys_time<std::chrono::minutes>> first_match(
      std::chrono::sys_time<std::chrono::minutes> from, std::chrono::sys_time<std::chrono::minutes> until) const;

  friend bool operator==(const Cron& a, const Cron& b) { return a.text_ == b.text_; }

 private:
  enum class DayRule { both, either };
  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     ///< 1-31
  std::bitset<13> months_;   ///< 1-12
  std::bitset<7> weekdays_;  ///< 0 = Sunday
  DayRule day_rule_ = DayRule::both;
  DstRule dst_rule_ = DstRule::follows_clock;
};

/// A time zone from the system tz database.
class Zone {
 public:
  /// "Europe/Berlin", "UTC", ... Unknown names are invalid_argument with a hint.
  static Expected<Zone> find(std::string_view name);
  static Zone utc();

  const std::string& name() const { return name_; }
  /// The offset from UTC in effect at t (daylight saving included).
  std::chrono::seconds offset_at(TimePoint t) const;
  const date::time_zone* tz() const { return tz_; }

  friend bool operator==(const Zone& a, const Zone& b) { return a.name_ == b.name_; }

 private:
  Zone(std::string name, const date::time_zone* tz) : name_(std::move(name)), tz_(tz) {}
  std::string name_;
  const date::time_zone* tz_;
};

/// t in the zone's local time with its offset: "2026-03-29T03:00:00+02:00".
std::string format_local(TimePoint t, const Zone& zone);

/// A cron expression read in a time zone: `{cron: "30 1 * * *", timezone: Europe/Berlin}`.
struct CronSchedule {
  Cron cron;
  Zone zone = Zone::utc();

  /// Parses both; the error names which one is wrong.
  static Expected<CronSchedule> parse(std::string_view cron, std::string_view timezone);

  /// The first fire time strictly after t, with daylight-saving jumps handled per
  /// dst_rule() (cronie's rule): for fixed_time schedules a local time skipped by a
  /// forward jump fires at the first instant after the gap, and a local time that
  /// repeats after a backward jump fires only at its first occurrence. nullopt when
  /// nothing fires in the next 10 years.
  std::optional<TimePoint> next_after(TimePoint t) const;

  friend bool operator==(const CronSchedule&, const CronSchedule&) = default;
};

}  // namespace ferry::schedule
