#include "schedule/cron.h"

#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <span>
#include <vector>

namespace ferry::schedule {

namespace {

using std::chrono::ceil;
using std::chrono::days;
using std::chrono::floor;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::sys_seconds;
using Wall = std::chrono::sys_time<minutes>;  // a local wall-clock reading, no zone applied

// Far enough for "0 0 29 2 *" across a century year that is not a leap year
// (2096 -> 2104), short enough that a search always ends quickly.
constexpr days kHorizon{366 * 10};

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  std::string_view expected;
  std::span<const std::string_view> names;  ///< names[i] stands for min_named + i
  int min_named;
};

constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59, "0-59", {}, 0},
    {"hour", 0, 23, "0-23", {}, 0},
    {"day-of-month", 1, 31, "1-31", {}, 0},
    {"month", 1, 12, "1-12 or jan-dec", kMonthNames, 1},
    {"day-of-week", 0, 7, "0-7 or sun-sat (0 and 7 are Sunday)", kDayNames, 0},
};

std::unexpected<Error> bad(const FieldSpec& f, const std::string& message) {
  return fail(Errc::invalid_argument, std::string(f.name) + ": " + message);
}

std::unexpected<Error> bad_syntax(const FieldSpec& f, std::string_view item) {
  return bad(f, "expected " + std::string(f.expected) +
                    ", a range such as 1-5, a list such as 1,3 or a step such as */15 or 1-30/5; got '" +
                    std::string(item) + "'");
}

std::optional<int> parse_number(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

/// One value of a field: a number in range or (month, day-of-week) a name.
Expected<int> parse_value(const FieldSpec& f, std::string_view item, std::string_view token) {
  if (auto n = parse_number(token)) {
    if (*n < f.min || *n > f.max)
      return bad(f, std::to_string(*n) + " is out of range; expected " + std::string(f.expected));
    return *n;
  }
  std::string lower(token);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t i = 0; i < f.names.size(); ++i)
    if (f.names[i] == lower) return f.min_named + static_cast<int>(i);
  return bad_syntax(f, item);
}

/// One comma-separated item: "*", "5", "1-5", "*/15", "1-30/5".
Status parse_item(const FieldSpec& f, std::string_view item, std::bitset<64>& bits) {
  if (item.empty()) return bad_syntax(f, item);
  std::string_view range = item;
  int step = 1;
  if (size_t slash = item.find('/'); slash != std::string_view::npos) {
    range = item.substr(0, slash);
    auto n = parse_number(item.substr(slash + 1));
    const int count = f.max - f.min + (f.names.size() == 7 ? 0 : 1);  // 0 and 7 are one day
    if (!n || *n < 1 || *n > count)
      return bad(f,
                 "expected a step from 1 to " + std::to_string(count) + " after '/'; got '" + std::string(item) + "'");
    step = *n;
    if (range != "*" && range.find('-') == std::string_view::npos)
      return bad(f, "a step needs '*' or a range before it, such as */15 or 5-59/15; got '" + std::string(item) + "'");
  }
  int low = f.min;
  int high = f.max;
  if (range != "*") {
    size_t dash = range.find('-');
    auto first = parse_value(f, item, range.substr(0, dash));
    if (!first) return std::unexpected(first.error());
    low = high = *first;
    if (dash != std::string_view::npos) {
      auto last = parse_value(f, item, range.substr(dash + 1));
      if (!last) return std::unexpected(last.error());
      high = *last;
      if (high < low) return bad(f, "range '" + std::string(range) + "' runs backwards; write the smaller value first");
    }
  }
  for (int v = low; v <= high; v += step) bits.set(static_cast<size_t>(v));
  return {};
}

Expected<std::bitset<64>> parse_field(const FieldSpec& f, std::string_view text) {
  std::bitset<64> bits;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (auto ok = parse_item(f, item, bits); !ok) return std::unexpected(ok.error());
    if (comma == std::string_view::npos) return bits;
    start = comma + 1;
  }
}

template <size_t N>
std::bitset<N> take(const std::bitset<64>& bits) {
  std::bitset<N> out;
  for (size_t i = 0; i < N; ++i) out[i] = bits[i];
  return out;
}

std::vector<std::string_view> split_fields(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

/// The most days a month can have (February: 29, in leap years).
int max_days(int month) {
  constexpr int kDays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[month];
}

}  // namespace

Expected<Cron> Cron::parse(std::string_view text) {
  auto fields = split_fields(text);
  if (fields.size() != 5) {
    return fail(Errc::invalid_argument,
                "expected a cron expression of 5 fields (minute hour day-of-month month day-of-week); got " +
                    std::to_string(fields.size()) + " in '" + std::string(text) + "'");
  }
  std::bitset<64> bits[5];
  for (size_t i = 0; i < 5; ++i) {
    auto b = parse_field(kFields[i], fields[i]);
    if (!b) return std::unexpected(b.error());
    bits[i] = *b;
  }
  Cron c;
  c.text_ = std::string(text);
  c.minutes_ = take<60>(bits[0]);
  c.hours_ = take<24>(bits[1]);
  c.days_ = take<32>(bits[2]);
  c.months_ = take<13>(bits[3]);
  c.weekdays_ = take<7>(bits[4]);
  if (bits[4].test(7)) c.weekdays_.set(0);
  // cronie decides by the first character: "*/2" counts as unrestricted too.
  bool dom_star = fields[2].front() == '*';
  bool dow_star = fields[4].front() == '*';
  c.day_rule_ = dom_star || dow_star ? DayRule::both : DayRule::either;
  c.dst_rule_ = fields[0].front() == '*' || fields[1].front() == '*' ? DstRule::follows_clock : DstRule::fixed_time;

  if (c.day_rule_ == DayRule::both) {
    bool meets = false;
    for (int m = 1; m <= 12; ++m)
      for (int d = 1; d <= max_days(m); ++d) meets = meets || (c.months_.test(m) && c.days_.test(d));
    if (!meets) {
      return fail(Errc::invalid_argument, "day-of-month and month never meet (no month in '" + std::string(fields[3]) +
                                              "' has a day '" + std::string(fields[2]) + "'); '" + std::string(text) +
                                              "' would never run");
    }
  }
  return c;
}

