// job list, job run, job history (PRODUCT.md section 6).
#include "server/commands.h"
#include "server/scheduler.h"
#include "util/time.h"

namespace ferry::server {

namespace {

nlohmann::json optional_time(const std::optional<TimePoint>& t) {
  return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
}

nlohmann::json run_json(const records::JobRun& r) {
  return {{"due_at", format_rfc3339(r.due_at)},
          {"trigger", r.trigger},
          {"user", r.user},
          {"state", r.state},
          {"reason", r.reason},
          {"package", r.package_id ? nlohmann::json(*r.package_id) : nlohmann::json(nullptr)},
          {"package_name", r.package_name},
          {"started_at", optional_time(r.started_at)},
          {"ended_at", optional_time(r.ended_at)},
          {"recorded_at", format_rfc3339(r.at)}};
}

}  // namespace

CommandResult job_list(Context& ctx, control::Request&, Responder&) {
  auto jobs = ctx.scheduler->list();
  std::vector<std::string> names;
  for (const auto& j : jobs) names.push_back(j["name"]);
  // Per job: the last run, and the skipped runs its history holds (kept across restarts).
  auto from_history = [&ctx, names]() -> Expected<std::vector<std::pair<nlohmann::json, uint64_t>>> {
    std::vector<std::pair<nlohmann::json, uint64_t>> out;
    for (const auto& name : names) {
      auto runs = FERRY_TRY(ctx.records.job_runs(name, 1));
      auto skipped = FERRY_TRY(ctx.records.skipped_runs(name));
      out.emplace_back(runs.empty() ? nlohmann::json(nullptr) : run_json(runs.front()), skipped);
    }
    return out;
  };
  auto history = co_await ctx.workers.run(std::move(from_history));
  if (!history) co_return std::unexpected(history.error());
  for (size_t i = 0; i < jobs.size(); ++i) {
    jobs[i]["last_run"] = (*history)[i].first;
    jobs[i]["skipped"] = (*history)[i].second;
  }
  co_return nlohmann::json{{"jobs", std::move(jobs)}, {"errors", ctx.scheduler->errors()}};
}

CommandResult job_run(Context& ctx, control::Request& request, Responder& responder) {
  auto name = string_arg(request.args, "name");
  auto wait = bool_arg(request.args, "wait");
  auto now = bool_arg(request.args, "now");
  if (!name || !wait || !now) co_return std::unexpected(!name ? name.error() : !wait ? wait.error() : now.error());
  if (*now) {
    auto caller = access::Caller{request.peer.uid, request.peer.gid, request.peer.groups, request.peer.user};
    if (auto allowed = ctx.access.require(caller, config::Role::admin, "job run --now"); !allowed) {
      co_return std::unexpected(allowed.error());
    }
  }
  auto trigger = *now ? Trigger::manual_now : Trigger::manual;
  auto task = ctx.scheduler->run(*name, trigger, user_of(request.peer), *wait, responder);
  auto result = co_await std::move(task);
  co_return result;
}

CommandResult job_history(Context& ctx, control::Request& request, Responder&) {
  auto name = string_arg(request.args, "name");
  if (!name) co_return std::unexpected(name.error());
  auto job = [&ctx, name = *name]() -> Expected<nlohmann::json> {
    auto rows = nlohmann::json::array();
    for (const auto& r : FERRY_TRY(ctx.records.job_runs(name, 1000))) rows.push_back(run_json(r));
    return nlohmann::json{{"job", name}, {"runs", std::move(rows)}};
  };
  auto result = co_await ctx.workers.run(std::move(job));
  co_return result;
}

}  // namespace ferry::server
