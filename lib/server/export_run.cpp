// The worker side of an export: snapshot, plan, write, rename into the package
// store, deliver. Every failure leaves the record failed (or cancelled) and no
// partial file where anyone reads.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/export_job.h"
#include "server/package_view.h"
#include "server/retention.h"
#include "util/fd.h"

namespace ferry::server {

namespace {

// The package writer reports bytes; the record and the `--wait` callers get the latest
// figures at most once per percent, so progress costs little.
class ProgressRecorder {
 public:
  ProgressRecorder(Context& ctx, records::PackageRecord& record, std::shared_ptr<RunningExport> running,
                   int64_t objects)
      : ctx_(ctx), record_(record), running_(std::move(running)), objects_(objects) {}
  void operator()(uint64_t done, uint64_t total) {
    int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    if (percent == last_percent_) return;
    last_percent_ = percent;
    int64_t objects_done = total == 0 ? objects_ : static_cast<int64_t>(objects_ * done / total);
    ExportProgress p{objects_done, objects_, done, total};
    // The record in hand too: the final update_package writes every field.
    record_.objects_done = p.objects_done;
    record_.objects_total = p.objects_total;
    record_.bytes_done = p.bytes_done;
    record_.bytes_total = p.bytes_total;
    (void)ctx_.records.set_progress(running_->id, p.objects_done, p.objects_total, p.bytes_done, p.bytes_total);
    boost::asio::post(ctx_.loop, [running = running_, p] { running->update(p); });
  }

