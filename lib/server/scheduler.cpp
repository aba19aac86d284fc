#include "server/scheduler.h"

#include <sys/inotify.h>
#include <unistd.h>
#include <cstring>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/package_name.h"
#include "server/package_view.h"
#include "util/time.h"

namespace ferry::server {

namespace asio = boost::asio;

namespace {

constexpr std::array<std::string_view, 4> kTriggers = {"schedule", "catch_up", "manual", "manual_now"};

asio::steady_timer::duration until(TimePoint t, TimePoint now) {
  auto d = std::chrono::duration_cast<asio::steady_timer::duration>(t - now);
  return d > d.zero() ? d : asio::steady_timer::duration::zero();
}

/// Waits on a timer used as a signal (cancelled to wake the waiter).
asio::awaitable<void> wake_on(asio::steady_timer& signal) {
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  co_await signal.async_wait(token);
}

nlohmann::json selection_json(const exporter::Selection& s) {
  return {
      {"guids", s.guids}, {"addresses", s.addresses}, {"types", s.types}, {"folders", s.folders}, {"names", s.names}};
}

// The order a job's run exports with; its settings are what `package retry` repeats.
ExportOrder job_order(const jobs::Job& job) {
  ExportOrder order;
  order.request = job.request;
  order.name_template = job.package_name.value_or(std::string(kDefaultNameTemplate));
  order.description = job.description;
  order.job = job.name;
  order.targets = job.deliver;
  auto deliver = nlohmann::json::array();
  for (const auto& t : job.deliver) {
    deliver.push_back({{"dir", t.dir.string()}, {"on_exists", delivery::to_string(t.on_exists)}});
  }
  order.settings = {{"mode", exporter::to_string(job.request.mode)},
                    {"select", selection_json(job.request.select)},
                    {"upstream", job.request.include_upstream},
                    {"data", job.request.include_data},
                    {"description", job.description},
                    {"deliver", std::move(deliver)}};
  if (job.package_name) order.settings["name"] = *job.package_name;
  return order;
}

void log_files(const jobs::JobSet& set, const std::string& why) {
  for (const auto& f : set.files) {
    if (f.state == jobs::FileState::loaded) {
      spdlog::info("jobs ({}): {}: {} jobs loaded", why, f.file.string(), f.jobs);
      continue;
    }
    for (const auto& e : f.errors) spdlog::error("{}", e);
    spdlog::error("jobs ({}): {}: not loaded; its {} jobs keep their last good definition", why, f.file.string(),
                  f.jobs);
  }
}

struct Created {
  records::PackageRecord record;
  ExportOrder order;
};

// Worker: the incremental baseline (the job's last successful export), then the
// package record, the history line and the job's last fire time, in one transaction.
// fired_at: the instant the scheduler acted on the due time (its timer fired, or the
// request came), taken on the event loop before any disk write, so history shows when
// the run fired rather than when its records reached the disk.
Expected<Created> create_run(Context& ctx, ExportOrder order, TimePoint due, TimePoint fired_at, Trigger trigger,
                             const std::string& user, std::optional<TimePoint> last_fire) {
  if (order.request.mode == exporter::Mode::incremental) {
    records::PackageFilter last{.state = records::PackageState::succeeded, .job = *order.job, .limit = 1};
    auto found = FERRY_TRY(ctx.records.packages(last));
    if (!found.empty()) {
      order.since_package = found.front().id;
      order.settings["since"] = found.front().id;
    }
  }
  auto record = FERRY_TRY(new_package_record(ctx, order, user.empty() ? "ferryd" : user));
  records::JobRun run{*order.job, due, std::string(to_string(trigger)), user, record.id, "queued", "", fired_at};
  FERRY_TRY(ctx.records.start_job_run(record, run, last_fire));
  return Created{std::move(record), std::move(order)};
}

}  // namespace

std::string_view to_string(Trigger trigger) { return kTriggers[static_cast<size_t>(trigger)]; }

struct Scheduler::Pending {
  explicit Pending(asio::any_io_executor loop) : changed(std::move(loop)) {
    changed.expires_at(asio::steady_timer::time_point::max());
  }
  records::PackageRecord record;
  ExportOrder order;
  std::shared_ptr<RunningExport> running;  ///< once started
  bool dropped = false;                    ///< will never start (ferryd stopping, job removed)
  asio::steady_timer changed;              ///< cancelled when started or dropped
};

struct Scheduler::Slot {
  Slot(asio::any_io_executor loop, jobs::Job j, uint64_t gen)
      : job(std::move(j)), generation(gen), timer(loop), window_timer(loop), close_timer(loop) {}
  jobs::Job job;
  uint64_t generation;              ///< bumped when the definition changes: stale timers do nothing
  std::optional<TimePoint> next;    ///< next fire time
  asio::steady_timer timer;         ///< fires at `next`
  asio::steady_timer window_timer;  ///< a waiting run: when its window opens
  asio::steady_timer close_timer;   ///< when the window of running exports closes (on_window_close)
  std::vector<std::shared_ptr<RunningExport>> running;
  std::shared_ptr<Pending> waiting;
  uint64_t skipped = 0;  ///< fire times skipped since ferryd started
  /// The stored last fire time (or first-seen time) once read: later evaluations need
  /// no read, and the write goes with the run's records.
  std::optional<TimePoint> since;

