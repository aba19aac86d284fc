#include "server/submit.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <cstring>
#include <fstream>

#include "schedule/schedule.h"
#include "util/fd.h"
#include "util/time.h"

extern char** environ;

namespace ferry::server {

namespace asio = boost::asio;

namespace {

constexpr size_t kTailBytes = 2048;
constexpr size_t kTailLines = 20;
/// What is kept of stderr while it is read: enough for kTailBytes after the cut.
constexpr size_t kKeepBytes = 4 * kTailBytes;

constexpr const char* kSubmitting = "submitting";
constexpr const char* kSubmitted = "submitted";
constexpr const char* kFailed = "submission_failed";

/// Variables ferryd must not hand on: ours are set per hook, systemd's belong to ferryd.
bool dropped_variable(std::string_view entry) {
  for (std::string_view name : {"FERRY_GUID=", "FERRY_ADDRESS=", "FERRY_TYPE=", "FERRY_IMPORT_ID=", "NOTIFY_SOCKET=",
                                "WATCHDOG_PID=", "WATCHDOG_USEC="}) {
    if (entry.starts_with(name)) return true;
  }
  return false;
}

std::vector<std::string> hook_environment(const types::CommandValues& v) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!dropped_variable(*e)) env.emplace_back(*e);
  }
  env.push_back("FERRY_GUID=" + v.guid);
  env.push_back("FERRY_ADDRESS=" + v.address);
  env.push_back("FERRY_TYPE=" + v.type);
  env.push_back("FERRY_IMPORT_ID=" + v.import_id);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& words) {
  std::vector<char*> out;
  for (auto& w : words) out.push_back(w.data());
  out.push_back(nullptr);
  return out;
}

/// Undoes the attributes of a spawn whatever way it ends.
struct SpawnSetup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  /// stdin and stdout on /dev/null, stderr into the pipe, nothing else of ferryd's;
  /// a process group of its own (killed as a whole); default signal dispositions
  /// (ferryd ignores SIGPIPE) and an empty mask.
  void prepare(int stderr_fd) {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) sigaddset(&defaults, s);
    sigset_t mask;
    sigemptyset(&mask);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &mask);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  }
};

}  // namespace

// ---------------------------------------------------------------------------------
// One running hook: its pidfd, its stderr pipe and its timeout, all on the loop.

struct HookResult {
  bool timed_out = false;
  int wait_status = 0;  ///< as waitpid reports it
  std::string stderr_text;
};

class HookProcess : public std::enable_shared_from_this<HookProcess> {
 public:
  explicit HookProcess(asio::any_io_executor loop) : pidfd_(loop), err_(loop), timer_(loop), done_(loop) {
    done_.expires_at(asio::steady_timer::time_point::max());
  }
  ~HookProcess() { kill(); }

  /// Starts argv[0] (searched in PATH). Errors name the program and say why.
  Status spawn(std::vector<std::string> argv, std::vector<std::string> env) {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) return fail_errno("pipe2", "a submit hook's stderr", errno);
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    SpawnSetup setup;
    setup.prepare(write_end.get());
    auto args = c_strings(argv);
    auto vars = c_strings(env);
    int rc = ::posix_spawnp(&pid_, argv[0].c_str(), &setup.actions, &setup.attr, args.data(), vars.data());
    if (rc != 0) {
      pid_ = -1;
      return fail(Errc::invalid_argument, "cannot run '" + argv[0] + "': " + std::strerror(rc));
    }
    // syscall(): glibc 2.36 declares pidfd_open without C linkage.
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd < 0) {
      int e = errno;
      kill();
      int status = 0;
      ::waitpid(pid_, &status, 0);  // killed a moment ago: returns at once
      reaped_ = true;
      return fail_errno("pidfd_open", "submit hook '" + argv[0] + "'", e);
    }
    pidfd_.assign(pidfd);
    err_.assign(read_end.release());
    return {};
  }

  /// Waits until the process has exited (killed after timeout) and its stderr is read.
  asio::awaitable<HookResult> wait(std::chrono::seconds timeout) {
    auto self = shared_from_this();
    read_more();
    timer_.expires_after(timeout);
    timer_.async_wait([self](const boost::system::error_code& ec) {
      if (ec || self->exited_) return;
      self->result_.timed_out = true;
      self->kill();
    });
    pidfd_.async_wait(asio::posix::stream_descriptor::wait_read,
                      [self](const boost::system::error_code&) { self->on_exit(); });
    if (!finished_) {
      boost::system::error_code ec;
      auto token = asio::redirect_error(asio::use_awaitable, ec);
      co_await done_.async_wait(token);
    }
    co_return result_;
  }

  /// SIGKILL to its whole process group, unless it has been reaped.
  void kill() {
    if (pid_ > 0 && !reaped_) ::kill(-pid_, SIGKILL);
  }

 private:
  void read_more() {
    reading_ = true;
    auto self = shared_from_this();
    err_.async_read_some(asio::buffer(buf_), [self](const boost::system::error_code& ec, size_t n) {
      self->keep(n);
      if (!ec && !self->exited_) {
        self->read_more();
        return;
      }
      if (ec != asio::error::eof) self->drain();
      self->reading_ = false;
      if (self->exited_) self->finish();
    });
  }

  // What is left in the pipe once the process exited; a child it left behind may hold
  // the pipe open, so nothing waits for end of file.
  void drain() {
    boost::system::error_code ec;
    err_.non_blocking(true, ec);
    while (!ec) keep(err_.read_some(asio::buffer(buf_), ec));
  }

  void keep(size_t n) {
    result_.stderr_text.append(buf_.data(), n);
    if (result_.stderr_text.size() > 2 * kKeepBytes)
      result_.stderr_text.erase(0, result_.stderr_text.size() - kKeepBytes);
  }

  void on_exit() {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) {  // not yet (should not happen once the pidfd is readable): wait again
      auto self = shared_from_this();
      pidfd_.async_wait(asio::posix::stream_descriptor::wait_read,
                        [self](const boost::system::error_code&) { self->on_exit(); });
      return;
    }
    reaped_ = true;
    exited_ = true;
    result_.wait_status = status;
    timer_.cancel();
    if (reading_) {
      err_.cancel();  // the read's handler drains and finishes
    } else {
      finish();
    }
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    boost::system::error_code ec;
    err_.close(ec);
    pidfd_.close(ec);
    done_.cancel();
  }

  pid_t pid_ = -1;
  bool reaped_ = false, exited_ = false, reading_ = false, finished_ = false;
  asio::posix::stream_descriptor pidfd_, err_;
  asio::steady_timer timer_, done_;
  std::array<char, 4096> buf_{};
  HookResult result_;
};

