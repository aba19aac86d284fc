#include "logging/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>
#include <memory>

namespace ferry::logging {

namespace {

// journald reads "<N>" at the start of a line as the syslog priority (sd-daemon.h).
class PriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    char p = '6';
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: p = '7'; break;
      case spdlog::level::info: p = '6'; break;
      case spdlog::level::warn: p = '4'; break;
      case spdlog::level::err: p = '3'; break;
      case spdlog::level::critical: p = '2'; break;
      default: break;
    }
    const char text[3] = {'<', p, '>'};
    dest.append(text, text + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<PriorityFlag>(); }
};

}  // namespace

Target detect_target() { return std::getenv("JOURNAL_STREAM") != nullptr ? Target::journald : Target::plain; }

void init(Target target, spdlog::level::level_enum level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("ferryd", sink);
  std::unique_ptr<spdlog::pattern_formatter> formatter;
  if (target == Target::journald) {
    // journald adds its own time stamp and unit name.
    formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<PriorityFlag>('*').set_pattern("%*%v");
  } else {
    formatter = std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                                                            spdlog::pattern_time_type::utc);
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

spdlog::level::level_enum parse_level(std::string_view word) {
  if (word == "trace") return spdlog::level::trace;
  if (word == "debug") return spdlog::level::debug;
  if (word == "warn") return spdlog::level::warn;
  if (word == "error") return spdlog::level::err;
  return spdlog::level::info;
}

}  // namespace ferry::logging
