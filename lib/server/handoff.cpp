#include "server/handoff.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <mutex>

#include "server/notify.h"
#include "server/scheduler.h"
#include "server/submit.h"
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
    case importer::ImportState::partially_deployed:
      return records::ImportState::partially_deployed;
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

/// "1h", "90s": a watch rule's duration as ferryd.yaml writes it.
std::string format_duration(std::chrono::seconds d) {
  const int64_t n = d.count();
  if (n > 0 && n % 86400 == 0) return std::to_string(n / 86400) + "d";
  if (n > 0 && n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n > 0 && n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

std::string daemon_user() {
  auto uid = ::geteuid();
  if (const passwd* pw = ::getpwuid(uid); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  return "uid " + std::to_string(uid);
}

}  // namespace

Expected<std::optional<std::string>> find_gap(Context& ctx, const package::Manifest& m) {
  if (!m.revisions || m.revisions->from <= 0) return std::optional<std::string>();
  if (m.previous_package_id && FERRY_TRY(ctx.records.package_imported(*m.previous_package_id))) {
    return std::optional<std::string>();
  }
  const auto& env = m.source.environment;
  auto last = FERRY_TRY(ctx.records.last_imported_revision(env));
  if (last && *last >= m.revisions->from) return std::optional<std::string>();
  const int64_t first_missing = last.value_or(0) + 1;
  std::string text = "package " + m.name + " (" + m.package_id + ") from environment " + env +
                     " covers source revisions " + std::to_string(m.revisions->from + 1) + ".." +
                     std::to_string(m.revisions->to) + ", but ";
  text += last ? "the last package imported here from " + env + " ends at revision " + std::to_string(*last)
               : "no incremental package from " + env + " was imported here";
  text += ": revisions " + std::to_string(first_missing) + ".." + std::to_string(m.revisions->from) + " are missing";
  if (m.previous_package_id) text += " (the package before it is " + *m.previous_package_id + ")";
  return std::optional<std::string>(std::move(text));
}

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
  auto finish = [&](records::ImportState state, const nlohmann::json& amend = nlohmann::json::object()) {
    rec.state = state;
    rec.ended_at = ctx.clock.now();
    report.finished_at = *rec.ended_at;
    done.report = importer::report_json(report);
    done.report.update(amend);
    if (done.planned_only) return;
    if (job.file_away) job.file_away(done);
    auto stored = job.recorded == Recorded::yes ? ctx.records.update_import(rec) : ctx.records.insert_import(rec);
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
  if (job.recorded == Recorded::yes && job.only_from) {
    // Checked under the lock: two `import deploy` of one staged import deploy it once.
    auto now = ctx.records.import(rec.id);
    if (!now) return transient(now.error());
    if (now->state != *job.only_from) {
      done.not_started =
          Error{Errc::conflict, "import " + rec.id + " is " + std::string(records::to_string(now->state)) + ", not " +
                                    std::string(records::to_string(*job.only_from))};
      return done;
    }
  }
  auto sha = file_sha256(job.package);
  if (!sha) return transient(sha.error());
  rec.package_sha256 = *sha;

  package::ReadOptions options;
  options.trust = ctx.trust;
  options.unsigned_packages = job.unsigned_packages;
  options.expected_engine = ctx.config.environment.engine;
  options.limits =
      package::Limits{ctx.config.limits.max_entries, ctx.config.limits.max_expanded_bytes, ctx.config.limits.max_ratio};
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
  if (manifest.revisions) {
    rec.revision_from = manifest.revisions->from;
    rec.revision_to = manifest.revisions->to;
  }
  rec.previous_package_id = manifest.previous_package_id;

  if (job.duplicates == Duplicates::skip) {
    auto dup = ctx.records.find_import(manifest.package_id, *sha);
    if (!dup) return transient(dup.error());
    if (*dup) {
      const auto& first = **dup;
      rec.warnings.push_back("duplicate of import " + first.id + ": not deployed again");
      for (auto o : first.objects) {
        o.result = "unchanged";
        o.reason = "duplicate of import " + first.id;
        o.submission = {};  // the first import's hooks, not this one's
        rec.objects.push_back(std::move(o));
      }
      finish(records::ImportState::unchanged, {{"state", "unchanged"}, {"duplicate_of", first.id}});
      return done;
    }
  }
  if (job.refuse) return failed(Error{Errc::invalid_argument, *job.refuse});

  auto gap = find_gap(ctx, manifest);
  if (!gap) return is_transient(gap.error()) ? transient(gap.error()) : failed(gap.error());
  if (*gap && job.gaps == Gaps::allow) {
    rec.warnings.push_back("gap allowed (--allow-gap): " + **gap);
  } else if (*gap && job.gaps == Gaps::wait) {
    rec.error = "waiting for its predecessor: " + **gap;
    done.waiting = true;
    finish(records::ImportState::waiting_predecessor);
    return done;
  } else if (*gap) {
    return failed(Error{Errc::conflict, "refused: " + **gap + "; " + job.gap_advice});
  }

  rec.package_file = job.package.string();
  rec.policy = importer::policy_json(job.policy);
  if (rec.policy.value("into", nlohmann::json()).is_null()) rec.policy.erase("into");

  auto secrets = importer::load_secrets(ctx.config.secrets);
  if (!secrets) return is_transient(secrets.error()) ? transient(secrets.error()) : failed(secrets.error());
  auto overrides = importer::load_overrides(ctx.config.overrides);
  if (!overrides) return is_transient(overrides.error()) ? transient(overrides.error()) : failed(overrides.error());
  auto plan = importer::plan(*pkg, ctx.catalog, ctx.types, *secrets, job.policy, *overrides);
  if (!plan) return is_transient(plan.error()) ? transient(plan.error()) : failed(plan.error());
  report.plan = &*plan;
  rec.objects = objects_of(*plan, nullptr);
  rec.warnings.insert(rec.warnings.end(), plan->warnings.begin(), plan->warnings.end());
  if (plan->refused) rec.error = *plan->refused;
  if (job.step != ImportStep::deploy) {
    // Not atomic, a plan with errors still deploys the rest (the refusals aside).
    const bool deployable = plan->ok() || (!job.policy.atomic && !plan->refused);
    finish(deployable ? records::ImportState::staged : records::ImportState::failed);
    return done;
  }

  auto result = importer::deploy(*pkg, *plan, ctx.catalog, rec.id, rec.user);
  if (!result) return is_transient(result.error()) ? transient(result.error()) : failed(result.error());
  report.result = &*result;
  rec.objects = objects_of(*plan, &*result);
  rec.error = result->error;
  finish(record_state(result->state));
  if (done.stored) queue_submissions(ctx, rec);  // created and updated objects only
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
                       {"warnings", o.warnings},
                       {"submission", submission_json(o.submission)}});
  }
  return {
      {"id", r.id},
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
      {"policy", r.policy},
      {"revisions", r.revision_to ? nlohmann::json{{"from", r.revision_from.value_or(0)}, {"to", *r.revision_to}}
                                  : nlohmann::json(nullptr)},
      {"previous_package_id", r.previous_package_id ? nlohmann::json(*r.previous_package_id) : nlohmann::json(nullptr)},
      {"submissions", r.submissions},
      {"objects", std::move(objects)}};
}

