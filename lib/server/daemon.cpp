#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <optional>
#include <thread>

#include "access/access.h"
#include "catalog/catalog.h"
#include "control/control.h"
#include "server/commands.h"
#include "server/context.h"
#include "server/notify.h"
#include "server/server.h"
#include "server/workers.h"
#include "types/types.h"

namespace ferry::server {

namespace asio = boost::asio;

namespace {

size_t worker_count() { return std::max<size_t>(2, std::thread::hardware_concurrency()); }

Expected<std::optional<gid_t>> socket_group(const config::Config& config) {
  if (!config.socket_group) return std::optional<gid_t>();
  auto gid = access::system_directory().group_id(*config.socket_group);
  if (!gid) {
    return fail(Errc::invalid_argument, config.file.string() + ": socket_group: no group named '" +
                                            *config.socket_group + "' on this system");
  }
  return gid;
}

Status make_state_dir(const config::Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.state_dir, ec);
  if (ec) return fail(Errc::io, config.state_dir.string() + ": cannot create state folder: " + ec.message());
  return {};
}

}  // namespace

/// Owns the event loop and everything that lives on it. Start-up happens in
/// start(), before the loop runs, so every failure reaches the operator.
class Daemon {
 public:
  explicit Daemon(const config::Config& config)
      : config_(config), workers_(worker_count()), access_(config.roles, ::geteuid()) {}

  Status start() {
    for (const auto& w : access_.warnings()) spdlog::warn("{}", w);
    types_ = FERRY_TRY(types::load_types(config_.types));
    FERRY_TRY(make_state_dir(config_));
    catalog_ = FERRY_TRY(catalog::Catalog::open(config_.state_dir / "catalog", types_, system_clock()));
    ctx_.emplace(Context{config_, types_, *catalog_, workers_, access_, system_clock(), system_clock().now()});
    auto group = FERRY_TRY(socket_group(config_));
    control_.emplace(FERRY_TRY(control::ControlServer::listen(
        io_.get_executor(), config_.socket, control::ServerOptions{0660, group},
        [this](control::Request& request, control::Responder& responder) {
          return dispatch(*ctx_, request, responder);
        })));
    return {};
  }

  void run() {
    wait_for_signal();
    arm_watchdog();
    spdlog::info("ferryd {} serving environment {} on {}", FERRY_VERSION, config_.environment.id,
                 config_.socket.string());
    notify_ready("serving " + config_.environment.id + " on " + config_.socket.string());
    io_.run();
    workers_.join();
    spdlog::info("ferryd stopped");
  }

 private:
  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        spdlog::info("SIGHUP: configuration reload requested; nothing to reload yet");
        wait_for_signal();
        return;
      }
      spdlog::info("{}: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
      shutdown();
    });
  }

  // Stops accepting; running requests finish, then the loop runs out of work.
  void shutdown() {
    notify_stopping();
    if (control_) control_->stop();
    signals_.cancel();
    watchdog_.cancel();
  }

  // The ping comes from the loop itself, so a hung loop is restarted by systemd.
  void arm_watchdog() {
    auto interval = watchdog_interval();
    if (!interval) return;
    notify_watchdog();
    watchdog_.expires_after(*interval);
    watchdog_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) arm_watchdog();
    });
  }

  const config::Config& config_;
  asio::io_context io_{1};
  asio::signal_set signals_{io_, SIGTERM, SIGINT, SIGHUP};
  asio::steady_timer watchdog_{io_};
  Workers workers_;
  access::Access access_;
  types::TypeRegistry types_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::optional<Context> ctx_;
  std::optional<control::ControlServer> control_;
};

Status run(const config::Config& config) {
  // Peers that hang up mid-response must not kill the daemon.
  ::signal(SIGPIPE, SIG_IGN);
  Daemon daemon(config);
  FERRY_TRY(daemon.start());
  daemon.run();
  return {};
}

Status check(const config::Config& config) {
  auto types = types::load_types(config.types);
  if (!types) return std::unexpected(types.error());
  return {};
}

}  // namespace ferry::server
