#include "util/time.h"

#include <date/date.h>

#include <cstdlib>
#include <sstream>

namespace ferry {

std::string format_rfc3339(TimePoint t) {
  return date::format("%FT%TZ", std::chrono::floor<std::chrono::milliseconds>(t));
}

Expected<TimePoint> parse_rfc3339(std::string_view text) {
  // %Ez accepts "+01:00"; a trailing Z is handled separately because %z does not take it.
  std::string s(text);
  bool utc = !s.empty() && (s.back() == 'Z' || s.back() == 'z');
  if (utc) s.pop_back();
  std::istringstream in(s);
  date::sys_time<std::chrono::microseconds> tp;
  if (utc) {
    in >> date::parse("%FT%T", tp);
  } else {
    std::chrono::minutes offset{};
    in >> date::parse("%FT%T%Ez", tp, offset);
  }
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) {
    return fail(Errc::invalid_argument, "'" + std::string(text) +
                                            "' is not an RFC 3339 time (expected e.g. 2026-11-23T02:00:00Z "
                                            "or 2026-11-23T02:00:00+01:00)");
  }
  return tp;
}

void pin_local_time_zone() { ::setenv("TZ", ":/etc/localtime", /*overwrite=*/0); }

}  // namespace ferry
