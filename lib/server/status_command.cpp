// status: what an operator checks first.
#include <unistd.h>

#include "server/commands.h"
#include "util/time.h"

namespace ferry::server {

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
  };
}

}  // namespace ferry::server
