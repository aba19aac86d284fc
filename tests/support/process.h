// Real processes for end-to-end tests: ferryd started with a NOTIFY_SOCKET the
// test owns, so "ready" and "stopping" are events the test waits for, not sleeps.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::test {

struct RunResult {
  int exit_code = -1;  ///< 128+N when killed by signal N
  std::string out;
  std::string err;
};

struct RunOptions {
  std::map<std::string, std::string> env;  ///< added to (or replacing in) the test's environment
  std::optional<std::filesystem::path> cwd;
  std::vector<std::string> prefix;         ///< e.g. {"setpriv", "--reuid=65534", ...}
};

/// Runs argv to completion and captures stdout and stderr.
RunResult run(const std::vector<std::string>& argv, const RunOptions& options = {});

/// Runs the ferryctl binary under test.
RunResult ferryctl(const std::vector<std::string>& args, const RunOptions& options = {});

/// A datagram socket that receives sd_notify messages ("READY=1", "STOPPING=1").
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path);
  ~NotifySocket();
  const std::filesystem::path& path() const { return path_; }
  /// Waits for a message containing `needle`; false after `limit` (a safety net, not a sync).
  bool wait_for(const std::string& needle, std::chrono::seconds limit = std::chrono::seconds(60));
  const std::vector<std::string>& received() const { return received_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::vector<std::string> received_;
};

/// One ferryd process. The constructor returns once ferryd sent READY=1 (or exited).
class Daemon {
 public:
  Daemon(const std::filesystem::path& config, const RunOptions& options = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }
  /// SIGTERM and wait; returns the exit code.
  int stop();
  /// SIGKILL and wait.
  void kill9();
  /// Everything ferryd wrote to stderr so far.
  std::string log() const;
  NotifySocket& notify() { return *notify_; }

 private:
  int wait();
  pid_t pid_ = -1;
  bool ready_ = false;
  std::filesystem::path log_path_;
  std::unique_ptr<NotifySocket> notify_;
};

}  // namespace ferry::test
