// Private to lib/watch: the inotify calls and the parsing of what read() returns.
// Pure or single non-blocking system calls; the watcher calls them on the loop.
#pragma once

#include <sys/inotify.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

namespace ferry::watch {

/// What the watcher listens for on the folder. IN_ATTRIB catches `touch`; IN_ONLYDIR
/// refuses a path that is not a folder; IN_EXCL_UNLINK drops events for unlinked files.
inline constexpr std::uint32_t kWatchMask = IN_CREATE | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_TO |
                                            IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |
                                            IN_EXCL_UNLINK;

/// The folder itself is gone for this watch: deleted, moved away or unmounted.
inline constexpr std::uint32_t kFolderLostMask = IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT;

struct InotifyEvent {
  int wd = -1;
  std::uint32_t mask = 0;
  std::string name;  ///< empty for events about the watched folder itself
};

/// Splits a buffer filled by read() on an inotify fd into events. A truncated record
/// at the end (the kernel never writes one) is dropped.
std::vector<InotifyEvent> parse_inotify_events(std::span<const char> bytes);

/// A new inotify instance, non-blocking and close-on-exec.
Expected<UniqueFd> open_inotify();

/// Adds the folder watch (kWatchMask) and returns its watch descriptor. Errors name
/// the folder and, for the inotify limits, the sysctl to raise.
Expected<int> add_folder_watch(int inotify_fd, const std::filesystem::path& dir);

}  // namespace ferry::watch