// ---------------------------------------------------------------------------------

std::vector<SubmitItem> submit_items(const types::TypeRegistry& types, const records::ImportRecord& record) {
  std::vector<SubmitItem> items;
  for (size_t i = 0; i < record.objects.size(); ++i) {
    const auto& o = record.objects[i];
    if (o.result != "created" && o.result != "updated") continue;
    const auto* def = types.find(o.type);
    if (def == nullptr || !def->submit) continue;
    items.push_back({i, o.type, o.address, o.dest_guid, o.submission.attempts});
  }
  return items;
}

void queue_submissions(Context& ctx, records::ImportRecord& record) {
  auto items = submit_items(ctx.types, record);
  if (items.empty()) return;
  std::vector<std::pair<size_t, records::Submission>> rows;
  for (const auto& item : items) {
    records::Submission s;
    s.state = kSubmitting;
    s.reason = "queued";
    s.attempts = item.attempts;
    rows.emplace_back(item.seq, s);
    record.objects[item.seq].submission = s;
    record.submissions[kSubmitting]++;
  }
  if (auto st = ctx.records.set_submissions(record.id, rows); !st) {
    spdlog::error("import {}: submit hooks not started: cannot record them: {}", record.id, st.error().message);
    return;
  }
  asio::post(ctx.loop, [&ctx, id = record.id, items = std::move(items)]() mutable {
    if (ctx.submitter != nullptr && ctx.submitter->claim(id)) ctx.submitter->run(id, std::move(items));
  });
}

nlohmann::json submission_json(const records::Submission& s) {
  if (s.state.empty()) return nullptr;
  auto time = [](const std::optional<TimePoint>& t) {
    return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
  };
  return {{"state", s.state},
          {"reason", s.reason},
          {"exit_status", s.exit_status ? nlohmann::json(*s.exit_status) : nlohmann::json(nullptr)},
          {"stderr_tail", s.stderr_tail},
          {"attempts", s.attempts},
          {"started_at", time(s.started_at)},
          {"ended_at", time(s.ended_at)}};
}

std::string stderr_tail(std::string_view text) {
  if (text.size() > kTailBytes) {
    text.remove_prefix(text.size() - kTailBytes);
    // Cut at the next line start when there is one, so the tail starts with a whole line.
    if (auto nl = text.find('\n'); nl != std::string_view::npos && nl + 1 < text.size()) text.remove_prefix(nl + 1);
  }
  size_t start = text.size();
  size_t lines = 0;
  // The last kTailLines lines; a final newline does not start another line.
  for (size_t i = text.size(); i > 0; --i) {
    if (text[i - 1] == '\n' && i != text.size() && ++lines == kTailLines) break;
    start = i - 1;
  }
  text.remove_prefix(start);
  // Replaces bytes that are not UTF-8 (the control protocol and reports are JSON).
  auto dumped = nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return nlohmann::json::parse(dumped).get<std::string>();
}

// ---------------------------------------------------------------------------------

bool Submitter::claim(const std::string& import_id) {
  if (stopped_) return false;
  return imports_.try_emplace(import_id).second;
}

void Submitter::release(const std::string& import_id) {
  auto it = imports_.find(import_id);
  if (it == imports_.end()) return;
  for (auto& w : it->second.waiters) w->cancel();
  imports_.erase(it);
}

void Submitter::run(const std::string& import_id, std::vector<SubmitItem> items) {
  auto task = run_all(import_id, std::move(items));
  asio::co_spawn(ctx_.loop, std::move(task), asio::detached);
}

