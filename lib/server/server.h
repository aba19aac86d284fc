// ferryd: the daemon. One Asio event loop owns the signals, the control socket
// and the timers; SQLite and other heavy work runs on the worker pool.
#pragma once

#include "config/config.h"
#include "util/error.h"

namespace ferry::server {

/// Runs the daemon until SIGTERM or SIGINT. Start-up failures (state folder,
/// catalog, socket) are returned before anything is served; READY=1 is sent to
/// systemd once everything runs, STOPPING=1 on the way out.
Status run(const config::Config& config);

/// `ferryd --check`: loads what the daemon would load at start besides the
/// configuration itself (the type registry; job files later) and reports every problem.
Status check(const config::Config& config);

}  // namespace ferry::server
