// Daemon logging: spdlog to stderr. Under systemd (JOURNAL_STREAM set) each line
// starts with a "<N>" syslog priority so journald keeps the level.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace ferry::logging {

enum class Target { plain, journald };

/// Target::journald when stderr is connected to the journal (JOURNAL_STREAM set).
Target detect_target();

/// Replaces spdlog's default logger with a stderr logger for the target.
/// Call once at start-up, before any other thread logs.
void init(Target target, spdlog::level::level_enum level);

/// Maps "trace|debug|info|warn|error" to spdlog levels; unknown words give info.
spdlog::level::level_enum parse_level(std::string_view word);

}  // namespace ferry::logging
