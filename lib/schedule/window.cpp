#include "schedule/window.h"

#include <algorithm>

#include "util/time.h"

namespace ferry::schedule {

namespace {

/// How far status answers look ahead; beyond it a time is reported as absent.
constexpr std::chrono::days kLookAhead{366};

bool raw_open(const WindowRule& w, TimePoint t) {
  // Open at t iff some opening f has f <= t < f + duration, i.e. the first opening
  // after t - duration is not after t.
  auto f = w.opens.next_after(t - w.duration);
  return f && *f <= t;
}

/// REQUIRES: raw_open(w, t). Openings that overlap or touch extend each other.
std::optional<TimePoint> raw_close(const WindowRule& w, TimePoint t) {
  const TimePoint horizon = t + kLookAhead;
  TimePoint opened = *w.opens.next_after(t - w.duration);
  TimePoint close = opened + w.duration;
  for (auto next = w.opens.next_after(opened); next && *next <= close; next = w.opens.next_after(*next)) {
    close = *next + w.duration;
    if (close > horizon) return std::nullopt;
  }
  return close;
}

bool active(const Exclusion& e, TimePoint t) { return e.from <= t && t < e.to; }

void keep_earliest(std::optional<TimePoint>& best, std::optional<TimePoint> candidate) {
  if (candidate && (!best || *candidate < *best)) best = candidate;
}

}  // namespace

Windows::Windows(std::vector<WindowRule> rules, std::vector<Exclusion> exclusions)
    : rules_(std::move(rules)), exclusions_(std::move(exclusions)) {}

const WindowRule* Windows::find(std::string_view name) const {
  auto it = std::ranges::find(rules_, name, &WindowRule::name);
  return it == rules_.end() ? nullptr : &*it;
}

Expected<WindowStatus> Windows::status(std::string_view name, TimePoint t) const {
  const WindowRule* rule = find(name);
  if (rule == nullptr) {
    std::string names;
    for (const auto& r : rules_) names += (names.empty() ? "" : ", ") + r.name;
    return fail(Errc::not_found, "no maintenance window named '" + std::string(name) +
                                     "'; configured: " + (names.empty() ? "none" : names));
  }
  if (rule->kind == WindowKind::allow) return allow_status(*rule, t);
  WindowStatus s{.name = rule->name, .kind = rule->kind};
  if (raw_open(*rule, t)) {
    s.state = Openness::open;
    s.next_close = raw_close(*rule, t);
  } else if (auto opens = rule->opens.next_after(t); opens && *opens <= t + kLookAhead) {
    s.next_open = opens;
    s.next_close = raw_close(*rule, *opens);
  }
  return s;
}

std::vector<WindowStatus> Windows::all(TimePoint t) const {
  std::vector<WindowStatus> out;
  for (const auto& r : rules_) out.push_back(*status(r.name, t));
  return out;
}

std::string Windows::blocked_by(TimePoint t) const {
  std::string out;
  auto add = [&out](const std::string& why) { out += (out.empty() ? "" : "; ") + why; };
  for (const auto& e : exclusions_) {
    if (!active(e, t)) continue;
    add("exclusion" + (e.reason.empty() ? std::string() : " '" + e.reason + "'") + " from " + format_rfc3339(e.from) +
        " until " + format_rfc3339(e.to));
  }
  for (const auto& w : rules_) {
    if (w.kind != WindowKind::deny || !raw_open(w, t)) continue;
    auto close = raw_close(w, t);
    add("deny window '" + w.name + "' is open" + (close ? " until " + format_rfc3339(*close) : std::string()));
  }
  return out;
}

std::optional<TimePoint> Windows::effective_close(const WindowRule& rule, TimePoint t) const {
  std::optional<TimePoint> close = raw_close(rule, t);
  for (const auto& w : rules_)
    if (w.kind == WindowKind::deny) keep_earliest(close, w.opens.next_after(t));
  for (const auto& e : exclusions_)
    if (e.from > t) keep_earliest(close, e.from);
  if (close && *close > t + kLookAhead) return std::nullopt;
  return close;
}

WindowStatus Windows::allow_status(const WindowRule& rule, TimePoint t) const {
  WindowStatus s{.name = rule.name, .kind = rule.kind};
  const TimePoint horizon = t + kLookAhead;
  // Walk forward from t, past each closed stretch of the window and past every deny
  // window and exclusion in the way, until all agree.
  std::optional<TimePoint> start = t;
  while (start && *start <= horizon) {
    if (!raw_open(rule, *start)) {
      start = rule.opens.next_after(*start);
      continue;
    }
    std::optional<TimePoint> clear = *start;  // the latest end of whatever blocks
    for (const auto& w : rules_) {
      if (w.kind != WindowKind::deny || !raw_open(w, *start)) continue;
      auto close = raw_close(w, *start);
      clear = close ? std::max(*clear, *close) : close;
      if (!clear) break;
    }
    for (const auto& e : exclusions_)
      if (clear && active(e, *start)) clear = std::max(*clear, e.to);
    if (clear == start) break;
    start = clear;
  }
  if (start == t) {
    s.state = Openness::open;
    s.next_close = effective_close(rule, t);
    return s;
  }
  std::string why = raw_open(rule, t) ? std::string() : "outside window '" + rule.name + "'";
  std::string blocked = blocked_by(t);
  s.reason = why + (why.empty() || blocked.empty() ? "" : "; ") + blocked;
  if (start && *start <= horizon) {
    s.next_open = start;
    s.next_close = effective_close(rule, *start);
  }
  return s;
}

}  // namespace ferry::schedule