// ---------------------------------------------------------------------------------
// Watched folders

namespace {

/// What a watched file's import came to, for the event loop.
struct Taken {
  bool waiting = false;  ///< held in the folder for its predecessor
  bool landed = false;   ///< deployed or unchanged: a waiting package may follow now
  std::string import_id;
};

// Worker: imports one file of a watched folder and files it away with its report,
// unless it waits for its predecessor (then it stays where it is).
Taken take_file(Context& ctx, const config::WatchRule& rule, const std::filesystem::path& file,
                const std::string& waiting_id, Gaps gaps) {
  ImportJob job;
  job.id = waiting_id;
  job.recorded = waiting_id.empty() ? Recorded::no : Recorded::yes;
  job.package = file;
  job.file = file.string();
  job.origin = "watch:" + rule.dir.string();
  job.user = daemon_user();
  job.policy = importer::Policy::from(rule);
  job.unsigned_packages = rule.allow_unsigned ? package::UnsignedPolicy::allow : package::UnsignedPolicy::refuse;
  job.duplicates = Duplicates::skip;
  job.gaps = gaps;
  job.gap_advice = "waited " + format_duration(rule.gap_timeout) +
                   " (gap_timeout) for it; deliver the missing package and then this one again, or import this one "
                   "with ferryctl import --allow-gap";
  if (rule.mode == config::WatchMode::stage) job.step = ImportStep::stage;
  // Files the package and its report before the record is stored (under the deploy
  // lock), so the record names where they went as soon as the report can be seen.
  job.file_away = [&file, &rule](ImportDone& d) {
    auto& r = d.record;
    if (r.state == records::ImportState::waiting_predecessor) return;  // stays in the folder
    const bool keep = r.state == records::ImportState::deployed || r.state == records::ImportState::unchanged ||
                      r.state == records::ImportState::staged;
    auto moved =
        watch::move_to(file, keep ? watch::Outcome::processed : watch::Outcome::failed, d.report.dump(2) + "\n");
    if (!moved) {
      spdlog::error("watch {}: import {} of {}: {}", rule.dir.string(), r.id, file.filename().string(),
                    moved.error().message);
      return;
    }
    r.report_file = moved->report.string();
    r.package_file = moved->package.string();
  };
  auto done = run_import(ctx, job);
  Taken taken;
  taken.import_id = done.record.id;
  if (done.transient) {
    spdlog::warn("watch {}: {} left in place: {}", rule.dir.string(), file.filename().string(),
                 done.transient->message);
    return taken;
  }
  auto& rec = done.record;
  auto state = rec.state;
  if (done.waiting) {
    spdlog::info("watch {}: import {} of {} waits (up to {}) for its predecessor: {}", rule.dir.string(), rec.id,
                 file.filename().string(), format_duration(rule.gap_timeout), rec.error);
    notify_status("waiting_predecessor: " + file.string() + ": " + rec.error);
    taken.waiting = true;
    return taken;
  }
  // As the gap check counts it (Records::package_imported): a partial deploy landed too.
  taken.landed = state == records::ImportState::deployed || state == records::ImportState::unchanged ||
                 state == records::ImportState::partially_deployed;
  auto text = done.report.dump(2) + "\n";
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
  return taken;
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
    auto on_ready = [this, r](std::filesystem::path file) { offer(r, std::move(file)); };
    auto on_error = [r](const Error& e) { spdlog::warn("watch {}: {}", r->dir.string(), e.message); };
    auto watcher = std::make_unique<watch::FolderWatcher>(ctx_.loop, rule.dir, options, offload, on_ready, on_error);
    watcher->start();
    spdlog::info("watching {} for packages (mode {})", rule.dir.string(),
                 rule.mode == config::WatchMode::deploy ? "deploy" : "stage");
    watchers_.push_back(std::move(watcher));
  }
}

