// One package file's way from first sight to on_ready: settle, then (Sidecar::required)
// a hash check on a worker. Loop thread only.
#include <utility>

#include "watch/watcher_impl.h"

namespace ferry::watch {

/// inotify mode, from events and scans. A rename is a new, complete appearance; a write
/// (re)starts the settle wait, unless the file was already reported in this appearance.
void FolderWatcher::Impl::observe(const std::string& name, const Stamp& stamp, Arrival how) {
  auto [it, created] = files_.try_emplace(name, loop_);
  Entry& entry = it->second;
  entry.seen = ++seq_;
  if (how == Arrival::renamed_in) {
    entry.stamp = stamp;
    return ready(name, entry);
  }
  if (!created && entry.stamp == stamp) return;  // no change: the running wait or check stands
  if (!created && entry.phase == Phase::reported && entry.stamp.same_file(stamp)) return;  // once per appearance
  entry.stamp = stamp;
  arm_settle(name, entry);
}

/// Poll mode, once per scan. Without a sidecar rule a file is ready when its stamp has
/// not changed for `settle`; with one, when it has not changed since the last scan and
/// a sidecar is there that was not checked against this stamp yet.
void FolderWatcher::Impl::observe_polled(const std::string& name, const Stamp& stamp,
                                         const std::optional<Stamp>& sidecar,
                                         std::chrono::steady_clock::time_point now) {
  auto [it, created] = files_.try_emplace(name, loop_);
  Entry& entry = it->second;
  entry.seen = ++seq_;
  bool fresh = created || (entry.phase == Phase::reported ? !entry.stamp.same_file(stamp) : entry.stamp != stamp);
  if (fresh) {
    entry.stamp = stamp;
    entry.stable_since = now;
    entry.phase = Phase::settling;
    entry.token = ++tokens_;  // a check still running was for the old content
    entry.checked_sidecar.reset();
    return;
  }
  if (entry.phase == Phase::reported || entry.phase == Phase::checking) return;
  if (options_.sidecar == Sidecar::required) {
    if (sidecar && sidecar != entry.checked_sidecar) {
      entry.checked_sidecar = sidecar;
      start_check(name, entry);
    }
    return;
  }
  if (now - entry.stable_since >= options_.settle) report(name, entry);
}

/// inotify mode: NAME.zip.sha256 was written or renamed in. A matching sidecar proves
/// the package complete, so the check runs now rather than after settle.
void FolderWatcher::Impl::sidecar_changed(const std::string& package) {
  if (options_.sidecar == Sidecar::optional) return;
  auto stamp = stat_regular(dir_ / package);
  if (!stamp) return;  // the package comes later; its own event starts the check
  auto [it, created] = files_.try_emplace(package, loop_);
  Entry& entry = it->second;
  entry.seen = ++seq_;
  if (!created && entry.phase == Phase::reported && entry.stamp.same_file(*stamp)) return;
  entry.stamp = *stamp;
  entry.settle_timer.cancel();
  start_check(package, entry);
}

/// Re-arming cancels the previous wait; the new token makes a wait that had already
/// completed (queued, not yet run) harmless.
void FolderWatcher::Impl::arm_settle(const std::string& name, Entry& entry) {
  entry.phase = Phase::settling;
  entry.token = ++tokens_;
  entry.settle_timer.expires_after(options_.settle);
  entry.settle_timer.async_wait([self = shared_from_this(), name, token = entry.token](boost::system::error_code ec) {
    if (ec || self->stopped()) return;
    self->settle_expired(name, token);
  });
}

void FolderWatcher::Impl::settle_expired(const std::string& name, std::uint64_t token) {
  auto it = files_.find(name);
  if (it == files_.end() || it->second.token != token) return;
  Entry& entry = it->second;
  auto stamp = stat_regular(dir_ / name);
  if (!stamp) return forget(name);
  if (*stamp != entry.stamp) {  // changed without an event we acted on (or in the same tick): wait again
    entry.stamp = *stamp;
    return arm_settle(name, entry);
  }
  ready(name, entry);
}

void FolderWatcher::Impl::ready(const std::string& name, Entry& entry) {
  if (options_.sidecar == Sidecar::optional) return report(name, entry);
  start_check(name, entry);
}

/// Hashing blocks for as long as the package is large: it runs on a worker.
void FolderWatcher::Impl::start_check(const std::string& name, Entry& entry) {
  entry.phase = Phase::checking;
  entry.token = ++tokens_;
  offload_then<Expected<SidecarMatch>>([file = dir_ / name] { return check_sidecar(file); },
                                       [name, token = entry.token](Impl& self, Expected<SidecarMatch> match) {
                                         self.check_done(name, token, std::move(match));
                                       });
}

/// A missing or wrong sidecar is not an error: the transfer may still be under way.
/// The next change of the package or its sidecar checks again.
void FolderWatcher::Impl::check_done(const std::string& name, std::uint64_t token, Expected<SidecarMatch> match) {
  auto it = files_.find(name);
  if (it == files_.end() || it->second.token != token) return;
  Entry& entry = it->second;
  if (match && *match == SidecarMatch::matches) return report(name, entry);
  entry.phase = Phase::waiting_sidecar;
  if (!match && on_error_) on_error_(match.error());
}

/// on_ready runs last: it may stop or destroy the watcher.
void FolderWatcher::Impl::report(const std::string& name, Entry& entry) {
  entry.phase = Phase::reported;
  entry.token = ++tokens_;
  entry.settle_timer.cancel();
  on_ready_(dir_ / name);
}

}  // namespace ferry::watch