asio::awaitable<void> Submitter::wait(std::string import_id) {
  auto it = imports_.find(import_id);
  if (it == imports_.end()) co_return;
  auto timer = std::make_shared<asio::steady_timer>(ctx_.loop, asio::steady_timer::time_point::max());
  it->second.waiters.push_back(timer);
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  co_await timer->async_wait(token);
}

void Submitter::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (const auto& p : processes_) p->kill();
}

asio::awaitable<void> Submitter::run_all(std::string import_id, std::vector<SubmitItem> items) {
  for (auto& item : items) {
    if (stopped_) break;
    auto task = run_one(import_id, item);
    auto s = co_await std::move(task);
    if (stopped_) break;  // killed by stop(): it stays submitting, failed at the next start
    spdlog::log(s.state == kSubmitted ? spdlog::level::info : spdlog::level::warn, "import {}: submit {} ({}): {}{}{}",
                import_id, item.address, item.guid, s.state, s.reason.empty() ? "" : ": ", s.reason);
    auto stored = store(import_id, item.seq, std::move(s));
    co_await std::move(stored);
  }
  if (!stopped_) {
    auto rewrite = rewrite_report(import_id);
    co_await std::move(rewrite);
  }
  release(import_id);
}

asio::awaitable<records::Submission> Submitter::run_one(std::string import_id, SubmitItem item) {
  records::Submission s;
  s.state = kSubmitting;
  s.attempts = item.attempts + 1;
  s.started_at = ctx_.clock.now();
  auto started = store(import_id, item.seq, s);
  co_await std::move(started);
  if (stopped_) co_return s;
  auto failed = [&](std::string reason) {
    s.state = kFailed;
    s.reason = std::move(reason);
    s.ended_at = ctx_.clock.now();
    return s;
  };
  const auto* def = ctx_.types.find(item.type);
  if (def == nullptr || !def->submit) {
    co_return failed("type '" + item.type + "' has no submit: command in types.yaml any more");
  }
  types::CommandValues values{item.guid, item.address, item.type, import_id};
  auto argv = types::expand_command(*def->submit, values);
  if (!argv) co_return failed("submit command of type '" + item.type + "': " + argv.error().message);
  auto process = std::make_shared<HookProcess>(ctx_.loop);
  if (auto st = process->spawn(*argv, hook_environment(values)); !st) co_return failed(st.error().message);
  processes_.insert(process);
  auto task = process->wait(def->submit_timeout);
  auto r = co_await std::move(task);
  processes_.erase(process);
  s.ended_at = ctx_.clock.now();
  s.stderr_tail = stderr_tail(r.stderr_text);
  if (r.timed_out) {
    s.state = kFailed;
    s.reason = "timed out after " + schedule::format_duration(def->submit_timeout) +
               " (submit_timeout); its process group was killed";
  } else if (WIFEXITED(r.wait_status)) {
    s.exit_status = WEXITSTATUS(r.wait_status);
    s.state = *s.exit_status == 0 ? kSubmitted : kFailed;
    if (*s.exit_status != 0) s.reason = "exit status " + std::to_string(*s.exit_status);
  } else {
    const int sig = WTERMSIG(r.wait_status);
    s.state = kFailed;
    s.reason = "killed by signal " + std::to_string(sig) + " (" + ::sigabbrev_np(sig) + ")";
  }
  co_return s;
}

asio::awaitable<void> Submitter::store(std::string import_id, size_t seq, records::Submission s) {
  Context* ctx = &ctx_;
  auto job = [ctx, import_id, seq, s] { return ctx->records.set_submissions(import_id, {{seq, s}}); };
  auto st = co_await ctx_.workers.run(std::move(job));
  if (!st) spdlog::error("import {}: cannot record a submit outcome: {}", import_id, st.error().message);
}

// A watched folder's report is rewritten with each object's submission once its
// import's hooks have ended (atomically: readers see the old or the new report).
asio::awaitable<void> Submitter::rewrite_report(std::string import_id) {
  Context* ctx = &ctx_;
  auto job = [ctx, import_id]() -> Status {
    auto record = FERRY_TRY(ctx->records.import(import_id));
    if (!record.report_file) return {};
    std::ifstream in(*record.report_file);
    if (!in) return fail(Errc::io, *record.report_file + ": cannot read the report to add the submit outcomes");
    auto report = nlohmann::json::parse(in, nullptr, false);
    if (report.is_discarded() || !report.contains("objects") || report["objects"].size() != record.objects.size()) {
      return fail(Errc::corrupt, *record.report_file + ": not the report of import " + import_id);
    }
    for (size_t i = 0; i < record.objects.size(); ++i) {
      report["objects"][i]["submission"] = submission_json(record.objects[i].submission);
    }
    report["submissions"] = record.submissions;
    return write_file_atomic(*record.report_file, report.dump(2) + "\n");
  };
  auto st = co_await ctx_.workers.run(std::move(job));
  if (!st) spdlog::warn("import {}: report not rewritten with the submit outcomes: {}", import_id, st.error().message);
}

}  // namespace ferry::server
