// import rollback: undo a deployed (or partially deployed) import from the prior
// versions its deploy kept in the catalog (Catalog::rollback), then record it.
#include <spdlog/spdlog.h>

#include <fstream>
#include <map>
#include <mutex>

#include "server/commands.h"
#include "server/handoff.h"
#include "util/fd.h"
#include "util/time.h"

namespace ferry::server {
namespace {

nlohmann::json rollback_json(const catalog::RollbackResult& r, const std::string& user, TimePoint at) {
  auto objects = nlohmann::json::array();
  for (const auto& i : r.items) {
    objects.push_back(
        {{"guid", i.guid}, {"address", i.address}, {"result", catalog::to_string(i.action)}, {"revision", i.revision}});
  }
  return {{"revision", r.revision}, {"user", user}, {"at", format_rfc3339(at)}, {"objects", std::move(objects)}};
}

/// Each object the rollback touched says what became of it; the deploy's result
/// stays in the reason.
void mark_objects(records::ImportRecord& rec, const catalog::RollbackResult& r) {
  std::map<std::string, const catalog::RollbackItem*> by_guid;
  for (const auto& i : r.items) by_guid.emplace(i.guid, &i);
  for (auto& o : rec.objects) {
    auto it = by_guid.find(o.dest_guid);
    if (it == by_guid.end()) continue;
    o.reason = "rolled back at revision " + std::to_string(it->second->revision) +
               " (deploy result: " + (o.result.empty() ? std::string("-") : o.result) + ")";
    o.result = std::string(catalog::to_string(it->second->action));
  }
}

/// The report beside a watched package says the import is rolled back now.
void rewrite_report(records::ImportRecord& rec, const nlohmann::json& rollback) {
  if (!rec.report_file) return;
  std::ifstream in(*rec.report_file);
  nlohmann::json report = nlohmann::json::parse(in, nullptr, false);
  if (report.is_discarded() || !report.is_object()) {
    rec.warnings.push_back("report " + *rec.report_file + " not rewritten: it is missing or not JSON");
    return;
  }
  report["state"] = "rolled_back";
  report["rollback"] = rollback;
  if (auto st = write_file_atomic(*rec.report_file, report.dump(2) + "\n"); !st) {
    rec.warnings.push_back("report " + *rec.report_file + " not rewritten: " + st.error().message);
  }
}

}  // namespace

CommandResult import_rollback(Context& ctx, control::Request& request, Responder&) {
  auto id = string_arg(request.args, "id");
  if (!id) co_return std::unexpected(id.error());
  auto user = user_of(request.peer);
  auto work = [&ctx, id = *id, user]() -> Expected<nlohmann::json> {
    // The same lock as every deploy: a rollback never interleaves with an import.
    std::lock_guard lock(ctx.deploy_mutex);
    auto rec = FERRY_TRY(ctx.records.import(id));
    if (rec.state != records::ImportState::deployed && rec.state != records::ImportState::partially_deployed) {
      return fail(Errc::conflict, "import " + rec.id + " is " + std::string(records::to_string(rec.state)) +
                                      "; only a deployed or partially_deployed import can be rolled back");
    }
    if (ctx.stopping.stop_requested()) return fail(Errc::cancelled, "ferryd is stopping");
    auto rolled = FERRY_TRY(ctx.catalog.rollback(rec.id));
    rec.state = records::ImportState::rolled_back;
    rec.ended_at = ctx.clock.now();
    mark_objects(rec, rolled);
    auto rollback = rollback_json(rolled, user, *rec.ended_at);
    rewrite_report(rec, rollback);
    spdlog::info("import {} ({}) rolled back by {}: {} objects, catalog revision {}", rec.id, rec.package_name, user,
                 rolled.items.size(), rolled.revision);
    if (auto st = ctx.records.update_import(rec); !st) {
      return fail(st.error().code, "import " + rec.id + " was rolled back in the catalog (revision " +
                                       std::to_string(rolled.revision) +
                                       "), but its record could not be updated: " + st.error().message);
    }
    auto out = import_json(rec);
    out["rollback"] = std::move(rollback);
    return out;
  };
  auto result = co_await ctx.workers.run(std::move(work));
  co_return result;
}

}  // namespace ferry::server
