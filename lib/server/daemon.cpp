#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <optional>
#include <thread>

#include "access/access.h"
#include "catalog/catalog.h"
#include "control/control.h"
#include "delivery/delivery.h"
#include "records/records.h"
#include "server/commands.h"
#include "server/context.h"
#include "server/handoff.h"
#include "server/notify.h"
#include "server/retention.h"
#include "server/scheduler.h"
#include "server/server.h"
#include "server/submit.h"
#include "server/workers.h"
#include "signing/signing.h"
#include "types/types.h"
#include "util/time.h"

namespace ferry::server {

namespace asio = boost::asio;

namespace {

size_t worker_count() { return std::max<size_t>(2, std::thread::hardware_concurrency()); }

Expected<std::optional<gid_t>> socket_group(const config::Config& config) {
  if (!config.socket_group) return std::optional<gid_t>();
  auto gid = access::system_directory().group_id(*config.socket_group);
  if (!gid) {
    return fail(Errc::invalid_argument,
                config.file.string() + ": socket_group: no group named '" + *config.socket_group + "' on this system");
  }
  return gid;
}

Status make_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(Errc::io, dir.string() + ": cannot create folder: " + ec.message());
  return {};
}

Expected<std::optional<signing::SecretKey>> load_key(const config::Config& config) {
  if (!config.signing.key) return std::optional<signing::SecretKey>();
  return std::optional<signing::SecretKey>(FERRY_TRY(signing::load_secret_key(*config.signing.key)));
}

Expected<signing::TrustStore> load_trust(const config::Config& config) {
  std::vector<signing::TrustedKeyFile> files;
  for (const auto& t : config.signing.trusted) files.push_back({t.key, t.env});
  return signing::TrustStore::load(files);
}

// Package files whose record is gone (a delete or retention that could not remove
// the file) are removed, so the store holds only recorded packages.
void remove_orphans(records::Records& records, const std::filesystem::path& store) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(store, ec)) {
    auto name = entry.path().filename().string();
    if (!name.ends_with(".zip") || name.starts_with(".")) continue;
    auto record = records.package(name.substr(0, name.size() - 4));
    if (record || record.error().code != Errc::not_found) continue;
    if (std::filesystem::remove(entry.path(), ec))
      spdlog::info("{}: removed, it has no package record", entry.path().string());
  }
}

// After a crash: exports that were running are failed, and ferry's own temporary
// files are removed from every folder it has written into (and the package store).
Status recover(records::Records& records, const std::filesystem::path& store,
               const std::filesystem::path& import_store) {
  for (const auto& id : FERRY_TRY(records.fail_interrupted())) {
    spdlog::warn("package {} was interrupted by a restart and is marked failed", id);
  }
  for (const auto& id : FERRY_TRY(records.fail_interrupted_imports())) {
    spdlog::warn("import {} was interrupted by a restart and is marked failed", id);
  }
  for (const auto& id : FERRY_TRY(records.fail_interrupted_submissions())) {
    spdlog::warn("import {}: submit hooks were interrupted by a stop and are marked submission_failed", id);
  }
  auto folders = FERRY_TRY(records.folders());
  folders.push_back(store);
  folders.push_back(import_store);
  for (const auto& dir : folders) {
    auto removed = delivery::remove_partials(dir);
    if (!removed)
      spdlog::warn("{}", removed.error().message);
    else if (*removed > 0)
      spdlog::info("{}: removed {} unfinished temporary files", dir.string(), *removed);
  }
  remove_orphans(records, store);
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
    key_ = FERRY_TRY(load_key(config_));
    auto store = config_.state_dir / "packages";
    FERRY_TRY(make_dir(store));
    trust_ = FERRY_TRY(load_trust(config_));
    auto import_store = config_.state_dir / "imports";
    FERRY_TRY(make_dir(import_store));
    catalog_ = FERRY_TRY(catalog::Catalog::open(config_.state_dir / "catalog", types_, system_clock()));
    records_ = FERRY_TRY(records::Records::open(config_.state_dir / "records.db", system_clock()));
    FERRY_TRY(recover(*records_, store, import_store));
    ctx_.emplace(Context{config_, types_, *catalog_, *records_, workers_, access_, system_clock(), system_clock().now(),
                         io_.get_executor(), key_ ? &*key_ : nullptr, store, exports_, &trust_, import_store,
                         deploy_mutex_, stopping_.get_token()});
    ctx_->manual_maintenance = FERRY_TRY(records_->maintenance());
    if (const auto& m = ctx_->manual_maintenance) {
      spdlog::warn("maintenance is on since {}, turned on by {}: {}", format_rfc3339(m->since), m->user, m->reason);
    }
    retention_.emplace(*ctx_);
    ctx_->retention = &*retention_;
    scheduler_.emplace(*ctx_, FERRY_TRY(jobs::maintenance_windows(config_.maintenance)));
    ctx_->scheduler = &*scheduler_;
    submitter_.emplace(*ctx_);
    ctx_->submitter = &*submitter_;
    auto group = FERRY_TRY(socket_group(config_));
    control_.emplace(FERRY_TRY(
        control::ControlServer::listen(io_.get_executor(), config_.socket, control::ServerOptions{0660, group},
                                       [this](control::Request& request, control::Responder& responder) {
                                         return dispatch(*ctx_, request, responder);
                                       })));
    handoff_.emplace(*ctx_);
    handoff_->start();
    retention_->kick();
    scheduler_->start();
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
        spdlog::info("SIGHUP: reloading the job files (ferryd.yaml itself is read at start only)");
        if (scheduler_) scheduler_->request_reload("SIGHUP");
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
    stopping_.request_stop();  // imports not yet verifying leave their package in place
    if (control_) control_->stop();
    if (handoff_) handoff_->stop();
    if (retention_) retention_->stop();
    if (scheduler_) scheduler_->stop();
    if (submitter_) submitter_->stop();  // kills running hooks; their objects stay submitting
    exports_.cancel_all();               // they end cancelled and leave no file; the loop waits for them
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
  std::optional<signing::SecretKey> key_;
  signing::TrustStore trust_;
  std::mutex deploy_mutex_;
  std::stop_source stopping_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<records::Records> records_;
  Exports exports_;
  std::optional<Context> ctx_;
  std::optional<control::ControlServer> control_;
  std::optional<Retention> retention_;
  std::optional<Scheduler> scheduler_;
  std::optional<Submitter> submitter_;
  std::optional<Handoff> handoff_;  // destroyed first: its watchers live on the loop
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
  std::string problems;
  auto types = types::load_types(config.types);
  if (!types) problems += types.error().message + "\n";
  if (auto key = load_key(config); !key) problems += key.error().message + "\n";
  if (auto trust = load_trust(config); !trust) problems += trust.error().message + "\n";
  if (auto loads = jobs::load_jobs(config.jobs_dir, config); !loads) {
    problems += loads.error().message + "\n";
  } else {
    for (const auto& e : jobs::merge({}, std::move(*loads)).errors()) problems += e + "\n";
  }
  // Read on every import; a mistake there would otherwise show only when a package arrives.
  if (auto secrets = importer::load_secrets(config.secrets); !secrets) problems += secrets.error().message + "\n";
  if (auto overrides = importer::load_overrides(config.overrides); !overrides) {
    problems += overrides.error().message + "\n";
  }
  if (!problems.empty()) {
    problems.pop_back();
    return fail(Errc::invalid_argument, problems);
  }
  return {};
}

}  // namespace ferry::server
