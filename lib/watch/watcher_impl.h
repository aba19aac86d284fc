// Private to lib/watch: FolderWatcher's state. Everything here runs on the event loop
// (one thread at a time); only the jobs handed to offload_ run on workers, and they
// touch nothing of this but post their result back.
//
// watcher.cpp: lifecycle, inotify, poll scans, losing and regaining the folder.
// readiness.cpp: per file, from first sight to reported (settle, sidecar check).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "watch/folder.h"
#include "watch/inotify.h"
#include "watch/watch.h"

namespace ferry::watch {

/// How a package file showed up in an inotify event or scan.
enum class Arrival {
  renamed_in,  ///< IN_MOVED_TO: complete at once
  written,     ///< created or changed in place, or found by a scan: wait for settle
};

/// Where one package file is on its way to being reported.
enum class Phase {
  settling,         ///< waiting until size and mtime stop changing
  checking,         ///< a worker hashes it against its sidecar
  waiting_sidecar,  ///< Sidecar::required, and the sidecar is missing or does not match
  reported,         ///< on_ready ran for this appearance
};

struct Entry {
  explicit Entry(const boost::asio::any_io_executor& loop) : settle_timer(loop) {}

  Phase phase = Phase::settling;
  Stamp stamp;              ///< as last seen
  std::uint64_t token = 0;  ///< of the current settle wait or check; stale completions differ
  std::uint64_t seen = 0;   ///< Impl::seq_ when last observed
  std::chrono::steady_clock::time_point stable_since;  ///< poll mode: when `stamp` was first seen
  std::optional<Stamp> checked_sidecar;                ///< poll mode: the sidecar as it was at the last check
  boost::asio::steady_timer settle_timer;              ///< inotify mode
};

struct FolderWatcher::Impl : std::enable_shared_from_this<FolderWatcher::Impl> {
  Impl(boost::asio::any_io_executor loop, std::filesystem::path dir, Options options, Offload offload, OnReady on_ready,
       OnError on_error);

  // watcher.cpp
  void start();
  void stop();
  bool stopped() const { return state_ == State::stopped; }
  bool polling() const { return options_.poll.count() > 0; }
  void watch_folder();
  void read_events();
  void on_events(std::size_t bytes, std::uint64_t generation);
  void dispatch(const InotifyEvent& event);
  void package_event(const InotifyEvent& event);
  void scan();
  void on_listing(Expected<Listing> listing, std::uint64_t started);
  void apply_listing(const Listing& listing, std::uint64_t started);
  void poll_scan();
  void on_poll_listing(Expected<Listing> listing, std::uint64_t started);
  void folder_lost(const Error& error);
  void note_lost(const Error& error);
  void close_inotify();

  // readiness.cpp
  void observe(const std::string& name, const Stamp& stamp, Arrival how);
  void observe_polled(const std::string& name, const Stamp& stamp, const std::optional<Stamp>& sidecar,
                      std::chrono::steady_clock::time_point now);
  void sidecar_changed(const std::string& package);
  void forget(const std::string& name) { files_.erase(name); }
  void arm_settle(const std::string& name, Entry& entry);
  void settle_expired(const std::string& name, std::uint64_t token);
  void ready(const std::string& name, Entry& entry);
  void start_check(const std::string& name, Entry& entry);
  void check_done(const std::string& name, std::uint64_t token, Expected<SidecarMatch> match);
  void report(const std::string& name, Entry& entry);

  /// Runs work() through offload_ on a worker, then done(*this, result) on the loop
  /// unless stopped by then. The loop counts the job as outstanding work meanwhile.
  template <typename R, typename Work, typename Done>
  void offload_then(Work work, Done done) {
    auto back = boost::asio::prefer(loop_, boost::asio::execution::outstanding_work.tracked);
    offload_([self = shared_from_this(), back, work, done]() {
      R result = work();  // worker thread: touches nothing of *self
      boost::asio::post(back, [self, done, result = std::move(result)]() mutable {
        if (!self->stopped()) done(*self, std::move(result));
      });
    });
  }

  enum class State { idle, running, stopped };
  enum class Health { ok, lost };  ///< lost: on_error has been told, not again until ok

  boost::asio::any_io_executor loop_;
  std::filesystem::path dir_;
  Options options_;
  Offload offload_;
  OnReady on_ready_;
  OnError on_error_;

  State state_ = State::idle;
  Health health_ = Health::ok;
  boost::asio::posix::stream_descriptor inotify_;
  int wd_ = -1;
  std::uint64_t fd_generation_ = 0;     ///< bumped on close, so a late read completion cannot re-arm
  std::vector<char> buffer_;            ///< inotify records; owned here while a read is pending
  boost::asio::steady_timer tick_;      ///< next poll scan, or the retry while the folder is lost
  std::map<std::string, Entry> files_;  ///< package files not yet forgotten, by name
  std::uint64_t seq_ = 0;               ///< counts observations, so a rescan keeps newer entries
  std::uint64_t tokens_ = 0;
};

}  // namespace ferry::watch