 private:
  Context& ctx_;
  records::PackageRecord& record_;
  std::shared_ptr<RunningExport> running_;
  int64_t objects_;
  int last_percent_ = -1;
};

Status deliver_all(Context& ctx, records::PackageRecord& rec, const ExportOrder& order, RunningExport& running,
                   std::vector<std::filesystem::path>& written) {
  for (const auto& target : order.targets) {
    FERRY_TRY(ctx.records.remember_folder(target.dir));  // before writing: crash clean-up finds it
    auto done = delivery::deliver(*rec.file, rec.name, rec.sha256, target, &running.cancelled);
    records::DeliveryRecord d{
        rec.id, target.dir.string(), std::nullopt, std::string(delivery::to_string(target.on_exists)), "failed",
        "",     ctx.clock.now()};
    if (done) {
      d.file = done->file ? std::optional<std::string>(done->file->string()) : std::nullopt;
      d.state = done->file ? "delivered" : "skipped";
      d.note = done->note;
      if (done->file) written.push_back(*done->file);
    } else {
      d.note = done.error().message;
    }
    FERRY_TRY(ctx.records.add_delivery(d));
    if (!done) return std::unexpected(done.error());
  }
  return {};
}

// Cancelled means "leaves no file anywhere": the stored package and what this run delivered go.
void remove_outputs(const records::PackageRecord& rec, const std::vector<std::filesystem::path>& written) {
  std::error_code ec;
  if (rec.file) std::filesystem::remove(*rec.file, ec);
  for (const auto& f : written) {
    std::filesystem::remove(f, ec);
    std::filesystem::remove(f.string() + ".sha256", ec);
  }
}

Status write_package(Context& ctx, records::PackageRecord& rec, const ExportOrder& order,
                     const std::shared_ptr<RunningExport>& running, const catalog::Snapshot& snapshot,
                     const exporter::Plan& plan) {
  if (ctx.signing_key == nullptr) {
    return fail(Errc::invalid_argument,
                "signing.key is not set in " + ctx.config.file.string() +
                    ": exports are signed; create a key with `ferryctl keygen NAME` and set signing.key");
  }
  auto partial = ctx.package_store / ("." + rec.id + ".zip.ferry-export.partial");
  exporter::WriteInput input{rec.id,
                             rec.name,
                             rec.description,
                             exporter::settings_json(order.request),
                             package::Source{ctx.config.environment.id, ctx.config.environment.engine, FERRY_VERSION},
                             order.since_package,
                             rec.created_at};
  package::WriterOptions options{running->stop.get_token(),
                                 ProgressRecorder(ctx, rec, running, static_cast<int64_t>(plan.objects.size()))};
  auto load_spec = [&snapshot](const std::string& guid) { return snapshot.spec(guid); };
  auto blob_path = [&ctx](const std::string& sha) { return ctx.catalog.blob_path(sha); };
  auto written = FERRY_TRY(
      exporter::write(plan, input, ctx.types, load_spec, blob_path, partial, *ctx.signing_key, std::move(options)));
  auto final_path = ctx.package_store / (rec.id + ".zip");
  if (::rename(partial.c_str(), final_path.c_str()) != 0) {
    auto err = fail_errno("rename", final_path.string(), errno);
    std::filesystem::remove(partial);
    return err;
  }
  FERRY_TRY(fsync_dir(ctx.package_store));
  rec.file = final_path.string();
  rec.sha256 = written.sha256;
  rec.size = written.size;
  rec.object_count = static_cast<int64_t>(written.object_count);
  return {};
}

Status export_into(Context& ctx, records::PackageRecord& rec, const ExportOrder& order,
                   const std::shared_ptr<RunningExport>& running, std::vector<std::filesystem::path>& written) {
  auto snapshot = FERRY_TRY(ctx.catalog.snapshot());
  auto objects = FERRY_TRY(snapshot->object_table());
  auto tombstones = FERRY_TRY(snapshot->tombstones(order.request.since_revision.value_or(0)));
  auto plan = FERRY_TRY(exporter::plan(std::move(objects), tombstones, snapshot->revision(), ctx.types, order.request));
  rec.revision_from = plan.revision_from;
  rec.revision_to = plan.revision_to;
  if (plan.empty()) {
    rec.state = records::PackageState::skipped;
    rec.error = order.request.mode == exporter::Mode::incremental ? "no changes" : "nothing to export";
    return {};
  }
  FERRY_TRY(write_package(ctx, rec, order, running, *snapshot, plan));
  FERRY_TRY(deliver_all(ctx, rec, order, *running, written));
  rec.state = records::PackageState::succeeded;
  return {};
}

// Worker: the whole export; always returns the final record.
records::PackageRecord perform_export(Context& ctx, records::PackageRecord rec, const ExportOrder& order,
                                      const std::shared_ptr<RunningExport>& running,
                                      const std::optional<records::ManualMaintenance>& enter_maintenance) {
  if (enter_maintenance) {
    if (auto st = ctx.records.set_maintenance(enter_maintenance); !st) spdlog::error("{}", st.error().message);
  }
  rec.state = records::PackageState::exporting;
  rec.started_at = ctx.clock.now();
  (void)ctx.records.update_package(rec);
  std::vector<std::filesystem::path> written;
  auto outcome = export_into(ctx, rec, order, running, written);
  if (!outcome) {
    bool cancelled = running->cancelled || outcome.error().code == Errc::cancelled;
    rec.state = cancelled ? records::PackageState::cancelled : records::PackageState::failed;
    rec.error = cancelled ? "cancelled: " + (running->cancelled ? running->cancelled_by : outcome.error().message)
                          : outcome.error().message;
    if (cancelled) {
      remove_outputs(rec, written);
      rec.file.reset();
    }
  }
  rec.ended_at = ctx.clock.now();
  if (auto st = ctx.records.update_package(rec); !st) spdlog::error("package {}: {}", rec.id, st.error().message);
  spdlog::info("export {} ({}) by {}: {}{}{}", rec.name, rec.id, rec.user, records::to_string(rec.state),
               rec.error.empty() ? "" : ": ", rec.error);
  return rec;
}

// Under `maintenance.end: manual` an export leaves maintenance on until an admin ends it.
std::optional<records::ManualMaintenance> enter_manual_maintenance(Context& ctx, const records::PackageRecord& record) {
  if (ctx.config.maintenance.end != config::MaintenanceEnd::manual || ctx.manual_maintenance) return std::nullopt;
  ctx.manual_maintenance = records::ManualMaintenance{"export " + record.name + " (" + record.id +
                                                          "); maintenance.end is manual, an admin ends it with "
                                                          "`ferryctl maintenance off`",
                                                      record.user, ctx.clock.now()};
  return ctx.manual_maintenance;
}

boost::asio::awaitable<void> run_export(Context& ctx, records::PackageRecord record, ExportOrder order,
                                        std::shared_ptr<RunningExport> running,
                                        std::optional<records::ManualMaintenance> maintenance) {
  auto job = [&ctx, record, order, running, maintenance]() {
    auto done = perform_export(ctx, record, order, running, maintenance);
    auto deliveries = ctx.records.deliveries(done.id);
    return package_json(done, deliveries ? *deliveries : std::vector<records::DeliveryRecord>{});
  };
  nlohmann::json result = co_await ctx.workers.run(std::move(job));
  ctx.exports.remove(record.id);
  running->finish(std::move(result));
  if (ctx.retention) ctx.retention->kick();
}

}  // namespace

std::shared_ptr<RunningExport> start_export(Context& ctx, records::PackageRecord record, ExportOrder order) {
  auto running = ctx.exports.add(ctx.loop, record.id, record.name, record.user, ctx.clock.now());
  auto maintenance = enter_manual_maintenance(ctx, record);
  auto task = run_export(ctx, std::move(record), std::move(order), running, std::move(maintenance));
  boost::asio::co_spawn(ctx.loop, std::move(task), boost::asio::detached);
  return running;
}

boost::asio::awaitable<nlohmann::json> wait_for_export(std::shared_ptr<RunningExport> running,
                                                       control::Responder& responder) {
  bool listening = true;  // false once the caller has gone: keep waiting, stop sending
  ExportProgress sent;
  // The end may arrive before the waiter saw the last figures; they are sent before
  // the result either way, so a caller always sees where the export got to.
  for (bool ended = false; !ended;) {
    if (!running->result) {
      boost::system::error_code ec;
      auto token = boost::asio::redirect_error(boost::asio::use_awaitable, ec);
      co_await running->changed.async_wait(token);
    }
    ended = running->result.has_value();
    const auto p = running->progress;
    if (!listening ||
        (p.bytes_done == sent.bytes_done && p.objects_done == sent.objects_done && p.bytes_total == sent.bytes_total)) {
      continue;
    }
    sent = p;
    nlohmann::json event{{"event", "progress"},
                         {"package", running->id},
                         {"objects_done", p.objects_done},
                         {"objects_total", p.objects_total},
                         {"bytes_done", p.bytes_done},
                         {"bytes_total", p.bytes_total}};
    auto delivered = co_await responder.event(std::move(event));
    listening = delivered.has_value();
  }
  nlohmann::json result = *running->result;
  co_return result;
}

}  // namespace ferry::server