void Handoff::stop() {
  stopped_ = true;
  for (auto& w : watchers_) w->stop();
  for (auto& [file, w] : waiting_) w.timer->cancel();
  for (auto& [rule, h] : held_)
    if (h.timer) h.timer->cancel();
}

void Handoff::offer(const config::WatchRule* rule, std::filesystem::path file) {
  if (stopped_) return;
  if (rule->window && ctx_.scheduler != nullptr) {
    auto status = ctx_.scheduler->windows().status(*rule->window, ctx_.clock.now());
    if (status && status->state == schedule::Openness::closed) {
      auto& held = held_[rule];
      if (std::find(held.files.begin(), held.files.end(), file) == held.files.end()) {
        spdlog::info("watch {}: {} waits for window {}: {}", rule->dir.string(), file.filename().string(),
                     *rule->window, status->reason);
        held.files.push_back(std::move(file));
      }
      release(rule);
      return;
    }
  }
  auto task = take(rule, std::move(file), Attempt::first);
  boost::asio::co_spawn(ctx_.loop, std::move(task), boost::asio::detached);
}

void Handoff::release(const config::WatchRule* rule) {
  auto& held = held_[rule];
  auto now = ctx_.clock.now();
  auto status = ctx_.scheduler->windows().status(*rule->window, now);
  if (status && status->state == schedule::Openness::open) {
    for (auto& file : std::exchange(held.files, {})) {
      auto task = take(rule, std::move(file), Attempt::first);
      boost::asio::co_spawn(ctx_.loop, std::move(task), boost::asio::detached);
    }
    return;
  }
  if (!status || !status->next_open) {
    spdlog::error("watch {}: window {} does not open within a year; its packages stay in the folder",
                  rule->dir.string(), *rule->window);
    return;
  }
  if (!held.timer) held.timer = std::make_unique<boost::asio::steady_timer>(ctx_.loop);
  auto wait = std::chrono::duration_cast<boost::asio::steady_timer::duration>(*status->next_open - now);
  held.timer->expires_after(std::max(wait, boost::asio::steady_timer::duration::zero()));
  held.timer->async_wait([this, rule](const boost::system::error_code& ec) {
    if (!ec && !stopped_) release(rule);
  });
}

