// RFC 3339 timestamps as operators read and write them (always UTC on output).
#pragma once

#include <string>
#include <string_view>

#include "util/clock.h"
#include "util/error.h"

namespace ferry {

/// "2026-11-24T06:12:57.123Z" (millisecond precision, UTC).
std::string format_rfc3339(TimePoint t);

/// Accepts "2026-11-23T02:00:00+01:00", "...Z", with optional fractional seconds.
Expected<TimePoint> parse_rfc3339(std::string_view text);

/// Sets TZ to ":/etc/localtime" when it is unset. Without TZ, glibc stats
/// /etc/localtime on every mktime() and localtime(), and libzip calls mktime() for
/// each entry of a zip's central directory: a tenth of an import's time at 20k
/// objects. (ferry itself works in UTC; only log lines use local time.) Call at the
/// start of main, before any thread exists (setenv is not thread-safe).
void pin_local_time_zone();

}  // namespace ferry
