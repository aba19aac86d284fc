#include "server/notify.h"

#include <systemd/sd-daemon.h>

#include <string>

namespace ferry::server {

namespace {
void send(const std::string& state) { (void)sd_notify(0, state.c_str()); }
}  // namespace

void notify_ready(std::string_view status) { send("READY=1\nSTATUS=" + std::string(status)); }
void notify_status(std::string_view status) { send("STATUS=" + std::string(status)); }
void notify_stopping() { send("STOPPING=1\nSTATUS=stopping"); }
void notify_watchdog() { send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec / 2);
}

}  // namespace ferry::server
