#include "server/handoff.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include <mutex>

#include "util/fd.h"
#include "util/guid.h"
#include "util/sha256.h"
#include "util/time.h"

namespace ferry::server {

namespace {

bool is_transient(const Error& e) {
  return e.code == Errc::io || e.code == Errc::unavailable || e.code == Errc::cancelled;
}

records::ImportState record_state(importer::ImportState s) {
  switch (s) {
    case importer::ImportState::deployed:
      return records::ImportState::deployed;
    case importer::ImportState::unchanged:
      return records::ImportState::unchanged;
    case importer::ImportState::staged:
      return records::ImportState::staged;
    case importer::ImportState::rejected:
      return records::ImportState::rejected;
    case importer::ImportState::failed:
      break;
  }
  return records::ImportState::failed;
}

// What happened to one object: created, updated, unchanged, deleted, skipped or failed.
std::string result_word(const importer::ObjectResult& o) {
  switch (o.result) {
    case importer::Outcome::deployed:
      switch (o.action) {
        case importer::Action::create:
          return "created";
        case importer::Action::update:
          return "updated";
        case importer::Action::remove:
          return "deleted";
        case importer::Action::unchanged:
          return "unchanged";
        case importer::Action::skip:
          return "skipped";
        default:
          return "failed";
      }
    case importer::Outcome::unchanged:
      return "unchanged";
    case importer::Outcome::skipped:
      return "skipped";
    case importer::Outcome::failed:
      break;
  }
  return "failed";
}

std::vector<records::ImportObjectResult> objects_of(const importer::Plan& plan, const importer::DeployResult* result) {
  std::vector<records::ImportObjectResult> out;
  for (size_t i = 0; i < plan.items.size(); ++i) {
    const auto& item = plan.items[i];
    records::ImportObjectResult o;
    o.type = item.type;
    o.address = item.address;
    o.source_guid = item.source_guid;
    o.dest_guid = item.guid;
    o.action = std::string(importer::to_string(item.action));
    o.reason = item.reason;
    o.warnings = item.warnings;
    if (result != nullptr && i < result->objects.size()) {
      const auto& r = result->objects[i];
      o.result = result_word(r);
      if (!r.reason.empty()) o.reason = r.reason;
    }
    out.push_back(std::move(o));
  }
  return out;
}

Expected<std::string> file_sha256(const std::filesystem::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open", file.string(), errno);
  return sha256_fd(fd.get());
}

std::string daemon_user() {
  auto uid = ::geteuid();
  if (const passwd* pw = ::getpwuid(uid); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  return "uid " + std::to_string(uid);
}

}  // namespace

ImportDone run_import(Context& ctx, const ImportJob& job) {
  ImportDone done;
  auto& rec = done.record;
  rec.id = job.id.empty() ? new_guid() : job.id;
  rec.file = job.file;
  rec.origin = job.origin;
  rec.user = job.user;
  rec.created_at = ctx.clock.now();
  importer::Report report;
  report.import_id = rec.id;
  report.file = job.file;
  report.started_at = rec.created_at;

  std::lock_guard lock(ctx.deploy_mutex);
  // Every way out below goes through finish(), while the plan and result it points to live.
  auto finish = [&](records::ImportState state) {
    rec.state = state;
    rec.ended_at = ctx.clock.now();
    report.finished_at = *rec.ended_at;
    done.report = importer::report_json(report);
    if (done.planned_only) return;
    auto stored = ctx.records.insert_import(rec);
    if (!stored) spdlog::error("import {}: cannot record it: {}", rec.id, stored.error().message);
    done.stored = stored.has_value();
  };
  auto failed = [&](const Error& e) {
    rec.error = e.message;
    report.error = e;
    finish(records::ImportState::failed);
    return done;
  };
  auto transient = [&](const Error& e) {
    done.transient = e;
    return done;
  };

  if (ctx.stopping.stop_requested()) return transient(Error{Errc::cancelled, "ferryd is stopping"});
  auto sha = file_sha256(job.package);
  if (!sha) return transient(sha.error());
  rec.package_sha256 = *sha;

  package::ReadOptions options;
  options.trust = ctx.trust;
  options.unsigned_packages = job.unsigned_packages;
  options.expected_engine = ctx.config.environment.engine;
  options.limits = package::Limits{ctx.config.limits.max_entries, ctx.config.limits.max_expanded_bytes,
                                   ctx.config.limits.max_ratio};
  options.stop = ctx.stopping;
  auto pkg = package::open_package(job.package, options);
  if (!pkg) {
    if (is_transient(pkg.error())) return transient(pkg.error());
    rec.error = pkg.error().message;
    report.error = pkg.error();
    done.planned_only = job.step == ImportStep::plan_only;
    finish(records::ImportState::rejected);
    return done;
  }
  const auto& manifest = pkg->manifest();
  rec.package_id = manifest.package_id;
  rec.package_name = manifest.name;
  rec.source_environment = manifest.source.environment;
  report.manifest = &manifest;
  done.planned_only = job.step == ImportStep::plan_only;

  if (job.duplicates == Duplicates::skip) {
    auto dup = ctx.records.find_import(manifest.package_id, *sha);
    if (!dup) return transient(dup.error());
    if (*dup) {
      const auto& first = **dup;
      rec.warnings.push_back("duplicate of import " + first.id + ": not deployed again");
      for (auto o : first.objects) {
        o.result = "unchanged";
        o.reason = "duplicate of import " + first.id;
        rec.objects.push_back(std::move(o));
      }
      finish(records::ImportState::unchanged);
      done.report["state"] = "unchanged";
      done.report["duplicate_of"] = first.id;
      return done;
    }
  }
  if (job.refuse) return failed(Error{Errc::invalid_argument, *job.refuse});

  auto secrets = importer::load_secrets(ctx.config.secrets);
  if (!secrets) return is_transient(secrets.error()) ? transient(secrets.error()) : failed(secrets.error());
  auto overrides = importer::load_overrides(ctx.config.overrides);
  if (!overrides) return is_transient(overrides.error()) ? transient(overrides.error()) : failed(overrides.error());
  auto plan = importer::plan(*pkg, ctx.catalog, ctx.types, *secrets, job.policy, *overrides);
  if (!plan) return is_transient(plan.error()) ? transient(plan.error()) : failed(plan.error());
  report.plan = &*plan;
  rec.objects = objects_of(*plan, nullptr);
  rec.warnings = plan->warnings;
  if (plan->refused) rec.error = *plan->refused;
  if (job.step == ImportStep::plan_only) {
    finish(plan->ok() ? records::ImportState::staged : records::ImportState::failed);
    return done;
  }

  auto result = importer::deploy(*pkg, *plan, ctx.catalog, rec.id, rec.user);
  if (!result) return is_transient(result.error()) ? transient(result.error()) : failed(result.error());
  report.result = &*result;
  rec.objects = objects_of(*plan, &*result);
  rec.error = result->error;
  finish(record_state(result->state));
  return done;
}

nlohmann::json import_json(const records::ImportRecord& r) {
  auto objects = nlohmann::json::array();
  for (const auto& o : r.objects) {
    objects.push_back({{"type", o.type},
                       {"address", o.address},
                       {"source_guid", o.source_guid},
                       {"dest_guid", o.dest_guid},
                       {"action", o.action},
                       {"result", o.result},
                       {"reason", o.reason},
                       {"warnings", o.warnings}});
  }
  return {{"id", r.id},
          {"package_id", r.package_id},
          {"package_name", r.package_name},
          {"package_sha256", r.package_sha256},
          {"source_environment", r.source_environment},
          {"file", r.file},
          {"origin", r.origin},
          {"user", r.user},
          {"state", records::to_string(r.state)},
          {"created_at", format_rfc3339(r.created_at)},
          {"ended_at", r.ended_at ? nlohmann::json(format_rfc3339(*r.ended_at)) : nlohmann::json(nullptr)},
          {"error", r.error},
          {"warnings", r.warnings},
          {"report_file", r.report_file ? nlohmann::json(*r.report_file) : nlohmann::json(nullptr)},
          {"objects", std::move(objects)}};
}

// ---------------------------------------------------------------------------------
// Watched folders

namespace {

// Worker: imports one file of a watched folder and files it away with its report.
void take_file(Context& ctx, const config::WatchRule& rule, const std::filesystem::path& file) {
  ImportJob job;
  job.package = file;
  job.file = file.string();
  job.origin = "watch:" + rule.dir.string();
  job.user = daemon_user();
  job.policy = importer::Policy::from(rule);
  job.unsigned_packages = rule.allow_unsigned ? package::UnsignedPolicy::allow : package::UnsignedPolicy::refuse;
  job.duplicates = Duplicates::skip;
  if (rule.mode == config::WatchMode::stage) job.refuse = "mode: stage is not available yet";
  auto done = run_import(ctx, job);
  if (done.transient) {
    spdlog::warn("watch {}: {} left in place: {}", rule.dir.string(), file.filename().string(),
                 done.transient->message);
    return;
  }
  auto& rec = done.record;
  auto state = rec.state;
  auto outcome = state == records::ImportState::deployed || state == records::ImportState::unchanged
                     ? watch::Outcome::processed
                     : watch::Outcome::failed;
  auto text = done.report.dump(2) + "\n";
  auto moved = watch::move_to(file, outcome, text);
  if (!moved) {
    spdlog::error("watch {}: import {} of {}: {}", rule.dir.string(), rec.id, file.filename().string(),
                  moved.error().message);
  } else {
    rec.report_file = moved->report.string();
    if (done.stored) {
      if (auto st = ctx.records.update_import(rec); !st) spdlog::error("import {}: {}", rec.id, st.error().message);
    }
  }
  if (rule.reports_to) {
    auto name = file.filename().string();
    if (name.size() > 4 && name.ends_with(".zip")) name.resize(name.size() - 4);
    auto copy = *rule.reports_to / (name + ".report.json");
    if (auto st = write_file_atomic(copy, text); !st) {
      spdlog::error("watch {}: report copy for import {}: {}", rule.dir.string(), rec.id, st.error().message);
    }
  }
  spdlog::info("watch {}: import {} of {} ({}): {}{}{}", rule.dir.string(), rec.id, file.filename().string(),
               rec.package_name.empty() ? "unverified" : rec.package_name, records::to_string(state),
               rec.error.empty() ? "" : ": ", rec.error);
}

}  // namespace

Handoff::~Handoff() { stop(); }

void Handoff::start() {
  for (const auto& rule : ctx_.config.watch) {
    const config::WatchRule* r = &rule;
    watch::Options options;
    options.poll = rule.poll;
    options.settle = rule.settle;
    options.sidecar = rule.require_sidecar ? watch::Sidecar::required : watch::Sidecar::optional;
    Context* ctx = &ctx_;
    auto offload = [ctx](std::function<void()> job) {
      auto fn = [job = std::move(job)] {
        job();
        return true;
      };
      auto task = ctx->workers.run(std::move(fn));
      boost::asio::co_spawn(ctx->loop, std::move(task), boost::asio::detached);
    };
    auto on_ready = [this, r](std::filesystem::path file) {
      auto task = take(r, std::move(file));
      boost::asio::co_spawn(ctx_.loop, std::move(task), boost::asio::detached);
    };
    auto on_error = [r](const Error& e) { spdlog::warn("watch {}: {}", r->dir.string(), e.message); };
    auto watcher = std::make_unique<watch::FolderWatcher>(ctx_.loop, rule.dir, options, offload, on_ready, on_error);
    watcher->start();
    spdlog::info("watching {} for packages (mode {})", rule.dir.string(),
                 rule.mode == config::WatchMode::deploy ? "deploy" : "stage");
    watchers_.push_back(std::move(watcher));
  }
}

void Handoff::stop() {
  for (auto& w : watchers_) w->stop();
}

boost::asio::awaitable<void> Handoff::take(const config::WatchRule* rule, std::filesystem::path file) {
  Context* ctx = &ctx_;
  auto job = [ctx, rule, file] {
    take_file(*ctx, *rule, file);
    return true;
  };
  auto finished = co_await ctx_.workers.run(std::move(job));
  (void)finished;
  co_return;
}

}  // namespace ferry::server
