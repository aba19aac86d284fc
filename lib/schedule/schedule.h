// Job schedules (PRODUCT.md section 6): `at`, `every` and `cron`, their fire times,
// and what is due after downtime or a stall (misfire). Pure functions of the times
// handed in: nothing here reads a clock, so a test can run a DST day or a week of
// downtime in microseconds. The caller keeps each job's last fire time on disk.
//
// Thread-safety: values only; any thread may call any function.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "schedule/cron.h"
#include "util/clock.h"
#include "util/error.h"

namespace ferry::schedule {

/// `schedule: {at: RFC3339}`: once.
struct At {
  TimePoint time;
  friend bool operator==(const At&, const At&) = default;
};

/// `schedule: {every: 6h, start: RFC3339}`: at start + k * interval (k >= 0). Without
/// start, the first run is one interval after the anchor given to Schedule.
struct Every {
  std::chrono::seconds interval{0};  ///< > 0
  std::optional<TimePoint> start;
  friend bool operator==(const Every&, const Every&) = default;
};

/// A schedule as a job file writes it.
using Spec = std::variant<At, Every, CronSchedule>;

/// For logs and `ferryctl job list`: "at 2026-11-23T01:00:00.000Z", "every 1h from
/// 2026-11-22T00:05:00.000Z", "every 1h30m", "cron '30 1 * * *' Europe/Berlin".
std::string describe(const Spec& spec);

/// "45s", "30m", "1h30m", "2d", "0s": the duration syntax job files use.
std::string format_duration(std::chrono::seconds d);

/// A Spec fixed in time: every fire time is known.
class Schedule {
 public:
  /// anchor matters only for `every` without `start`: fires are anchor + k * interval
  /// for k >= 1. Pass the job's last fire time when there is one (so a restart keeps
  /// the rhythm), else the time the job was loaded (PRODUCT.md 11a: the first run is
  /// one interval after load).
  Schedule(Spec spec, TimePoint anchor);

  /// The first fire time strictly after t; nullopt when there is none (an `at` that
  /// has passed).
  std::optional<TimePoint> next_after(TimePoint t) const;

  const Spec& spec() const { return spec_; }

 private:
  Spec spec_;
  TimePoint first_;  ///< `every`: the first fire time
};

enum class Misfire {
  run_once,  ///< after downtime, run the latest missed time once, at once
  skip,      ///< after downtime, skip what was missed and wait for the next time
};

struct MisfirePolicy {
  Misfire misfire = Misfire::run_once;
  /// A run may start at most this long after its time; later it is skipped, whatever
  /// `misfire` says. Absent: no bound.
  std::optional<std::chrono::seconds> starting_deadline;
};

/// A run this late or less is on time, not a misfire: timers fire a few ms late and
/// a short stall is not downtime.
inline constexpr std::chrono::seconds kOnTimeGrace{60};

/// Why a fire time was not run; to_string gives the text for logs and job history.
enum class SkipReason {
  superseded,     ///< a later fire time was run instead (at most one catch-up run)
  misfire_skip,   ///< missed, and the job's policy is misfire: skip
  past_deadline,  ///< missed by more than starting_deadline
};
std::string_view to_string(SkipReason reason);

enum class RunKind {
  on_time,   ///< at most kOnTimeGrace late
  catch_up,  ///< a missed time run late under misfire: run_once
};

/// The fire times of one job that fell due since it was last considered.
struct Due {
  /// The fire time to run now (the latest one due), if any.
  std::optional<TimePoint> run;
  RunKind kind = RunKind::on_time;
  /// Due fire times that are not run, earliest first; only the first kMaxListedSkips
  /// are listed, skipped_count counts them all.
  std::vector<TimePoint> skipped;
  uint64_t skipped_count = 0;
  SkipReason reason = SkipReason::superseded;  ///< of every skipped time
  /// The latest fire time at or before now: store it as the job's last fire time,
  /// whether it runs or is skipped, so it is never considered again. Absent: nothing
  /// fell due; keep the old value.
  std::optional<TimePoint> last_fire;
  /// The next fire time after now (arm the timer for it); absent: none.
  std::optional<TimePoint> next;
};

inline constexpr size_t kMaxListedSkips = 100;

/// What is due at `now` for a job whose fire times up to `since` were already dealt
/// with. `since` is the stored last fire time, or for a job that never fired the time
/// it was first loaded (so a new job does not make up for times before it existed).
/// Every fire time in (since, now] is either run (at most one: the latest) or skipped:
///   - latest later than starting_deadline: all skipped (past_deadline);
///   - latest at most kOnTimeGrace late: run on time, earlier ones superseded;
///   - else misfire run_once: latest run as a catch-up, earlier ones superseded;
///     misfire skip: all skipped (misfire_skip).
/// Counting long outages of a minutely cron stops after a million fire times.
Due due_at(const Schedule& schedule, TimePoint since, TimePoint now, const MisfirePolicy& policy);

}  // namespace ferry::schedule
