// Maintenance windows (PRODUCT.md section 7): named allow and deny windows that open
// at each time of a cron schedule and stay open for a duration, and one-off
// exclusions. Work tied to an allow window may start only while that window is open
// and no deny window and no exclusion is active: deny and exclusions win.
//
// Pure: every answer is a function of the time handed in. Thread-safety: Windows is
// immutable after construction; any thread may call its const members.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schedule/cron.h"
#include "util/clock.h"
#include "util/error.h"

namespace ferry::schedule {

enum class WindowKind { allow, deny };

/// One entry of maintenance.windows: opens at each fire time of `opens`, closes
/// `duration` later. Openings that overlap or touch make one longer opening.
struct WindowRule {
  std::string name;
  WindowKind kind = WindowKind::allow;
  CronSchedule opens;
  std::chrono::seconds duration{0};  ///< > 0
};

/// One entry of maintenance.exclusions: nothing starts in [from, to).
struct Exclusion {
  TimePoint from;
  TimePoint to;
  std::string reason;
};

enum class Openness { open, closed };

/// A window's state at one time, for starting work and for `ferryctl status`.
struct WindowStatus {
  std::string name;
  WindowKind kind = WindowKind::allow;
  Openness state = Openness::closed;
  /// Closed: when work may next start (allow: the window open and nothing denying).
  /// Absent when open, or when that is more than a year away.
  std::optional<TimePoint> next_open = {};
  /// Open: when it closes. Closed: when the opening at next_open closes. Absent when
  /// more than a year away.
  std::optional<TimePoint> next_close = {};
  /// Closed: why, for logs and `waiting_window` ("outside window 'nightly'",
  /// "deny window 'freeze' is open until ...", "exclusion 'year-end freeze' until ...").
  std::string reason = {};
};

class Windows {
 public:
  Windows() = default;
  /// REQUIRES: window names unique, durations > 0, exclusions from < to (config checks).
  Windows(std::vector<WindowRule> rules, std::vector<Exclusion> exclusions);

  /// The window's state at t. For an allow window "open" means work may start: the
  /// window is open and no deny window or exclusion is active. A deny window reports
  /// its own opening and closing. Unknown names are not_found.
  Expected<WindowStatus> status(std::string_view name, TimePoint t) const;
  /// Every window in configuration order, for `ferryctl status`.
  std::vector<WindowStatus> all(TimePoint t) const;

  const std::vector<WindowRule>& rules() const { return rules_; }
  const std::vector<Exclusion>& exclusions() const { return exclusions_; }
  /// nullptr for an unknown name.
  const WindowRule* find(std::string_view name) const;

 private:
  WindowStatus allow_status(const WindowRule& rule, TimePoint t) const;
  std::optional<TimePoint> effective_close(const WindowRule& rule, TimePoint t) const;
  std::string blocked_by(TimePoint t) const;

  std::vector<WindowRule> rules_;
  std::vector<Exclusion> exclusions_;
};

}  // namespace ferry::schedule
