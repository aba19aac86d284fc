// Waits for a file to appear in (or leave) a folder using real inotify, so tests
// await the event instead of sleeping. Start the watch before the action.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace ferry::test {

class DirWatch {
 public:
  explicit DirWatch(const std::filesystem::path& dir);
  ~DirWatch();
  DirWatch(const DirWatch&) = delete;
  DirWatch& operator=(const DirWatch&) = delete;

  /// The first file name (created, moved in, or already present) for which
  /// match() holds; nullopt after `limit` (a safety net, not a synchronisation).
  std::optional<std::string> wait_for(const std::function<bool(const std::string&)>& match,
                                      std::chrono::seconds limit = std::chrono::seconds(120));
  /// Waits until no file in the folder matches.
  bool wait_gone(const std::function<bool(const std::string&)>& match,
                 std::chrono::seconds limit = std::chrono::seconds(120));

 private:
  std::optional<std::string> present(const std::function<bool(const std::string&)>& match) const;
  bool next_event(std::chrono::steady_clock::time_point deadline);
  std::filesystem::path dir_;
  int fd_ = -1;
};

}  // namespace ferry::test
