#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace ferry::test {

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> make_env(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  env.erase("NOTIFY_SOCKET");
  env.erase("JOURNAL_STREAM");
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

pid_t spawn(std::vector<std::string> argv, const RunOptions& options, const std::filesystem::path& out,
            const std::filesystem::path& err) {
  std::vector<std::string> full = options.prefix;
  full.insert(full.end(), argv.begin(), argv.end());
  auto env = make_env(options.env);
  auto c_argv = c_strings(full);
  auto c_env = c_strings(env);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (options.cwd) posix_spawn_file_actions_addchdir_np(&actions, options.cwd->c_str());
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, c_argv[0], &actions, nullptr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn " + full[0] + ": " + std::strerror(rc));
  return pid;
}

int wait_pid(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::filesystem::path scratch(const std::string& what) {
  static int counter = 0;
  return std::filesystem::temp_directory_path() /
         ("ferry-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "." + what);
}

}  // namespace

RunResult run(const std::vector<std::string>& argv, const RunOptions& options) {
  auto out = scratch("out");
  auto err = scratch("err");
  pid_t pid = spawn(argv, options, out, err);
  RunResult r;
  r.exit_code = wait_pid(pid);
  r.out = slurp(out);
  r.err = slurp(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

RunResult ferryctl(const std::vector<std::string>& args, const RunOptions& options) {
  std::vector<std::string> argv{FERRYCTL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, options);
}

NotifySocket::NotifySocket(const std::filesystem::path& path) : path_(path) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  std::filesystem::remove(path);
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw std::runtime_error("cannot bind notify socket " + path.string());
  }
  ::chmod(path.c_str(), 0666);  // a daemon started under another uid must reach it
}

NotifySocket::~NotifySocket() {
  ::close(fd_);
  std::filesystem::remove(path_);
}

bool NotifySocket::wait_for(const std::string& needle, std::chrono::seconds limit) {
  for (const auto& m : received_)
    if (m.find(needle) != std::string::npos) return true;
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) continue;
    received_.emplace_back(buf, static_cast<size_t>(n));
    if (received_.back().find(needle) != std::string::npos) return true;
  }
}

Daemon::Daemon(const std::filesystem::path& config, const RunOptions& options) {
  notify_ = std::make_unique<NotifySocket>(scratch("notify"));
  log_path_ = scratch("ferryd.log");
  RunOptions o = options;
  o.env["NOTIFY_SOCKET"] = notify_->path().string();
  pid_ = spawn({FERRYD_PATH, "--config", config.string()}, o, scratch("ferryd.out"), log_path_);
  ready_ = notify_->wait_for("READY=1", std::chrono::seconds(60));
}

Daemon::~Daemon() {
  if (pid_ > 0) stop();
  std::filesystem::remove(log_path_);
}

int Daemon::wait() {
  int rc = wait_pid(pid_);
  pid_ = -1;
  return rc;
}

int Daemon::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  return wait();
}

void Daemon::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait();
}

std::string Daemon::log() const { return slurp(log_path_); }

}  // namespace ferry::test
