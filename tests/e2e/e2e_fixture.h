// One environment for end-to-end tests: a temporary folder with ferryd.yaml, a
// state folder, a socket, and (optionally) a signing key made by `ferryctl keygen`.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace ferry::test {

class Environment {
 public:
  explicit Environment(std::string id) : id_(std::move(id)) {}

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path socket() const { return dir() / "run/ferryd.sock"; }
  std::filesystem::path store() const { return dir() / "state/packages"; }
  /// jobs_dir (not created by configure()).
  std::filesystem::path jobs_dir() const { return dir() / "jobs.d"; }

  /// Writes ferryd.yaml; with Key::yes first runs `ferryctl keygen` in dir()/keys.
  enum class Key { no, yes };
  std::filesystem::path configure(Key key, const std::string& extra = "");

  void start(const RunOptions& options = {});
  Daemon& daemon() { return *daemon_; }
  void kill9() { daemon_->kill9(); }
  int stop() { return daemon_->stop(); }

  RunResult ctl(std::vector<std::string> args, const RunOptions& options = {}) const;
  /// Runs `ferryctl --json ARGS`, expects exit 0 and returns the document.
  nlohmann::json ctl_json(std::vector<std::string> args) const;

 private:
  std::string id_;
  TempDir dir_;
  std::filesystem::path config_;
  std::unique_ptr<Daemon> daemon_;
};

/// Calls done() until it is true (every 50 ms); false after `limit`, a safety net
/// for outcomes that can only be polled (`import show` while submit hooks run).
bool poll_until(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(120));

/// The repository's etc/ folder.
std::filesystem::path source_path(const std::string& relative);

}  // namespace ferry::test
