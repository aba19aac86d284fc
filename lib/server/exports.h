// Exports that are running now, and packages some other work holds: what `package
// stop` cancels, what the maintenance freeze names, what `--wait` follows, what
// SIGTERM waits for, and what `package delete` and retention must leave alone.
// Event loop only, except where a member says otherwise.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "util/clock.h"

namespace ferry::server {

struct ExportProgress {
  int64_t objects_done = 0, objects_total = 0;
  uint64_t bytes_done = 0, bytes_total = 0;
};

struct RunningExport {
  explicit RunningExport(boost::asio::any_io_executor loop) : changed(std::move(loop)) {
    changed.expires_at(boost::asio::steady_timer::time_point::max());
  }

  std::string id;
  std::string name;
  std::string user;
  TimePoint started_at;
  std::stop_source stop;               ///< the package writer's cancellation; any thread
  std::atomic<bool> cancelled{false};  ///< the delivery copy's cancellation; any thread
  std::string cancelled_by;            ///< written before `cancelled` is set, read after

  ExportProgress progress;               ///< latest figures
  std::optional<nlohmann::json> result;  ///< the final package record, once the export ended
  /// Never expires: cancel() wakes every waiter after progress or the end, and it
  /// keeps waiting after that (cancel does not change the expiry).
  boost::asio::steady_timer changed;

  /// Asks the export to stop; it ends `cancelled` and leaves no file.
  void cancel(std::string by) {
    if (cancelled) return;
    cancelled_by = std::move(by);
    cancelled = true;  // seq_cst store publishes cancelled_by to the worker
    stop.request_stop();
  }
  void update(const ExportProgress& p) {
    progress = p;
    changed.cancel();
  }
  void finish(nlohmann::json record) {
    result = std::move(record);
    changed.cancel();
  }
};

class Exports {
 public:
  std::shared_ptr<RunningExport> add(boost::asio::any_io_executor loop, std::string id, std::string name,
                                     std::string user, TimePoint started_at);
  void remove(const std::string& id);
  /// The export running with this id, or nullptr.
  std::shared_ptr<RunningExport> find(const std::string& id) const;
  /// The longest-running export, or nullptr when none runs.
  std::shared_ptr<RunningExport> oldest() const;
  /// Oldest first.
  const std::vector<std::shared_ptr<RunningExport>>& running() const { return running_; }
  void cancel_all();

  /// Marks a finished package as held by `what` ("forwarded", "deleted", "pruned")
  /// until release(); false when it is running or already held.
  bool hold(const std::string& id, std::string what);
  void release(const std::string& id);
  /// What holds the package ("exporting", or what hold() was given); nullopt if free.
  std::optional<std::string> holder(const std::string& id) const;

 private:
  std::vector<std::shared_ptr<RunningExport>> running_;
  std::multimap<std::string, std::string> held_;
};

}  // namespace ferry::server
