#include "support/dir_watch.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <stdexcept>

namespace ferry::test {

DirWatch::DirWatch(const std::filesystem::path& dir) : dir_(dir) {
  std::filesystem::create_directories(dir);
  fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd_ < 0 || ::inotify_add_watch(fd_, dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM) < 0) {
    throw std::runtime_error("inotify on " + dir.string() + " failed");
  }
}

DirWatch::~DirWatch() { ::close(fd_); }

std::optional<std::string> DirWatch::present(const std::function<bool(const std::string&)>& match) const {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    auto name = e.path().filename().string();
    if (match(name)) return name;
  }
  return std::nullopt;
}

// Drains one batch of events; false once the deadline has passed.
bool DirWatch::next_event(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) > 0) {
    alignas(inotify_event) char buf[65536];
    while (::read(fd_, buf, sizeof(buf)) > 0) {
    }
  }
  return true;
}

std::optional<std::string> DirWatch::wait_for(const std::function<bool(const std::string&)>& match,
                                              std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  do {
    if (auto name = present(match)) return name;
  } while (next_event(deadline));
  return std::nullopt;
}

bool DirWatch::wait_gone(const std::function<bool(const std::string&)>& match, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  do {
    if (!present(match)) return true;
  } while (next_event(deadline));
  return false;
}

}  // namespace ferry::test
