// systemd service notifications (sd_notify). Every call is a no-op when ferryd was
// not started by systemd (NOTIFY_SOCKET unset), so tests and manual runs need nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace ferry::server {

void notify_ready(std::string_view status);
void notify_status(std::string_view status);
void notify_stopping();
void notify_watchdog();

/// The interval at which WATCHDOG=1 must be sent (half of WATCHDOG_USEC), if enabled.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace ferry::server
