// FolderWatcher's lifecycle and its two ways of seeing the folder: inotify (events,
// plus a scan at start and after a queue overflow) and poll scans. Loop thread only.
#include <boost/asio/error.hpp>

#include <algorithm>
#include <string>
#include <utility>

#include "watch/watch.h"
#include "watch/watcher_impl.h"

namespace ferry::watch {
namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

/// Room for many events per read(); each is 16 bytes plus its NUL-padded name.
constexpr std::size_t kEventBufferBytes = 64 * 1024;

Options sanitized(Options o) {
  o.poll = std::max(o.poll, milliseconds(0));
  o.settle = std::max(o.settle, milliseconds(0));
  o.retry = std::max(o.retry, milliseconds(1));
  return o;
}

std::string seconds_text(milliseconds d) {
  auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

}  // namespace

FolderWatcher::Impl::Impl(boost::asio::any_io_executor loop, fs::path dir, Options options, Offload offload,
                          OnReady on_ready, OnError on_error)
    : loop_(loop),
      dir_(std::move(dir)),
      options_(sanitized(options)),
      offload_(std::move(offload)),
      on_ready_(std::move(on_ready)),
      on_error_(std::move(on_error)),
      inotify_(loop),
      buffer_(kEventBufferBytes),
      tick_(loop) {}

void FolderWatcher::Impl::start() {
  if (state_ != State::idle) return;
  state_ = State::running;
  if (polling()) {
    poll_scan();
  } else {
    watch_folder();
  }
}

void FolderWatcher::Impl::stop() {
  state_ = State::stopped;
  tick_.cancel();
  close_inotify();
  files_.clear();  // their timers' waits complete with operation_aborted
}

void FolderWatcher::Impl::close_inotify() {
  ++fd_generation_;
  wd_ = -1;
  boost::system::error_code ignored;
  inotify_.close(ignored);
}

// --- inotify mode ------------------------------------------------------------------

/// Watch first, then scan: a file arriving in between is seen twice, never missed.
void FolderWatcher::Impl::watch_folder() {
  auto fd = open_inotify();
  if (!fd) return folder_lost(fd.error());
  auto wd = add_folder_watch(fd->get(), dir_);
  if (!wd) return folder_lost(wd.error());
  boost::system::error_code ec;
  inotify_.assign(fd->release(), ec);
  if (ec) return folder_lost(Error{Errc::io, "watched folder " + dir_.string() + ": inotify: " + ec.message()});
  wd_ = *wd;
  read_events();
  scan();
}

void FolderWatcher::Impl::read_events() {
  inotify_.async_read_some(boost::asio::buffer(buffer_), [self = shared_from_this(), generation = fd_generation_](
                                                             boost::system::error_code ec, std::size_t bytes) {
    if (ec == boost::asio::error::operation_aborted || self->stopped() || generation != self->fd_generation_) return;
    if (ec) {
      return self->folder_lost(
          Error{Errc::io, "watched folder " + self->dir_.string() + ": read inotify events: " + ec.message()});
    }
    self->on_events(bytes, generation);
  });
}

void FolderWatcher::Impl::on_events(std::size_t bytes, std::uint64_t generation) {
  for (const InotifyEvent& event : parse_inotify_events(std::span(buffer_.data(), bytes))) {
    dispatch(event);
    if (stopped() || generation != fd_generation_) return;  // the rest belongs to a closed watch
  }
  read_events();
}

void FolderWatcher::Impl::dispatch(const InotifyEvent& event) {
  if (event.mask & IN_Q_OVERFLOW) return scan();  // events were dropped: look at everything
  if (event.wd != wd_) return;
  if (event.mask & kFolderLostMask) {
    return folder_lost(Error{Errc::not_found, "watched folder " + dir_.string() +
                                                  " was removed, moved or unmounted; ferryd watches it again "
                                                  "once it is back (checked every " +
                                                  seconds_text(options_.retry) + ")"});
  }
  if (event.mask & IN_ISDIR) return;
  switch (classify(event.name)) {
    case NameKind::package:
      return package_event(event);
    case NameKind::sidecar:
      if (event.mask & (IN_MOVED_TO | IN_CLOSE_WRITE)) sidecar_changed(package_of_sidecar(event.name));
      return;
    case NameKind::other:
      return;
  }
}

void FolderWatcher::Impl::package_event(const InotifyEvent& event) {
  if (event.mask & (IN_MOVED_FROM | IN_DELETE)) return forget(event.name);
  auto stamp = stat_regular(dir_ / event.name);  // local file system: a cached metadata lookup
  if (!stamp) return forget(event.name);
  observe(event.name, *stamp, (event.mask & IN_MOVED_TO) ? Arrival::renamed_in : Arrival::written);
}

/// Start, overflow and regaining the folder: the scan runs on a worker. Its result is
/// dropped if the watch it belongs to has been closed meanwhile.
void FolderWatcher::Impl::scan() {
  offload_then<Expected<Listing>>([dir = dir_] { return scan_folder(dir); },
                                  [started = seq_, generation = fd_generation_](Impl& self, Expected<Listing> listing) {
                                    if (generation == self.fd_generation_) self.on_listing(std::move(listing), started);
                                  });
}

void FolderWatcher::Impl::on_listing(Expected<Listing> listing, std::uint64_t started) {
  if (!listing) return folder_lost(listing.error());
  apply_listing(*listing, started);
}

/// Forgets files that were not listed and not seen since the scan began, then
/// observes every listed package.
void FolderWatcher::Impl::apply_listing(const Listing& listing, std::uint64_t started) {
  health_ = Health::ok;
  std::erase_if(
      files_, [&](const auto& item) { return item.second.seen <= started && !listing.packages.contains(item.first); });
  auto now = std::chrono::steady_clock::now();
  for (const auto& [name, stamp] : listing.packages) {
    if (polling()) {
      auto sidecar = listing.sidecars.find(name + std::string(kSidecarSuffix));
      observe_polled(name, stamp,
                     sidecar == listing.sidecars.end() ? std::nullopt : std::optional<Stamp>(sidecar->second), now);
    } else {
      observe(name, stamp, Arrival::written);
    }
    if (stopped()) return;  // on_ready may have stopped us
  }
}

// --- losing the folder --------------------------------------------------------------

/// inotify mode: drop the watch and what we knew, tell the owner once, try again later.
void FolderWatcher::Impl::folder_lost(const Error& error) {
  close_inotify();
  note_lost(error);
  if (stopped()) return;
  tick_.expires_after(options_.retry);
  tick_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->stopped()) return;
    self->watch_folder();
  });
}

