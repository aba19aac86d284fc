// The scheduler (PRODUCT.md sections 6 and 7): loads the job files (at start, on
// SIGHUP, and when a file in jobs_dir changes), keeps one Asio timer per scheduled job
// armed for its next fire time (no polling), decides what is due after downtime
// (misfire), applies concurrency and maintenance windows, and starts exports. Job
// state (first seen, last fire time) and history live in records.db. Event loop only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "jobs/jobs.h"
#include "schedule/window.h"
#include "server/context.h"
#include "server/export_job.h"

namespace ferry::server {

/// How a run came about; stored in job history.
enum class Trigger { schedule, catch_up, manual, manual_now };
std::string_view to_string(Trigger trigger);

class Scheduler {
 public:
  /// windows: maintenance.windows and exclusions, from jobs::maintenance_windows().
  Scheduler(Context& ctx, schedule::Windows windows);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// First load (on the calling thread: call before the loop runs, so READY=1 means
  /// the jobs are in effect) and the jobs_dir watch. Timers are armed once the loop runs.
  void start();
  /// Reloads the job files soon (coalescing requests that arrive during a reload).
  void request_reload(std::string why);
  /// Cancels every timer and the watch; runs waiting for a window are dropped
  /// (their records stay waiting_window and are failed as interrupted on the next start).
  void stop();

  /// `job list`: one entry per job in effect.
  nlohmann::json list() const;
  /// Current load errors of the job files, for `ferryctl status`.
  std::vector<std::string> errors() const { return set_.errors(); }
  size_t job_count() const { return set_.jobs.size(); }
  const schedule::Windows& windows() const { return windows_; }

  /// `job run NAME [--now]`: starts a run now (or queues it for its window). With
  /// wait, returns the final package record once the run ended.
  boost::asio::awaitable<Expected<nlohmann::json>> run(std::string name, Trigger trigger, std::string user, bool wait,
                                                       control::Responder& responder);

 private:
  struct Slot;
  struct Pending;

  boost::asio::awaitable<void> reload(std::string why);
  void apply(jobs::JobSet next);
  void evaluate_soon(const std::string& name);
  boost::asio::awaitable<void> evaluate(std::string name, uint64_t generation);
  /// fired_at: when the timer fired or the request came (history's recorded_at).
  /// last_fire: stored with the run's records (a scheduled run), or nullopt (manual).
  boost::asio::awaitable<Expected<std::shared_ptr<Pending>>> fire(Slot& slot, TimePoint due, TimePoint fired_at,
                                                                  Trigger trigger, std::string user,
                                                                  std::optional<TimePoint> last_fire);
  boost::asio::awaitable<void> record_skip(std::string job, TimePoint due, Trigger trigger, std::string user,
                                           std::string reason);
  /// A waiting run that will not start: its record ends cancelled with why.
  boost::asio::awaitable<void> drop(std::shared_ptr<Pending> p, std::string why);
  void start_pending(Slot& slot);
  void arm_window(Slot& slot);
  void arm_close(Slot& slot);
  boost::asio::awaitable<void> follow(std::string name, uint64_t generation, std::shared_ptr<RunningExport> running);
  void watch_dir();
  void read_events();
  Slot* find(const std::string& name, uint64_t generation);

  Context& ctx_;
  schedule::Windows windows_;
  jobs::JobSet set_;
  std::map<std::string, std::unique_ptr<Slot>> slots_;
  uint64_t next_generation_ = 1;
  bool reloading_ = false;
  std::optional<std::string> again_;  ///< a reload asked for while one ran
  bool stopped_ = false;
  std::optional<boost::asio::posix::stream_descriptor> inotify_;
  std::array<char, 4096> events_{};
};

}  // namespace ferry::server
