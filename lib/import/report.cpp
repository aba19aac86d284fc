// Names of the import's enums and the report document (docs/import.md).
#include <string>

#include "import/import.h"
#include "util/time.h"

namespace ferry::importer {
namespace {

using json = nlohmann::json;

}  // namespace

json policy_json(const Policy& p) {
  json out = {{"id_policy", config::policy_word(config::kIdPolicyWords, p.id_policy)},
              {"on_name_conflict", config::policy_word(config::kNameConflictWords, p.on_name_conflict)},
              {"on_deleted_in_target", config::policy_word(config::kDeletedInTargetWords, p.on_deleted_in_target)},
              {"require_secrets", p.require_secrets == RequireSecrets::yes},
              {"atomic", p.atomic},
              {"into", p.into ? json(*p.into) : json(nullptr)}};
  if (!p.only.empty()) out["only"] = p.only;
  if (!p.skip.empty()) out["skip"] = p.skip;
  return out;
}

namespace {

json package_json(const Report& r) {
  if (!r.manifest) return nullptr;
  const package::Manifest& m = *r.manifest;
  return {
      {"id", m.package_id},
      {"name", m.name},
      {"description", m.description},
      {"created_at", format_rfc3339(m.created_at)},
      {"source",
       {{"environment", m.source.environment}, {"engine", m.source.engine}, {"ferry_version", m.source.ferry_version}}},
      {"key_id", m.key_id.empty() ? json(nullptr) : json(m.key_id)}};
}

std::string_view kind_name(ItemKind k) { return k == ItemKind::object ? "object" : "deletion"; }

/// One object's entry: identity, action and reason from the plan item or the result.
template <typename Item>
json identity_json(const Item& i) {
  json o = {{"kind", kind_name(i.kind)},
            {"type", i.type},
            {"address", i.address},
            {"source_guid", i.source_guid},
            {"guid", i.guid},
            {"guid_before", i.guid_before ? json(*i.guid_before) : json(nullptr)},
            {"action", to_string(i.action)}};
  if (!i.reason.empty()) o["reason"] = i.reason;
  return o;
}

json changes_json(const Changes& c) {
  return {{"moved_from", c.moved_from ? json(*c.moved_from) : json(nullptr)},
          {"spec", c.spec},
          {"refs", c.refs},
          {"attachments", c.attachments}};
}

void add_plan_details(json& o, const PlanItem& i) {
  json secrets = json::array();
  for (const auto& s : i.secrets) {
    secrets.push_back(
        {{"pointer", s.pointer}, {"set", s.source != SecretSource::missing}, {"source", to_string(s.source)}});
  }
  o["secrets"] = std::move(secrets);
  o["warnings"] = i.warnings;
  json overrides = json::array();
  for (const auto& v : i.overrides) {
    overrides.push_back(
        {{"pointer", v.pointer}, {"value", v.value}, {"by", to_string(v.matched_by)}, {"where", v.where}});
  }
  o["overrides"] = std::move(overrides);
  if (i.action == Action::update) o["changes"] = changes_json(i.changes);
}

json objects_json(const Report& r) {
  json out = json::array();
  if (r.result) {
    for (size_t n = 0; n < r.result->objects.size(); ++n) {
      const ObjectResult& res = r.result->objects[n];
      json o = identity_json(res);
      o["result"] = to_string(res.result);
      if (res.revision != 0) o["revision"] = res.revision;
      if (r.plan && n < r.plan->items.size()) add_plan_details(o, r.plan->items[n]);
      out.push_back(std::move(o));
    }
  } else if (r.plan) {
    for (const auto& i : r.plan->items) {
      json o = identity_json(i);
      add_plan_details(o, i);
      out.push_back(std::move(o));
    }
  }
  return out;
}

json counts_json(const Report& r) {
  json counts = json::object();
  if (!r.plan) return counts;
  for (Action a : {Action::create, Action::update, Action::unchanged, Action::remove, Action::skip, Action::conflict,
                   Action::error}) {
    counts[std::string(to_string(a))] = r.plan->count(a);
  }
  return counts;
}

std::string error_text(const Report& r) {
  if (r.result && !r.result->error.empty()) return r.result->error;
  if (r.error) return r.error->message;
  if (r.plan && !r.plan->ok()) {
    std::string text = r.plan->refused ? "refused: " + *r.plan->refused : std::string();
    for (const auto& p : r.plan->problems()) text += (text.empty() ? "" : "\n") + p;
    return text;
  }
  return {};
}

}  // namespace

std::string_view to_string(Action action) {
  switch (action) {
    case Action::create:
      return "create";
    case Action::update:
      return "update";
    case Action::unchanged:
      return "unchanged";
    case Action::remove:
      return "delete";
    case Action::skip:
      return "skip";
    case Action::conflict:
      return "conflict";
    case Action::error:
      return "error";
  }
  return "error";
}

std::string_view to_string(TargetKind kind) {
  switch (kind) {
    case TargetKind::address:
      return "address";
    case TargetKind::guid:
      return "guid";
    case TargetKind::type:
      return "type";
  }
  return "address";
}

std::string_view to_string(SecretSource source) {
  switch (source) {
    case SecretSource::package:
      return "package";
    case SecretSource::kept:
      return "kept";
    case SecretSource::file:
      return "secrets_file";
    case SecretSource::missing:
      return "missing";
  }
  return "missing";
}

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::deployed:
      return "deployed";
    case Outcome::unchanged:
      return "unchanged";
    case Outcome::skipped:
      return "skipped";
    case Outcome::failed:
      return "failed";
  }
  return "failed";
}

std::string_view to_string(ImportState state) {
  switch (state) {
    case ImportState::deployed:
      return "deployed";
    case ImportState::unchanged:
      return "unchanged";
    case ImportState::partially_deployed:
      return "partially_deployed";
    case ImportState::staged:
      return "staged";
    case ImportState::failed:
      return "failed";
    case ImportState::rejected:
      return "rejected";
  }
  return "failed";
}

Policy Policy::from(const config::WatchRule& rule) {
  Policy p;
  p.id_policy = rule.id_policy;
  p.on_name_conflict = rule.on_name_conflict;
  p.on_deleted_in_target = rule.on_deleted_in_target;
  p.require_secrets = rule.require_secrets ? RequireSecrets::yes : RequireSecrets::no;
  p.into = rule.into;
  p.atomic = rule.atomic;
  return p;
}

ImportState state_of(const Report& report) {
  if (report.result) return report.result->state;
  if (!report.manifest) return ImportState::rejected;
  if (report.plan && !report.error && report.plan->ok()) return ImportState::staged;
  return ImportState::failed;
}

json report_json(const Report& report) {
  json out = {{"format", "ferry-import-report/1"},
              {"import_id", report.import_id},
              {"file", report.file.string()},
              {"state", to_string(state_of(report))},
              {"started_at", format_rfc3339(report.started_at)},
              {"finished_at", format_rfc3339(report.finished_at)},
              {"package", package_json(report)}};
  if (auto error = error_text(report); !error.empty()) out["error"] = std::move(error);
  out["policy"] = report.plan ? policy_json(report.plan->policy) : json(nullptr);
  if (report.result && report.result->revision != 0) out["revision"] = report.result->revision;
  out["counts"] = counts_json(report);
  out["objects"] = objects_json(report);
  out["warnings"] = report.plan ? json(report.plan->warnings) : json::array();
  return out;
}

}  // namespace ferry::importer
