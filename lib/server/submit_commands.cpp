// import resubmit: runs the submit hooks of an import's objects whose submission
// failed (and only those) again.
#include "server/commands.h"
#include "server/handoff.h"
#include "server/submit.h"

namespace ferry::server {

namespace {

/// The objects to run again, each marked `submitting` (queued) in records.db. Worker.
Expected<std::vector<SubmitItem>> mark_failed_again(Context& ctx, const records::ImportRecord& record) {
  std::vector<SubmitItem> items;
  std::vector<std::pair<size_t, records::Submission>> rows;
  for (size_t i = 0; i < record.objects.size(); ++i) {
    const auto& o = record.objects[i];
    if (o.submission.state != "submission_failed") continue;
    items.push_back({i, o.type, o.address, o.dest_guid, o.submission.attempts});
    auto s = o.submission;
    s.state = "submitting";
    s.reason = "queued";
    rows.emplace_back(i, std::move(s));
  }
  if (!rows.empty()) FERRY_TRY(ctx.records.set_submissions(record.id, rows));
  return items;
}

}  // namespace

CommandResult import_resubmit(Context& ctx, control::Request& request, Responder&) {
  auto id = string_arg(request.args, "id");
  if (!id) co_return std::unexpected(id.error());
  auto wait = bool_arg(request.args, "wait");
  if (!wait) co_return std::unexpected(wait.error());
  auto read = [&ctx, id = *id] { return ctx.records.import(id); };
  auto record = co_await ctx.workers.run(std::move(read));
  if (!record) co_return std::unexpected(record.error());
  const std::string full_id = record->id;
  if (ctx.submitter == nullptr || !ctx.submitter->claim(full_id)) {
    co_return fail(Errc::conflict, "import " + full_id +
                                       ": its submit hooks are still running; wait until `ferryctl import show " +
                                       full_id + "` shows none submitting, then resubmit");
  }
  // Claimed: nothing else starts this import's hooks until they have ended.
  auto mark = [&ctx, r = *record] { return mark_failed_again(ctx, r); };
  auto items = co_await ctx.workers.run(std::move(mark));
  if (!items || items->empty()) {
    ctx.submitter->release(full_id);
    if (!items) co_return std::unexpected(items.error());
    co_return fail(Errc::conflict, "import " + full_id +
                                       " has no failed submissions; nothing to resubmit (resubmit re-runs only the "
                                       "submit hooks that failed)");
  }
  ctx.submitter->run(full_id, std::move(*items));
  if (*wait) {
    auto waiting = ctx.submitter->wait(full_id);
    co_await std::move(waiting);
  }
  auto reread = [&ctx, full_id]() -> Expected<nlohmann::json> {
    return import_json(FERRY_TRY(ctx.records.import(full_id)));
  };
  auto result = co_await ctx.workers.run(std::move(reread));
  co_return result;
}

}  // namespace ferry::server