bool Cron::matches_day(std::chrono::year_month_day day) const {
  if (!months_.test(static_cast<unsigned>(day.month()))) return false;
  bool dom = days_.test(static_cast<unsigned>(day.day()));
  bool dow = weekdays_.test(std::chrono::weekday(sys_days(day)).c_encoding());
  return day_rule_ == DayRule::both ? dom && dow : dom || dow;
}

std::optional<Wall> Cron::first_match(Wall from, Wall until) const {
  sys_days day = floor<days>(from);
  minutes time_of_day = from - day;
  while (day < until) {
    std::chrono::year_month_day ymd(day);
    if (!months_.test(static_cast<unsigned>(ymd.month()))) {
      day = sys_days((ymd.year() / ymd.month() / 1) + std::chrono::months(1));
      time_of_day = minutes(0);
      continue;
    }
    if (matches_day(ymd)) {
      auto h0 = std::chrono::floor<std::chrono::hours>(time_of_day);
      for (int h = static_cast<int>(h0.count()); h < 24; ++h) {
        if (!hours_.test(h)) continue;
        int m0 = h == h0.count() ? static_cast<int>((time_of_day - h0).count()) : 0;
        for (int m = m0; m < 60; ++m) {
          if (!minutes_.test(m)) continue;
          Wall at = day + std::chrono::hours(h) + minutes(m);
          if (at < until) return at;
          return std::nullopt;
        }
      }
    }
    day += days(1);
    time_of_day = minutes(0);
  }
  return std::nullopt;
}

Expected<Zone> Zone::find(std::string_view name) {
  try {
    const date::time_zone* tz = date::locate_zone(std::string(name));
    return Zone(std::string(name), tz);
  } catch (const std::exception&) {
    return fail(Errc::invalid_argument, "unknown time zone '" + std::string(name) +
                                            "'; expected a name from the tz database such as Europe/Berlin or UTC");
  }
}

Zone Zone::utc() {
  static const date::time_zone* const tz = date::locate_zone("UTC");
  return Zone("UTC", tz);
}

std::chrono::seconds Zone::offset_at(TimePoint t) const { return tz_->get_info(floor<seconds>(t)).offset; }

std::string format_local(TimePoint t, const Zone& zone) {
  return date::format("%FT%T%Ez", date::make_zoned(zone.tz(), floor<seconds>(t)));
}

Expected<CronSchedule> CronSchedule::parse(std::string_view cron, std::string_view timezone) {
  auto c = Cron::parse(cron);
  if (!c) return std::unexpected(c.error());
  auto z = Zone::find(timezone);
  if (!z) return std::unexpected(z.error());
  return CronSchedule{std::move(*c), std::move(*z)};
}

// The zone's history is a series of segments with one UTC offset each. Inside a
// segment local time runs like UTC, so each segment is searched as wall-clock time;
// the daylight-saving rules apply only where two segments meet.
std::optional<TimePoint> CronSchedule::next_after(TimePoint t) const {
  const date::time_zone* tz = zone.tz();
  const sys_seconds start = floor<seconds>(t);
  const sys_seconds horizon = start + kHorizon;
  const bool fixed = cron.dst_rule() == DstRule::fixed_time;
  date::sys_info info = tz->get_info(start);
  std::optional<seconds> prev;  // the offset of the segment before `info`
  if (fixed && info.begin > sys_days(std::chrono::year(1900) / 1 / 1))
    prev = tz->get_info(info.begin - seconds(1)).offset;
  Wall from = floor<minutes>(start + info.offset) + minutes(1);
  for (bool first = true;; first = false) {
    if (!first) {
      // Forward jump: local times [begin+prev, begin+offset) never happen. A fixed-time
      // run among them fires at the first instant after the gap.
      if (fixed && info.offset > *prev &&
          cron.first_match(ceil<minutes>(info.begin + *prev), ceil<minutes>(info.begin + info.offset))) {
        return TimePoint(info.begin);
      }
      from = ceil<minutes>(info.begin + info.offset);
    }
    // Backward jump: local times [begin+offset, begin+prev) happen twice. A fixed-time
    // run already fired at their first occurrence, in the segment before.
    if (fixed && prev && *prev > info.offset) from = std::max(from, ceil<minutes>(info.begin + *prev));
    Wall until = ceil<minutes>(std::min(info.end, horizon) + info.offset);
    if (auto at = cron.first_match(from, until)) return TimePoint(*at - info.offset);
    if (info.end >= horizon) return std::nullopt;
    prev = info.offset;
    info = tz->get_info(info.end);
  }
}

}  // namespace ferry::schedule