void FolderWatcher::Impl::note_lost(const Error& error) {
  files_.clear();  // when the folder is back, what is in it is a new appearance
  if (health_ == Health::lost) return;
  health_ = Health::lost;
  if (on_error_) on_error_(error);
}

// --- poll mode ----------------------------------------------------------------------

void FolderWatcher::Impl::poll_scan() {
  offload_then<Expected<Listing>>(
      [dir = dir_] { return scan_folder(dir); },
      [started = seq_](Impl& self, Expected<Listing> listing) { self.on_poll_listing(std::move(listing), started); });
}

/// The next scan is timed from the end of this one, so slow scans never overlap.
void FolderWatcher::Impl::on_poll_listing(Expected<Listing> listing, std::uint64_t started) {
  if (listing) {
    apply_listing(*listing, started);
  } else {
    note_lost(listing.error());
  }
  if (stopped()) return;
  tick_.expires_after(options_.poll);
  tick_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->stopped()) return;
    self->poll_scan();
  });
}

// --- FolderWatcher ------------------------------------------------------------------

FolderWatcher::FolderWatcher(boost::asio::any_io_executor loop, fs::path dir, Options options, Offload offload,
                             OnReady on_ready, OnError on_error)
    : impl_(std::make_shared<Impl>(std::move(loop), std::move(dir), options, std::move(offload), std::move(on_ready),
                                   std::move(on_error))) {}

FolderWatcher::~FolderWatcher() { impl_->stop(); }

void FolderWatcher::start() { impl_->start(); }

void FolderWatcher::stop() { impl_->stop(); }

const fs::path& FolderWatcher::dir() const { return impl_->dir_; }

}  // namespace ferry::watch
