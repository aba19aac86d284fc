#include "server/export_job.h"

#include <date/date.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "server/commands.h"
#include "server/package_name.h"
#include "server/package_view.h"
#include "util/fd.h"
#include "util/guid.h"
#include "util/time.h"

namespace ferry::server {

namespace {

Expected<exporter::Selection> parse_selection(const nlohmann::json& args) {
  auto select = args.value("select", nlohmann::json::object());
  if (!select.is_object()) return fail(Errc::invalid_argument, "argument 'select' must be an object");
  exporter::Selection s;
  s.guids = FERRY_TRY(strings_arg(select, "guids"));
  s.addresses = FERRY_TRY(strings_arg(select, "addresses"));
  s.types = FERRY_TRY(strings_arg(select, "types"));
  s.folders = FERRY_TRY(strings_arg(select, "folders"));
  s.names = FERRY_TRY(strings_arg(select, "names"));
  return s;
}

Expected<std::vector<delivery::Target>> parse_targets(const nlohmann::json& args) {
  auto on_exists = delivery::OnExists::rename;
  auto word = FERRY_TRY(optional_string_arg(args, "on_exists"));
  if (word) on_exists = FERRY_TRY(delivery::parse_on_exists(*word));
  std::vector<delivery::Target> targets;
  for (const auto& dir : FERRY_TRY(strings_arg(args, "to"))) {
    std::filesystem::path p(dir);
    if (p.is_relative()) return fail(Errc::invalid_argument, "--to " + dir + ": give an absolute folder");
    targets.push_back({p.lexically_normal(), on_exists});
  }
  // A job's deliver targets, each with its own on_exists (kept in settings for retry).
  auto deliver = args.value("deliver", nlohmann::json::array());
  if (!deliver.is_array()) return fail(Errc::invalid_argument, "argument 'deliver' must be a list");
  for (const auto& d : deliver) {
    auto dir = FERRY_TRY(string_arg(d, "dir"));
    auto policy = FERRY_TRY(delivery::parse_on_exists(d.value("on_exists", "rename")));
    targets.push_back({std::filesystem::path(dir).lexically_normal(), policy});
  }
  return targets;
}

std::string date_part(TimePoint t) { return date::format("%Y%m%d", std::chrono::floor<std::chrono::seconds>(t)); }
std::string time_part(TimePoint t) { return date::format("%H%M%S", std::chrono::floor<std::chrono::seconds>(t)); }

// Worker: incremental baseline from a package id.
Status resolve_since(Context& ctx, ExportOrder& order) {
  if (!order.since_package) return {};
  auto base = FERRY_TRY(ctx.records.package(*order.since_package));
  if (base.state != records::PackageState::succeeded) {
    return fail(Errc::invalid_argument, "--since " + *order.since_package + ": package " + base.name + " is " +
                                            std::string(records::to_string(base.state)) +
                                            "; a baseline must be a succeeded package");
  }
  order.request.since_revision = base.revision_to;
  order.since_package = base.id;
  return {};
}

}  // namespace

Expected<ExportOrder> parse_export_order(const nlohmann::json& args) {
  ExportOrder order;
  auto mode = FERRY_TRY(string_arg(args, "mode"));
  order.request.mode = FERRY_TRY(exporter::parse_mode(mode));
  order.request.select = FERRY_TRY(parse_selection(args));
  order.request.include_upstream = FERRY_TRY(bool_arg(args, "upstream"));
  order.request.include_data = !args.contains("data") || FERRY_TRY(bool_arg(args, "data"));
  order.name_template = FERRY_TRY(optional_string_arg(args, "name")).value_or(std::string(kDefaultNameTemplate));
  order.description = FERRY_TRY(optional_string_arg(args, "description")).value_or("");
  order.since_package = FERRY_TRY(optional_string_arg(args, "since"));
  if (order.since_package && order.request.mode != exporter::Mode::incremental) {
    return fail(Errc::invalid_argument, "--since needs --mode incremental");
  }
  order.targets = FERRY_TRY(parse_targets(args));
  order.wait = FERRY_TRY(bool_arg(args, "wait"));
  order.settings = args;
  order.settings.erase("wait");
  return order;
}

Expected<records::PackageRecord> create_package_record(Context& ctx, ExportOrder& order, const std::string& user) {
  auto r = FERRY_TRY(new_package_record(ctx, order, user));
  FERRY_TRY(ctx.records.insert_package(r));
  return r;
}

Expected<records::PackageRecord> new_package_record(Context& ctx, ExportOrder& order, const std::string& user) {
  FERRY_TRY(resolve_since(ctx, order));
  auto now = ctx.clock.now();
  std::map<std::string, std::string> values{{"env", ctx.config.environment.id},
                                            {"mode", std::string(exporter::to_string(order.request.mode))},
                                            {"date", date_part(now)},
                                            {"time", time_part(now)},
                                            {"job", order.job.value_or("adhoc")}};
  if (order.name_template.find("{seq}") != std::string::npos) {
    values["seq"] = std::to_string(FERRY_TRY(ctx.records.next_sequence("seq:" + values["date"])));
  }
  records::PackageRecord r;
  r.id = new_guid();
  r.name = FERRY_TRY(expand_name(order.name_template, values));
  r.description = order.description;
  r.job = order.job;
  r.mode = std::string(exporter::to_string(order.request.mode));
  r.settings = order.settings;
  r.retry_of = order.retry_of;
  r.user = user;
  r.created_at = now;
  return r;
}

}  // namespace ferry::server
