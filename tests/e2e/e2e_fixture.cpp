#include "e2e/e2e_fixture.h"

#include <thread>

namespace ferry::test {

bool poll_until(const std::function<bool()>& done, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

std::filesystem::path source_path(const std::string& relative) {
  return std::filesystem::path(FERRY_SOURCE_DIR) / relative;
}

std::filesystem::path Environment::configure(Key key, const std::string& extra) {
  std::string signing;
  if (key == Key::yes) {
    std::filesystem::create_directories(dir() / "keys");
    RunOptions in_keys;
    in_keys.cwd = dir() / "keys";
    auto r = ferryctl({"keygen", id_}, in_keys);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    signing = "signing: {key: keys/" + id_ + ".key, trusted: [keys/" + id_ + ".pub]}\n";
  }
  config_ = write_text(dir() / "ferryd.yaml", "environment: {id: " + id_ +
                                                  ", engine: single}\n"
                                                  "state_dir: state\n"
                                                  "socket: run/ferryd.sock\n"
                                                  "jobs_dir: jobs.d\n"
                                                  "types: " +
                                                  source_path("etc/types.yaml").string() + "\n" + signing + extra);
  return config_;
}

void Environment::start(const RunOptions& options) {
  daemon_ = std::make_unique<Daemon>(config_, options);
  ASSERT_TRUE(daemon_->ready()) << daemon_->log();
}

RunResult Environment::ctl(std::vector<std::string> args, const RunOptions& options) const {
  args.insert(args.begin(), {"--socket", socket().string()});
  return ferryctl(args, options);
}

nlohmann::json Environment::ctl_json(std::vector<std::string> args) const {
  args.insert(args.begin(), "--json");
  auto r = ctl(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return nlohmann::json::object();
  return nlohmann::json::parse(r.out);
}

}  // namespace ferry::test
