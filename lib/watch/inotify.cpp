#include "watch/inotify.h"

#include <cerrno>
#include <cstring>

namespace ferry::watch {

std::vector<InotifyEvent> parse_inotify_events(std::span<const char> bytes) {
  std::vector<InotifyEvent> events;
  size_t offset = 0;
  while (offset + sizeof(inotify_event) <= bytes.size()) {
    inotify_event header;  // copied out: the buffer carries no alignment guarantee
    std::memcpy(&header, bytes.data() + offset, sizeof header);
    size_t end = offset + sizeof header + header.len;
    if (end > bytes.size()) break;
    const char* name = bytes.data() + offset + sizeof header;
    events.push_back(InotifyEvent{header.wd, header.mask, std::string(name, ::strnlen(name, header.len))});
    offset = end;
  }
  return events;
}

Expected<UniqueFd> open_inotify() {
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (fd) return fd;
  int err = errno;
  if (err == EMFILE) {
    return fail(Errc::unavailable, "inotify_init1: " + errno_text(err) +
                                       "; raise fs.inotify.max_user_instances or use poll: for this folder");
  }
  return fail(Errc::io, "inotify_init1: " + errno_text(err));
}

Expected<int> add_folder_watch(int inotify_fd, const std::filesystem::path& dir) {
  int wd = ::inotify_add_watch(inotify_fd, dir.c_str(), kWatchMask);
  if (wd >= 0) return wd;
  int err = errno;
  std::string head = "watched folder " + dir.string();
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return fail(Errc::not_found, head + " does not exist: inotify_add_watch: " + errno_text(err) +
                                       "; create it (or mount it) or correct watch.dir in the configuration");
    case ENOSPC:
      return fail(Errc::unavailable, head + ": inotify_add_watch: " + errno_text(err) +
                                         "; raise fs.inotify.max_user_watches or use poll: for this folder");
    case EACCES:
      return fail(Errc::io, head + " is not readable by ferryd: inotify_add_watch: " + errno_text(err) +
                                "; give ferryd's user access to it");
    default:
      return fail(Errc::io, head + ": inotify_add_watch: " + errno_text(err));
  }
}

}  // namespace ferry::watch
