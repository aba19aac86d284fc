// maintenance status, on and off (PRODUCT.md sections 3 and 7). The environment is in
// maintenance while an export runs, and while an admin (or an export under
// `maintenance.end: manual`) holds it on; editors' catalog writes are refused then.
#include <spdlog/spdlog.h>

#include "server/commands.h"
#include "util/time.h"

namespace ferry::server {

namespace {

nlohmann::json maintenance_json(const Context& ctx) {
  auto manual = nlohmann::json(nullptr);
  if (const auto& m = ctx.manual_maintenance) {
    manual = {{"reason", m->reason}, {"user", m->user}, {"since", format_rfc3339(m->since)}};
  }
  auto exports = nlohmann::json::array();
  for (const auto& e : ctx.exports.running()) {
    exports.push_back(
        {{"id", e->id}, {"name", e->name}, {"user", e->user}, {"started_at", format_rfc3339(e->started_at)}});
  }
  bool on = !manual.is_null() || !exports.empty();
  return {{"on", on},
          {"end", ctx.config.maintenance.end == config::MaintenanceEnd::manual ? "manual" : "auto"},
          {"manual", std::move(manual)},
          {"exports", std::move(exports)}};
}

}  // namespace

CommandResult maintenance_status(Context& ctx, control::Request&, Responder&) { co_return maintenance_json(ctx); }

CommandResult maintenance_on(Context& ctx, control::Request& request, Responder&) {
  auto reason = optional_string_arg(request.args, "reason");
  if (!reason) co_return std::unexpected(reason.error());
  auto user = user_of(request.peer);
  records::ManualMaintenance state{reason->value_or("maintenance by " + user), user, ctx.clock.now()};
  if (ctx.manual_maintenance) state.since = ctx.manual_maintenance->since;  // still the same maintenance
  auto save = [&ctx, state] { return ctx.records.set_maintenance(state); };
  auto saved = co_await ctx.workers.run(std::move(save));
  if (!saved) co_return std::unexpected(saved.error());
  ctx.manual_maintenance = state;
  spdlog::info("maintenance on by {}: {}", user, state.reason);
  co_return maintenance_json(ctx);
}

CommandResult maintenance_off(Context& ctx, control::Request& request, Responder&) {
  auto save = [&ctx] { return ctx.records.set_maintenance(std::nullopt); };
  auto saved = co_await ctx.workers.run(std::move(save));
  if (!saved) co_return std::unexpected(saved.error());
  if (ctx.manual_maintenance) spdlog::info("maintenance off by {}", user_of(request.peer));
  ctx.manual_maintenance.reset();
  co_return maintenance_json(ctx);
}

}  // namespace ferry::server
