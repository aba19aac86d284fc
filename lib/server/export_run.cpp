// The worker side of an export: snapshot, plan, write, rename into the package
// store, deliver. Every failure leaves the record failed (or cancelled) and no
// partial file where anyone reads.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>

#include "server/export_job.h"
#include "server/package_view.h"
#include "util/fd.h"

namespace ferry::server {

namespace {

// The package writer reports bytes; the record keeps the latest figures, written
// at most once per percent so progress costs little.
class ProgressRecorder {
 public:
  ProgressRecorder(records::Records& records, std::string id, int64_t objects) : records_(records), id_(std::move(id)), objects_(objects) {}
  void operator()(uint64_t done, uint64_t total) {
    int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    if (percent == last_percent_) return;
    last_percent_ = percent;
    int64_t objects_done = total == 0 ? objects_ : static_cast<int64_t>(objects_ * done / total);
    (void)records_.set_progress(id_, objects_done, objects_, done, total);
  }

 private:
  records::Records& records_;
  std::string id_;
  int64_t objects_;
  int last_percent_ = -1;
};

Status deliver_all(Context& ctx, records::PackageRecord& rec, const ExportOrder& order, RunningExport& running,
                   std::vector<std::filesystem::path>& written) {
  for (const auto& target : order.targets) {
    FERRY_TRY(ctx.records.remember_folder(target.dir));  // before writing: crash clean-up finds it
    auto done = delivery::deliver(*rec.file, rec.name, rec.sha256, target, &running.cancelled);
    records::DeliveryRecord d{rec.id, target.dir.string(), std::nullopt, std::string(delivery::to_string(target.on_exists)),
                              "failed", "", ctx.clock.now()};
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

Status write_package(Context& ctx, records::PackageRecord& rec, const ExportOrder& order, RunningExport& running,
                     const catalog::Snapshot& snapshot, const exporter::Plan& plan) {
  if (ctx.signing_key == nullptr) {
    return fail(Errc::invalid_argument,
                "signing.key is not set in " + ctx.config.file.string() +
                    ": exports are signed; create a key with `ferryctl keygen NAME` and set signing.key");
  }
  auto partial = ctx.package_store / ("." + rec.id + ".zip.ferry-export.partial");
  exporter::WriteInput input{rec.id, rec.name, rec.description, exporter::settings_json(order.request),
                             package::Source{ctx.config.environment.id, ctx.config.environment.engine, FERRY_VERSION},
                             order.since_package, rec.created_at};
  package::WriterOptions options{running.stop.get_token(),
                                 ProgressRecorder(ctx.records, rec.id, static_cast<int64_t>(plan.objects.size()))};
  auto load_spec = [&snapshot](const std::string& guid) { return snapshot.spec(guid); };
  auto blob_path = [&ctx](const std::string& sha) { return ctx.catalog.blob_path(sha); };
  auto written = FERRY_TRY(exporter::write(plan, input, ctx.types, load_spec, blob_path, partial, *ctx.signing_key,
                                           std::move(options)));
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

Status export_into(Context& ctx, records::PackageRecord& rec, const ExportOrder& order, RunningExport& running,
                   std::vector<std::filesystem::path>& written) {
  auto snapshot = FERRY_TRY(ctx.catalog.snapshot());
  auto objects = FERRY_TRY(snapshot->objects());
  auto tombstones = FERRY_TRY(snapshot->tombstones(order.request.since_revision.value_or(0)));
  auto plan = FERRY_TRY(exporter::plan(objects, tombstones, snapshot->revision(), ctx.types, order.request));
  rec.revision_from = plan.revision_from;
  rec.revision_to = plan.revision_to;
  if (plan.empty()) {
    rec.state = records::PackageState::skipped;
    rec.error = order.request.mode == exporter::Mode::incremental ? "no changes" : "nothing to export";
    return {};
  }
  FERRY_TRY(write_package(ctx, rec, order, running, *snapshot, plan));
  FERRY_TRY(deliver_all(ctx, rec, order, running, written));
  rec.state = records::PackageState::succeeded;
  return {};
}

// Worker: the whole export; always returns the final record.
records::PackageRecord perform_export(Context& ctx, records::PackageRecord rec, const ExportOrder& order,
                                      RunningExport& running) {
  rec.state = records::PackageState::exporting;
  rec.started_at = ctx.clock.now();
  (void)ctx.records.update_package(rec);
  std::vector<std::filesystem::path> written;
  auto outcome = export_into(ctx, rec, order, running, written);
  if (!outcome) {
    bool cancelled = running.cancelled || outcome.error().code == Errc::cancelled;
    rec.state = cancelled ? records::PackageState::cancelled : records::PackageState::failed;
    rec.error = cancelled ? "cancelled: " + (running.cancelled ? running.cancelled_by : outcome.error().message)
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

}  // namespace

boost::asio::awaitable<nlohmann::json> run_export(Context& ctx, records::PackageRecord record, ExportOrder order) {
  auto running = ctx.exports.add(record.id, record.name, record.user, ctx.clock.now());
  auto job = [&ctx, record, order, running]() {
    auto done = perform_export(ctx, record, order, *running);
    auto deliveries = ctx.records.deliveries(done.id);
    return package_json(done, deliveries ? *deliveries : std::vector<records::DeliveryRecord>{});
  };
  nlohmann::json result = co_await ctx.workers.run(std::move(job));
  ctx.exports.remove(record.id);
  co_return result;
}

}  // namespace ferry::server
