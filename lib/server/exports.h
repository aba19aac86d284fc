// Exports that are running now: what `package stop` cancels, what the maintenance
// freeze names, and what SIGTERM waits for. Event loop only.
#pragma once

#include <atomic>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "util/clock.h"

namespace ferry::server {

struct RunningExport {
  std::string id;
  std::string name;
  std::string user;
  TimePoint started_at;
  std::stop_source stop;               ///< the package writer's cancellation
  std::atomic<bool> cancelled{false};  ///< the delivery copy's cancellation
  std::string cancelled_by;            ///< written before `cancelled` is set, read after

  /// Asks the export to stop; it ends `cancelled` and leaves no file. Event loop.
  void cancel(std::string by) {
    if (cancelled) return;
    cancelled_by = std::move(by);
    cancelled = true;  // seq_cst store publishes cancelled_by to the worker
    stop.request_stop();
  }
};

class Exports {
 public:
  std::shared_ptr<RunningExport> add(std::string id, std::string name, std::string user, TimePoint started_at);
  void remove(const std::string& id);
  /// The export running with this id, or nullptr.
  std::shared_ptr<RunningExport> find(const std::string& id) const;
  /// The longest-running export, or nullptr when none runs.
  std::shared_ptr<RunningExport> oldest() const;
  void cancel_all();

 private:
  std::vector<std::shared_ptr<RunningExport>> running_;
};

}  // namespace ferry::server