boost::asio::awaitable<void> Handoff::take(const config::WatchRule* rule, std::filesystem::path file, Attempt attempt) {
  Context* ctx = &ctx_;
  std::string waiting_id;
  bool expired = attempt == Attempt::expired;
  if (auto w = waiting_.find(file); w != waiting_.end()) {
    w->second.expired = w->second.expired || expired;
    if (w->second.trying) co_return;  // the running attempt looks again when it returns
    w->second.trying = true;
    waiting_id = w->second.import_id;
    expired = w->second.expired;
  }
  const Gaps gaps = expired ? Gaps::refuse : Gaps::wait;
  auto job = [ctx, rule, file, waiting_id, gaps] { return take_file(*ctx, *rule, file, waiting_id, gaps); };
  auto taken = co_await ctx_.workers.run(std::move(job));
  if (stopped_) co_return;
  if (taken.waiting) {
    auto [it, fresh] = waiting_.try_emplace(file);
    Waiting& w = it->second;
    w.trying = false;
    if (w.expired) {  // ran out while this attempt was running
      auto task = take(rule, file, Attempt::expired);
      boost::asio::co_spawn(ctx_.loop, std::move(task), boost::asio::detached);
    } else if (fresh) {
      // The deadline counts from the first time the package waited, not from retries.
      w.rule = rule;
      w.import_id = taken.import_id;
      w.timer = std::make_unique<boost::asio::steady_timer>(ctx_.loop, rule->gap_timeout);
      w.timer->async_wait([this, rule, file](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        auto task = take(rule, file, Attempt::expired);
        boost::asio::co_spawn(ctx_.loop, std::move(task), boost::asio::detached);
      });
    }
    co_return;
  }
  if (auto w = waiting_.find(file); w != waiting_.end()) {
    w->second.timer->cancel();
    waiting_.erase(w);
  }
  if (taken.landed) retry_waiting();
  co_return;
}

void Handoff::retry_waiting() {
  for (auto& [file, w] : waiting_) {
    if (w.trying) continue;
    auto task = take(w.rule, file, Attempt::again);
    boost::asio::co_spawn(ctx_.loop, std::move(task), boost::asio::detached);
  }
}

}  // namespace ferry::server
