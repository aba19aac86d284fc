#include "schedule/schedule.h"

#include <utility>

#include "util/time.h"

namespace ferry::schedule {

namespace {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};

/// Stops counting the fire times of a long outage; the latest is still found.
constexpr uint64_t kMaxCounted = 1'000'000;

/// The fire times in (since, now]: how many, the first few and the latest.
struct Missed {
  uint64_t count = 0;
  std::vector<TimePoint> first;  ///< up to kMaxListedSkips + 1
  std::optional<TimePoint> latest;
};

void add(Missed& m, TimePoint t) {
  ++m.count;
  if (m.first.size() <= kMaxListedSkips) m.first.push_back(t);
  m.latest = t;
}

/// `every` by arithmetic: a week of `every: 1s` downtime costs nothing.
Missed missed_every(TimePoint first, std::chrono::seconds interval, TimePoint since, TimePoint now) {
  Missed m;
  if (now < first) return m;
  using Rep = TimePoint::duration::rep;
  const Rep step = std::chrono::duration_cast<TimePoint::duration>(interval).count();
  Rep lo = since < first ? 0 : (since - first).count() / step + 1;
  Rep hi = (now - first).count() / step;
  if (hi < lo) return m;
  m.count = static_cast<uint64_t>(hi - lo + 1);
  for (Rep k = lo; k <= hi && m.first.size() <= kMaxListedSkips; ++k)
    m.first.push_back(first + TimePoint::duration(k * step));
  m.latest = first + TimePoint::duration(hi * step);
  return m;
}

Missed missed_by_walking(const Schedule& s, TimePoint since, TimePoint now) {
  Missed m;
  auto f = s.next_after(since);
  for (; f && *f <= now && m.count < kMaxCounted; f = s.next_after(*f)) add(m, *f);
  if (f && *f <= now) {
    // Too many to count: find the latest without counting the rest. Every valid cron
    // fires within 400 days that are this dense.
    TimePoint from = std::max(*f, now - std::chrono::days(400));
    for (auto g = s.next_after(from); g && *g <= now; g = s.next_after(*g)) m.latest = *g;
  }
  return m;
}

}  // namespace

std::string format_duration(std::chrono::seconds d) {
  if (d.count() == 0) return "0s";
  std::string out;
  auto part = [&](int64_t unit, char suffix) {
    int64_t n = d.count() / unit;
    if (n > 0) out += std::to_string(n) + suffix;
    d -= std::chrono::seconds(n * unit);
  };
  part(86400, 'd');
  part(3600, 'h');
  part(60, 'm');
  part(1, 's');
  return out;
}

std::string describe(const Spec& spec) {
  return std::visit(Overload{
                        [](const At& a) { return "at " + format_rfc3339(a.time); },
                        [](const Every& e) {
                          return "every " + format_duration(e.interval) +
                                 (e.start ? " from " + format_rfc3339(*e.start) : std::string());
                        },
                        [](const CronSchedule& c) { return "cron '" + c.cron.text() + "' " + c.zone.name(); },
                    },
                    spec);
}

Schedule::Schedule(Spec spec, TimePoint anchor) : spec_(std::move(spec)), first_(anchor) {
  if (const auto* every = std::get_if<Every>(&spec_)) first_ = every->start ? *every->start : anchor + every->interval;
}

std::optional<TimePoint> Schedule::next_after(TimePoint t) const {
  return std::visit(Overload{
                        [&](const At& a) -> std::optional<TimePoint> {
                          if (a.time > t) return a.time;
                          return std::nullopt;
                        },
                        [&](const Every& e) -> std::optional<TimePoint> {
                          if (t < first_) return first_;
                          const auto step = std::chrono::duration_cast<TimePoint::duration>(e.interval);
                          return first_ + ((t - first_) / step + 1) * step;
                        },
                        [&](const CronSchedule& c) { return c.next_after(t); },
                    },
                    spec_);
}

std::string_view to_string(SkipReason reason) {
  switch (reason) {
    case SkipReason::superseded:
      return "missed; a later missed time ran instead (at most one catch-up run)";
    case SkipReason::misfire_skip:
      return "missed while ferryd was down or stalled (misfire: skip)";
    case SkipReason::past_deadline:
      return "missed by more than starting_deadline";
  }
  return "missed";
}

Due due_at(const Schedule& schedule, TimePoint since, TimePoint now, const MisfirePolicy& policy) {
  Missed m;
  if (const auto* every = std::get_if<Every>(&schedule.spec())) {
    // The first fire time is the one after "long ago" (a first run at or before it).
    auto first = schedule.next_after(TimePoint::min());
    if (first) m = missed_every(*first, every->interval, since, now);
  } else {
    m = missed_by_walking(schedule, since, now);
  }
  Due due;
  due.next = schedule.next_after(now);
  if (!m.latest) return due;
  due.last_fire = m.latest;
  const auto late = now - *m.latest;
  bool run = false;
  if (policy.starting_deadline && late > *policy.starting_deadline) {
    due.reason = SkipReason::past_deadline;
  } else if (late <= kOnTimeGrace) {
    run = true;
  } else if (policy.misfire == Misfire::run_once) {
    run = true;
    due.kind = RunKind::catch_up;
  } else {
    due.reason = SkipReason::misfire_skip;
  }
  if (run) due.run = m.latest;
  due.skipped_count = m.count - (run ? 1 : 0);
  for (const auto& t : m.first)
    if (due.skipped.size() < std::min<uint64_t>(due.skipped_count, kMaxListedSkips)) due.skipped.push_back(t);
  return due;
}

}  // namespace ferry::schedule
