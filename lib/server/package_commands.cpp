// export, package list, package show, package stop (the rest of a package's life is in
// package_lifecycle.cpp).
#include "package/package.h"
#include "server/commands.h"
#include "server/export_job.h"
#include "server/package_view.h"

namespace ferry::server {

namespace {

// Worker: the objects a stored package carries, from its manifest.
nlohmann::json package_objects(const records::PackageRecord& r) {
  auto objects = nlohmann::json::array();
  if (!r.file) return objects;
  auto manifest = package::read_manifest(*r.file);
  if (!manifest) return objects;
  for (const auto& o : manifest->objects) {
    objects.push_back({{"guid", o.guid}, {"type", o.type}, {"address", Address{o.type, o.folder, o.name}.to_string()}});
  }
  return objects;
}

}  // namespace

CommandResult export_command(Context& ctx, control::Request& request, Responder& responder) {
  auto order = parse_export_order(request.args);
  if (!order) co_return std::unexpected(order.error());
  auto user = user_of(request.peer);
  auto create = [&ctx, &order, user] { return create_package_record(ctx, *order, user); };
  auto created = co_await ctx.workers.run(std::move(create));
  if (!created) co_return std::unexpected(created.error());
  auto running = start_export(ctx, *created, *order);
  if (!order->wait) co_return package_json(*created, {});
  auto task = wait_for_export(running, responder);
  auto done = co_await std::move(task);
  co_return done;
}

CommandResult package_list(Context& ctx, control::Request& request, Responder&) {
  records::PackageFilter filter;
  auto search = optional_string_arg(request.args, "search");
  auto state = optional_string_arg(request.args, "state");
  if (!search || !state) co_return std::unexpected(!search ? search.error() : state.error());
  filter.search = *search;
  if (*state) {
    filter.state = records::parse_package_state(**state);
    if (!filter.state) co_return fail(Errc::invalid_argument, "unknown package state '" + **state + "'");
  }
  auto job = [&ctx, filter]() -> Expected<nlohmann::json> {
    auto rows = nlohmann::json::array();
    for (const auto& r : FERRY_TRY(ctx.records.packages(filter))) rows.push_back(package_json(r, {}));
    return nlohmann::json{{"packages", std::move(rows)}};
  };
  auto result = co_await ctx.workers.run(std::move(job));
  co_return result;
}

CommandResult package_show(Context& ctx, control::Request& request, Responder&) {
  auto id = string_arg(request.args, "id");
  if (!id) co_return std::unexpected(id.error());
  auto job = [&ctx, id = *id]() -> Expected<nlohmann::json> {
    auto r = FERRY_TRY(ctx.records.package(id));
    auto view = package_json(r, FERRY_TRY(ctx.records.deliveries(r.id)));
    view["settings"] = r.settings;
    view["objects"] = package_objects(r);
    return view;
  };
  auto result = co_await ctx.workers.run(std::move(job));
  co_return result;
}

CommandResult package_stop(Context& ctx, control::Request& request, Responder&) {
  auto id = string_arg(request.args, "id");
  if (!id) co_return std::unexpected(id.error());
  auto lookup = [&ctx, id = *id] { return ctx.records.package(id); };
  auto record = co_await ctx.workers.run(std::move(lookup));
  if (!record) co_return std::unexpected(record.error());
  auto running = ctx.exports.find(record->id);
  if (!running) {
    co_return fail(Errc::conflict, "package " + record->name + " (" + record->id + ") is not running; it is " +
                                       std::string(records::to_string(record->state)));
  }
  running->cancel("stopped by " + user_of(request.peer));
  co_return nlohmann::json{{"id", record->id}, {"name", record->name}, {"state", "stopping"}};
}

}  // namespace ferry::server
