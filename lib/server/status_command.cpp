// status: what an operator checks first.
#include <unistd.h>

#include "schedule/cron.h"
#include "server/commands.h"
#include "server/scheduler.h"
#include "util/time.h"

namespace ferry::server {

namespace {

// Each window open or closed, and its next opening and closing in UTC and in the
// window's own time zone.
nlohmann::json windows_json(const Context& ctx, TimePoint now) {
  auto out = nlohmann::json::array();
  for (const auto& w : ctx.scheduler->windows().all(now)) {
    std::string zone_name = "UTC";
    for (const auto& c : ctx.config.maintenance.windows)
      if (c.name == w.name) zone_name = c.timezone;
    auto zone = schedule::Zone::find(zone_name);
    auto both = [&](const std::optional<TimePoint>& t) {
      if (!t) return nlohmann::json(nullptr);
      return nlohmann::json{{"utc", format_rfc3339(*t)}, {"local", zone ? schedule::format_local(*t, *zone) : ""}};
    };
    out.push_back({{"name", w.name},
                   {"kind", w.kind == schedule::WindowKind::allow ? "allow" : "deny"},
                   {"state", w.state == schedule::Openness::open ? "open" : "closed"},
                   {"timezone", zone_name},
                   {"next_open", both(w.next_open)},
                   {"next_close", both(w.next_close)},
                   {"reason", w.reason}});
  }
  return out;
}

}  // namespace

CommandResult status_command(Context& ctx, control::Request&, Responder&) {
  auto job = [&ctx] { return ctx.catalog.revision(); };
  auto revision = co_await ctx.workers.run(std::move(job));
  if (!revision) co_return std::unexpected(revision.error());
  auto now = ctx.clock.now();
  co_return nlohmann::json{
      {"version", FERRY_VERSION},
      {"protocol", control::kProtocolVersion},
      {"environment", {{"id", ctx.config.environment.id}, {"engine", ctx.config.environment.engine}}},
      {"pid", ::getpid()},
      {"started_at", format_rfc3339(ctx.started_at)},
      {"uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(now - ctx.started_at).count()},
      {"config", ctx.config.file.string()},
      {"state_dir", ctx.config.state_dir.string()},
      {"socket", ctx.config.socket.string()},
      {"catalog", {{"revision", *revision}}},
      {"jobs", {{"count", ctx.scheduler->job_count()}, {"errors", ctx.scheduler->errors()}}},
      {"windows", windows_json(ctx, now)},
      {"maintenance", ctx.manual_maintenance || !ctx.exports.running().empty() ? "on" : "off"},
  };
}

}  // namespace ferry::server
