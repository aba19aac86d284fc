// What happens to a package after its export: package retry, delete, forward and
// forwards (PRODUCT.md section 3).
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <atomic>
#include <stop_token>

#include "server/commands.h"
#include "server/export_job.h"
#include "server/package_view.h"

namespace ferry::server {

namespace {

Expected<records::PackageRecord> lookup(Context& ctx, const std::string& id) { return ctx.records.package(id); }

std::string named(const records::PackageRecord& r) { return "package " + r.name + " (" + r.id + ")"; }

Error held_error(const records::PackageRecord& r, const std::string& holder, std::string_view action) {
  if (holder == "exporting") {
    return Error{Errc::conflict, named(r) + " is exporting; stop it first with `ferryctl package stop " + r.id +
                                     "` or wait for it to end, then " + std::string(action) + " it"};
  }
  return Error{Errc::conflict,
               named(r) + " is being " + holder + " right now; " + std::string(action) + " it when that has finished"};
}

// Worker: one forward, recorded whatever its outcome.
nlohmann::json forward_package(Context& ctx, const records::PackageRecord& r, const delivery::Target& target,
                               const std::string& user) {
  std::atomic<bool> cancel{false};
  std::stop_callback on_stop(ctx.stopping, [&cancel] { cancel = true; });
  records::DeliveryRecord d{r.id,
                            target.dir.string(),
                            std::nullopt,
                            std::string(delivery::to_string(target.on_exists)),
                            "failed",
                            "",
                            ctx.clock.now(),
                            records::DeliveryKind::forward,
                            user};
  auto remembered = ctx.records.remember_folder(target.dir);  // before writing: crash clean-up finds it
  auto done = remembered ? delivery::deliver(*r.file, r.name, r.sha256, target, &cancel)
                         : Expected<delivery::Delivered>(std::unexpected(remembered.error()));
  if (done) {
    d.file = done->file ? std::optional<std::string>(done->file->string()) : std::nullopt;
    d.state = done->file ? "delivered" : "skipped";
    d.note = done->note;
  } else {
    d.note = done.error().message;
  }
  d.at = ctx.clock.now();
  if (auto st = ctx.records.add_delivery(d); !st) spdlog::error("{}: {}", named(r), st.error().message);
  spdlog::info("{} forwarded to {} by {}: {}{}{}", named(r), d.dir, user, d.state, d.note.empty() ? "" : ": ", d.note);
  return delivery_json(d);
}

boost::asio::awaitable<nlohmann::json> run_forward(Context& ctx, records::PackageRecord record, delivery::Target target,
                                                   std::string user) {
  auto job = [&ctx, record, target, user] { return forward_package(ctx, record, target, user); };
  nlohmann::json result = co_await ctx.workers.run(std::move(job));
  ctx.exports.release(record.id);
  co_return result;
}

Expected<delivery::Target> forward_target(const nlohmann::json& args) {
  auto dir = FERRY_TRY(string_arg(args, "to"));
  std::filesystem::path p(dir);
  if (p.is_relative()) return fail(Errc::invalid_argument, "--to " + dir + ": give an absolute folder");
  delivery::Target target{p.lexically_normal(), delivery::OnExists::rename};
  if (auto word = FERRY_TRY(optional_string_arg(args, "on_exists"))) {
    target.on_exists = FERRY_TRY(delivery::parse_on_exists(*word));
  }
  return target;
}

// Worker: removes the record, then the stored file (as retention does).
Status delete_package(Context& ctx, const records::PackageRecord& r) {
  FERRY_TRY(ctx.records.delete_package(r.id));
  std::error_code ec;
  if (r.file && !std::filesystem::remove(*r.file, ec) && ec) {
    return fail(Errc::io, named(r) + ": the record is deleted but " + *r.file +
                              " could not be removed: " + ec.message() + "; ferryd removes it on its next start");
  }
  return {};
}

}  // namespace

CommandResult package_retry(Context& ctx, control::Request& request, Responder& responder) {
  auto id = string_arg(request.args, "id");
  auto wait = bool_arg(request.args, "wait");
  if (!id || !wait) co_return std::unexpected(!id ? id.error() : wait.error());
  auto find = [&ctx, id = *id] { return lookup(ctx, id); };
  auto original = co_await ctx.workers.run(std::move(find));
  if (!original) co_return std::unexpected(original.error());
  if (original->state != records::PackageState::failed && original->state != records::PackageState::cancelled) {
    co_return fail(Errc::conflict, named(*original) + " is " + std::string(records::to_string(original->state)) +
                                       "; only a failed or cancelled package can be retried");
  }
  auto order = parse_export_order(original->settings);
  if (!order) co_return fail(Errc::corrupt, named(*original) + ": its stored settings: " + order.error().message);
  order->name_template = original->name;  // the retry carries the same name
  order->description = original->description;
  order->job = original->job;
  order->retry_of = original->id;
  order->wait = *wait;
  auto create = [&ctx, &order, user = user_of(request.peer)] { return create_package_record(ctx, *order, user); };
  auto created = co_await ctx.workers.run(std::move(create));
  if (!created) co_return std::unexpected(created.error());
  spdlog::info("{} retried by {} as {}", named(*original), user_of(request.peer), created->id);
  auto running = start_export(ctx, *created, *order);
  if (!*wait) co_return package_json(*created, {});
  auto task = wait_for_export(running, responder);
  auto done = co_await std::move(task);
  co_return done;
}

CommandResult package_delete(Context& ctx, control::Request& request, Responder&) {
  auto id = string_arg(request.args, "id");
  if (!id) co_return std::unexpected(id.error());
  auto find = [&ctx, id = *id] { return lookup(ctx, id); };
  auto record = co_await ctx.workers.run(std::move(find));
  if (!record) co_return std::unexpected(record.error());
  if (auto holder = ctx.exports.holder(record->id)) co_return std::unexpected(held_error(*record, *holder, "delete"));
  if (!records::finished(record->state)) {
    co_return fail(Errc::conflict, named(*record) + " is " + std::string(records::to_string(record->state)) +
                                       "; stop it first with `ferryctl package stop " + record->id + "`");
  }
  ctx.exports.hold(record->id, "deleted");
  auto remove = [&ctx, r = *record] { return delete_package(ctx, r); };
  auto removed = co_await ctx.workers.run(std::move(remove));
  ctx.exports.release(record->id);
  if (!removed) co_return std::unexpected(removed.error());
  spdlog::info("{} deleted by {}", named(*record), user_of(request.peer));
  co_return nlohmann::json{{"id", record->id},
                           {"name", record->name},
                           {"deleted", true},
                           {"file", record->file ? nlohmann::json(*record->file) : nlohmann::json(nullptr)}};
}

CommandResult package_forward(Context& ctx, control::Request& request, Responder&) {
  auto id = string_arg(request.args, "id");
  auto target = forward_target(request.args);
  auto wait = bool_arg(request.args, "wait");
  if (!id || !target || !wait) co_return std::unexpected(!id ? id.error() : !target ? target.error() : wait.error());
  auto find = [&ctx, id = *id] { return lookup(ctx, id); };
  auto record = co_await ctx.workers.run(std::move(find));
  if (!record) co_return std::unexpected(record.error());
  if (record->state != records::PackageState::succeeded || !record->file) {
    co_return fail(Errc::conflict, named(*record) + " is " + std::string(records::to_string(record->state)) +
                                       "; only a succeeded package can be forwarded");
  }
  if (!ctx.exports.hold(record->id, "forwarded")) {
    co_return std::unexpected(held_error(*record, ctx.exports.holder(record->id).value_or("used"), "forward"));
  }
  auto task = run_forward(ctx, *record, *target, user_of(request.peer));
  if (!*wait) {
    boost::asio::co_spawn(ctx.loop, std::move(task), boost::asio::detached);
    co_return nlohmann::json{
        {"id", record->id}, {"name", record->name}, {"dir", target->dir.string()}, {"state", "forwarding"}};
  }
  auto forwarded = co_await std::move(task);
  forwarded["id"] = record->id;
  forwarded["name"] = record->name;
  if (forwarded["state"] == "failed")
    co_return fail(Errc::io, named(*record) + ": " + forwarded["note"].get<std::string>());
  co_return forwarded;
}

CommandResult package_forwards(Context& ctx, control::Request& request, Responder&) {
  auto id = string_arg(request.args, "id");
  if (!id) co_return std::unexpected(id.error());
  auto job = [&ctx, id = *id]() -> Expected<nlohmann::json> {
    auto r = FERRY_TRY(lookup(ctx, id));
    auto rows = nlohmann::json::array();
    for (const auto& d : FERRY_TRY(ctx.records.deliveries(r.id)))
      if (d.kind == records::DeliveryKind::forward) rows.push_back(delivery_json(d));
    return nlohmann::json{{"id", r.id}, {"name", r.name}, {"forwards", std::move(rows)}};
  };
  auto result = co_await ctx.workers.run(std::move(job));
  co_return result;
}

}  // namespace ferry::server