  void cancel_timers() {
    timer.cancel();
    window_timer.cancel();
  }
};

Scheduler::Scheduler(Context& ctx, schedule::Windows windows) : ctx_(ctx), windows_(std::move(windows)) {}
Scheduler::~Scheduler() = default;

Scheduler::Slot* Scheduler::find(const std::string& name, uint64_t generation) {
  auto it = slots_.find(name);
  if (it == slots_.end() || (generation != 0 && it->second->generation != generation)) return nullptr;
  return it->second.get();
}

void Scheduler::start() {
  auto loads = jobs::load_jobs(ctx_.config.jobs_dir, ctx_.config);
  if (!loads) {
    spdlog::error("jobs: {}; no jobs loaded, fix it and reload with SIGHUP", loads.error().message);
  } else {
    auto next = jobs::merge(set_, std::move(*loads));
    log_files(next, "start");
    apply(std::move(next));
  }
  watch_dir();
}

void Scheduler::request_reload(std::string why) {
  if (stopped_) return;
  if (reloading_) {
    again_ = std::move(why);
    return;
  }
  reloading_ = true;
  asio::co_spawn(ctx_.loop, reload(std::move(why)), asio::detached);
}

asio::awaitable<void> Scheduler::reload(std::string why) {
  for (std::optional<std::string> reason = std::move(why); reason && !stopped_;) {
    auto load = [&ctx = ctx_] { return jobs::load_jobs(ctx.config.jobs_dir, ctx.config); };
    auto loads = co_await ctx_.workers.run(std::move(load));
    if (!loads) {
      spdlog::error("jobs ({}): {}; the jobs in effect stay", *reason, loads.error().message);
    } else if (!stopped_) {
      auto next = jobs::merge(set_, std::move(*loads));
      log_files(next, *reason);
      apply(std::move(next));
    }
    reason = std::exchange(again_, std::nullopt);
  }
  reloading_ = false;
}

void Scheduler::apply(jobs::JobSet next) {
  auto changes = jobs::diff(set_, next);
  set_ = std::move(next);
  for (const auto& name : changes.removed) {
    auto it = slots_.find(name);
    if (it == slots_.end()) continue;
    it->second->cancel_timers();
    if (auto p = std::exchange(it->second->waiting, nullptr)) {
      asio::co_spawn(ctx_.loop, drop(p, "job " + name + " was removed"), asio::detached);
    }
    spdlog::info("job {} removed", name);
    slots_.erase(it);  // its running exports go on; follow() finds no slot and lets them be
  }
  for (const auto& name : changes.added) {
    slots_[name] = std::make_unique<Slot>(ctx_.loop, *set_.find(name), next_generation_++);
    spdlog::info("job {} loaded from {}", name, set_.find(name)->file.string());
    evaluate_soon(name);
  }
  for (const auto& name : changes.changed) {
    auto& slot = *slots_.at(name);
    slot.job = *set_.find(name);
    slot.generation = next_generation_++;
    slot.cancel_timers();
    spdlog::info("job {} changed in {}", name, slot.job.file.string());
    evaluate_soon(name);
  }
}

void Scheduler::evaluate_soon(const std::string& name) {
  auto* slot = find(name, 0);
  if (slot == nullptr || stopped_) return;
  asio::co_spawn(ctx_.loop, evaluate(name, slot->generation), asio::detached);
}

asio::awaitable<void> Scheduler::evaluate(std::string name, uint64_t generation) {
  auto now = ctx_.clock.now();
  Slot* slot = find(name, generation);
  if (slot == nullptr || stopped_ || !slot->job.schedule) co_return;
  if (!slot->since) {
    auto get = [&ctx = ctx_, name, now] { return ctx.records.job_state(name, now); };
    auto state = co_await ctx_.workers.run(std::move(get));
    if (!state) {
      spdlog::error("job {}: {}", name, state.error().message);
      co_return;
    }
    slot = find(name, generation);
    if (slot == nullptr || stopped_) co_return;
    slot->since = state->last_fire.value_or(state->first_seen);
  }
  if (!slot->job.enabled) {
    // Suspended: what falls due meanwhile is not made up when it is enabled again.
    slot->since = now;
    auto save = [&ctx = ctx_, name, now] { return ctx.records.set_last_fire(name, now); };
    co_await ctx_.workers.run(std::move(save));
    co_return;
  }
  schedule::Schedule plan(*slot->job.schedule, *slot->since);
  auto due = schedule::due_at(plan, *slot->since, now, slot->job.misfire);
  if (due.last_fire) slot->since = due.last_fire;
  if (due.last_fire && !due.run) {  // a run stores it with its records
    auto save = [&ctx = ctx_, name, t = *due.last_fire] { return ctx.records.set_last_fire(name, t); };
    auto saved = co_await ctx_.workers.run(std::move(save));
    if (!saved) spdlog::error("job {}: {}", name, saved.error().message);
  }
  if (due.skipped_count > 0) {
    auto reason = std::string(schedule::to_string(due.reason));
    spdlog::warn("job {}: {} runs skipped: {}", name, due.skipped_count, reason);
    if (auto* s = find(name, generation)) s->skipped += due.skipped_count;
    for (auto t : due.skipped) {
      auto skip = record_skip(name, t, Trigger::schedule, "", reason);
      co_await std::move(skip);
    }
  }
  if (due.run) {
    if (auto* s = find(name, generation)) {
      auto trigger = due.kind == schedule::RunKind::catch_up ? Trigger::catch_up : Trigger::schedule;
      auto task = fire(*s, *due.run, now, trigger, "", due.last_fire);
      auto fired = co_await std::move(task);
      if (!fired) {  // skipped or failed before its records: the fire time is dealt with all the same
        auto save = [&ctx = ctx_, name, t = *due.last_fire] { return ctx.records.set_last_fire(name, t); };
        co_await ctx_.workers.run(std::move(save));
      }
    }
  }
  slot = find(name, generation);
  if (slot == nullptr || stopped_) co_return;
  slot->next = due.next;
  if (!due.next) co_return;
  slot->timer.expires_after(until(*due.next, ctx_.clock.now()));
  slot->timer.async_wait([this, name, generation](const boost::system::error_code& ec) {
    if (!ec && !stopped_) asio::co_spawn(ctx_.loop, evaluate(name, generation), asio::detached);
  });
}

asio::awaitable<void> Scheduler::record_skip(std::string job, TimePoint due, Trigger trigger, std::string user,
                                             std::string reason) {
  spdlog::warn("job {}: run due {} skipped: {}", job, format_rfc3339(due), reason);
  records::JobRun run{
      job, due, std::string(to_string(trigger)), user, std::nullopt, "skipped", reason, ctx_.clock.now()};
  auto save = [&ctx = ctx_, run] { return ctx.records.add_job_run(run); };
  auto saved = co_await ctx_.workers.run(std::move(save));
  if (!saved) spdlog::error("job {}: {}", job, saved.error().message);
}

asio::awaitable<Expected<std::shared_ptr<Scheduler::Pending>>> Scheduler::fire(Slot& start_slot, TimePoint due,
                                                                               TimePoint fired_at, Trigger trigger,
                                                                               std::string user,
                                                                               std::optional<TimePoint> last_fire) {
  auto name = start_slot.job.name;
  auto order = job_order(start_slot.job);  // start_slot may be gone after the first co_await
  if (!start_slot.running.empty() || start_slot.waiting) {
    const auto& job = start_slot.job;
    std::string busy = start_slot.waiting
                           ? "the previous run is still waiting for window " + job.window.value_or("")
                           : "the previous run (package " + start_slot.running.front()->name + ") is still running";
    if (job.concurrency == jobs::Concurrency::forbid ||
        (job.concurrency == jobs::Concurrency::allow && start_slot.waiting)) {
      auto reason = busy + " (concurrency: " + std::string(jobs::to_string(job.concurrency)) + ")";
      auto skip = record_skip(name, due, trigger, user, reason);
      co_await std::move(skip);
      co_return fail(Errc::conflict, "job " + name + ": run skipped: " + reason);
    }
    if (job.concurrency == jobs::Concurrency::replace) {
      for (const auto& r : start_slot.running) r->cancel("replaced by a new run of job " + name);
      if (auto p = std::exchange(start_slot.waiting, nullptr)) {
        auto dropping = drop(p, "replaced by a new run of job " + name);
        co_await std::move(dropping);
      }
    }
  }
  auto create = [&ctx = ctx_, order, due, fired_at, trigger, user, last_fire] {
    return create_run(ctx, order, due, fired_at, trigger, user, last_fire);
  };
  auto created = co_await ctx_.workers.run(std::move(create));
  if (!created) {
    spdlog::error("job {}: {}", name, created.error().message);
    co_return std::unexpected(created.error());
  }
  auto pending = std::make_shared<Pending>(ctx_.loop);
  pending->record = std::move(created->record);
  pending->order = std::move(created->order);
  Slot* slot = find(name, 0);
  if (slot == nullptr || stopped_) {  // removed or stopping meanwhile: run it anyway, untracked
    pending->running = start_export(ctx_, pending->record, pending->order);
    co_return pending;
  }
  slot->waiting = pending;
  if (slot->job.window && trigger != Trigger::manual_now) {
    auto status = windows_.status(*slot->job.window, ctx_.clock.now());
    if (status && status->state == schedule::Openness::closed) {
      pending->record.state = records::PackageState::waiting_window;
      auto save = [&ctx = ctx_, r = pending->record] { return ctx.records.update_package(r); };
      co_await ctx_.workers.run(std::move(save));
      spdlog::info("job {}: package {} waits: {}", name, pending->record.name, status->reason);
      if (auto* s = find(name, 0); s && s->waiting == pending) arm_window(*s);
      co_return pending;
    }
  }
  start_pending(*slot);
  co_return pending;
}

asio::awaitable<void> Scheduler::drop(std::shared_ptr<Pending> p, std::string why) {
  p->dropped = true;
  p->changed.cancel();
  p->record.state = records::PackageState::cancelled;
  p->record.error = "cancelled: " + why;
  p->record.ended_at = ctx_.clock.now();
  spdlog::info("package {} ({}) {}", p->record.name, p->record.id, p->record.error);
  auto save = [&ctx = ctx_, r = p->record] { return ctx.records.update_package(r); };
  auto saved = co_await ctx_.workers.run(std::move(save));
  if (!saved) spdlog::error("{}", saved.error().message);
}

void Scheduler::start_pending(Slot& slot) {
  auto p = std::exchange(slot.waiting, nullptr);
  if (!p) return;
  p->running = start_export(ctx_, p->record, p->order);
  slot.running.push_back(p->running);
  p->changed.cancel();
  asio::co_spawn(ctx_.loop, follow(slot.job.name, slot.generation, p->running), asio::detached);
  if (slot.job.window) arm_close(slot);
}

void Scheduler::arm_window(Slot& slot) {
  auto now = ctx_.clock.now();
  auto status = windows_.status(*slot.job.window, now);
  if (!status) {
    spdlog::error("job {}: {}", slot.job.name, status.error().message);
    return;
  }
  if (status->state == schedule::Openness::open) {
    start_pending(slot);
    return;
  }
  if (!status->next_open) {
    spdlog::error("job {}: window {} does not open within a year; the run keeps waiting", slot.job.name,
                  *slot.job.window);
    return;
  }
  slot.window_timer.expires_after(until(*status->next_open, now));
  slot.window_timer.async_wait([this, name = slot.job.name](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    if (auto* s = find(name, 0); s && s->waiting) arm_window(*s);
  });
}

// One timer per job for the close of its window: every run of the job shares the
// window, so each start re-arms it for the same instant and the handler deals with all
// of the job's runs still exporting then. With `finish` it only logs.
void Scheduler::arm_close(Slot& slot) {
  auto now = ctx_.clock.now();
  auto status = windows_.status(*slot.job.window, now);
  if (!status || !status->next_close) return;
  slot.close_timer.expires_after(until(*status->next_close, now));
  slot.close_timer.async_wait([this, name = slot.job.name](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    auto* s = find(name, 0);
    if (s == nullptr || !s->job.window) return;
    const auto& window = *s->job.window;
    bool cancel = s->job.on_window_close == jobs::OnWindowClose::cancel;
    for (const auto& running : s->running) {
      if (running->result) continue;
      spdlog::info("job {}: window {} closed; package {} ({}) {} (on_window_close: {})", name, window, running->name,
                   running->id, cancel ? "is cancelled" : "runs to its end", cancel ? "cancel" : "finish");
      if (cancel) running->cancel("window " + window + " closed (on_window_close: cancel)");
    }
  });
}

asio::awaitable<void> Scheduler::follow(std::string name, uint64_t, std::shared_ptr<RunningExport> running) {
  while (!running->result) {
    auto woken = wake_on(running->changed);
    co_await std::move(woken);
  }
  if (auto* slot = find(name, 0)) {
    std::erase(slot->running, running);
    if (slot->running.empty()) slot->close_timer.cancel();
  }
}

asio::awaitable<Expected<nlohmann::json>> Scheduler::run(std::string name, Trigger trigger, std::string user, bool wait,
                                                         control::Responder& responder) {
  Slot* slot = find(name, 0);
  if (slot == nullptr) {
    co_return fail(Errc::not_found, "no job " + name + "; `ferryctl job list` shows the jobs in effect");
  }
  auto now = ctx_.clock.now();
  auto task = fire(*slot, now, now, trigger, user, std::nullopt);
  auto fired = co_await std::move(task);
  if (!fired) co_return std::unexpected(fired.error());
  auto pending = *fired;
  if (!wait) co_return package_json(pending->record, {});
  while (!pending->running && !pending->dropped) {
    auto woken = wake_on(pending->changed);
    co_await std::move(woken);
  }
  if (!pending->running) co_return package_json(pending->record, {});
  auto task_end = wait_for_export(pending->running, responder);
  auto done = co_await std::move(task_end);
  co_return done;
}

nlohmann::json Scheduler::list() const {
  auto now = ctx_.clock.now();
  auto out = nlohmann::json::array();
  for (const auto& job : set_.jobs) {
    const auto& slot = *slots_.at(job.name);
    auto entry = nlohmann::json{
        {"name", job.name},
        {"file", job.file.string()},
        {"mode", exporter::to_string(job.request.mode)},
        {"enabled", job.enabled},
        {"schedule", job.schedule ? nlohmann::json(schedule::describe(*job.schedule)) : nlohmann::json(nullptr)},
        {"next_run", slot.next && job.enabled ? nlohmann::json(format_rfc3339(*slot.next)) : nlohmann::json(nullptr)},
        {"window", job.window ? nlohmann::json(*job.window) : nlohmann::json(nullptr)},
        {"running", slot.running.size()},
        {"waiting", slot.waiting != nullptr},
        {"skipped_since_start", slot.skipped}};
    if (job.window) {
      auto status = windows_.status(*job.window, now);
      entry["window_state"] = status && status->state == schedule::Openness::open ? "open" : "closed";
    }
    out.push_back(std::move(entry));
  }
  return out;
}

void Scheduler::stop() {
  stopped_ = true;
  for (auto& [name, slot] : slots_) {
    slot->cancel_timers();
    slot->close_timer.cancel();
    if (auto p = std::exchange(slot->waiting, nullptr)) {
      p->dropped = true;
      p->changed.cancel();
    }
  }
  if (inotify_) inotify_->close();
}

// inotify on jobs_dir: a job file written, moved in or out, or removed reloads the set.
void Scheduler::watch_dir() {
  if (stopped_) return;
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    spdlog::warn("jobs: cannot watch {}: {}; reload with SIGHUP", ctx_.config.jobs_dir.string(), std::strerror(errno));
    return;
  }
  constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF;
  if (::inotify_add_watch(fd, ctx_.config.jobs_dir.c_str(), kMask) < 0) {
    spdlog::info("jobs: not watching {}: {}; create it and reload with SIGHUP", ctx_.config.jobs_dir.string(),
                 std::strerror(errno));
    ::close(fd);
    return;
  }
  inotify_.emplace(ctx_.loop, fd);
  read_events();
}

void Scheduler::read_events() {
  inotify_->async_read_some(asio::buffer(events_), [this](const boost::system::error_code& ec, size_t n) {
    if (ec || stopped_) return;
    std::optional<std::string> changed;
    for (size_t at = 0; at + sizeof(inotify_event) <= n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(events_.data() + at);
      std::string file = e->len > 0 ? std::string(e->name) : std::string();
      if (file.ends_with(".yaml") && !file.starts_with(".")) changed = file;
      at += sizeof(inotify_event) + e->len;
    }
    if (changed) request_reload(*changed + " changed");
    read_events();
  });
}

}  // namespace ferry::server
