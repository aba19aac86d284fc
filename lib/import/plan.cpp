// plan(): every object of a verified package against the catalog and the policies,
// without changing anything. Rules in docs/import.md.
#include <algorithm>
#include <set>

#include "import/import_impl.h"

namespace ferry::importer {
namespace {

using detail::describe;
using json = nlohmann::json;

bool failing(Action a) { return a == Action::error || a == Action::conflict; }

bool has_pointer(const json& spec, const std::string& pointer) {
  try {
    return spec.contains(json::json_pointer(pointer));
  } catch (const json::exception&) {
    return false;
  }
}

/// One item while it is being planned: its problems are gathered, then decided.
struct Work {
  PlanItem item;
  std::vector<std::string> errors;
  std::vector<std::string> conflicts;
  std::vector<package::Ref> deps;  ///< refs to other objects of the package
};

class Planner {
 public:
  Planner(const package::VerifiedPackage& pkg, const catalog::Catalog& catalog, const types::TypeRegistry& types,
          const Secrets& secrets, const Policy& policy)
      : pkg_(pkg), m_(pkg.manifest()), catalog_(catalog), types_(types), secrets_(secrets), policy_(policy) {}

  Expected<Plan> run();

 private:
  Status plan_deletion(const package::Tombstone& t);
  Status plan_object(const package::ObjectEntry& e);
  const types::TypeDef* check_type(Work& w, const std::string& type);
  Status check_deleted_here(Work& w);
  Status check_names(Work& w, const Address& address, const types::TypeDef* type);
  Status check_type_wide_name(Work& w, const Address& address);
  Status check_refs(Work& w, const package::ObjectEntry& e);
  Status check_referrers(Work& w);
  void check_attachments(Work& w, const package::ObjectEntry& e);
  void resolve_secrets(Work& w, const json& spec, const std::optional<catalog::Object>& stored,
                       const types::TypeDef& type);
  void decide(Work& w, const package::ObjectEntry& e, const Address& address, json spec,
              const std::optional<catalog::Object>& stored);
  void propagate();
  Plan finish();

  /// The GUID an object of the package has here. keep: its own.
  std::string dest(const std::string& source_guid) const { return source_guid; }
  bool in_package(const std::string& guid) const { return objects_.contains(guid) || deleted_.contains(guid); }
  std::string known_address(const std::string& guid) const;
  PlanItem new_item(ItemKind kind, const std::string& type, std::string address, const std::string& guid) const {
    PlanItem i;
    i.kind = kind;
    i.type = type;
    i.address = std::move(address);
    i.source_guid = guid;
    i.guid = dest(guid);
    return i;
  }

  const package::VerifiedPackage& pkg_;
  const package::Manifest& m_;
  const catalog::Catalog& catalog_;
  const types::TypeRegistry& types_;
  const Secrets& secrets_;
  const Policy& policy_;
  std::map<std::string, const package::ObjectEntry*> objects_;
  std::map<std::string, const package::Tombstone*> deleted_;
  std::map<std::string, std::vector<std::string>> required_;  ///< GUID -> secret pointers, manifest order
  std::vector<Work> work_;
  std::map<std::string, size_t> index_;                          ///< object GUID -> work_ index
  std::map<std::string, size_t> by_address_;                     ///< destination address -> first work_ index
  std::map<std::string, size_t> by_type_name_;                   ///< type + "\n" + name -> first work_ index
  std::map<std::string, std::vector<catalog::Object>> of_type_;  ///< unique_name: type holders, by type
  std::vector<std::string> type_problems_;
};

Expected<Plan> Planner::run() {
  if (policy_.id_policy != config::IdPolicy::keep) {
    return fail(Errc::invalid_argument, "id_policy: new is not implemented yet; import with id_policy: keep");
  }
  if (policy_.on_name_conflict != config::NameConflict::fail) {
    return fail(Errc::invalid_argument,
                "on_name_conflict: skip and overwrite are not implemented yet; import with on_name_conflict: fail");
  }
  objects_ = detail::objects_by_guid(m_);
  for (const auto& t : m_.deleted) deleted_.emplace(t.guid, &t);
  for (const auto& s : m_.required_secrets) required_[s.guid].push_back(s.pointer);
  std::set<std::string> ordered(m_.order.begin(), m_.order.end());
  for (const auto& t : m_.deleted) {
    if (!ordered.contains(t.guid)) FERRY_TRY(plan_deletion(t));
  }
  for (const auto& guid : m_.order) {
    if (auto o = objects_.find(guid); o != objects_.end()) {
      FERRY_TRY(plan_object(*o->second));
    } else if (auto d = deleted_.find(guid); d != deleted_.end()) {
      FERRY_TRY(plan_deletion(*d->second));
    }
  }
  propagate();
  return finish();
}

std::string Planner::known_address(const std::string& guid) const {
  if (auto o = objects_.find(guid); o != objects_.end()) {
    return Address{o->second->type, o->second->folder, o->second->name}.to_string();
  }
  if (auto d = deleted_.find(guid); d != deleted_.end()) {
    return Address{d->second->type, d->second->folder, d->second->name}.to_string();
  }
  return "(unknown address)";
}

const types::TypeDef* Planner::check_type(Work& w, const std::string& type) {
  const types::TypeDef* def = types_.find(type);
  std::string problem;
  if (!def) {
    std::string known = types_.all().empty() ? "none are defined" : "known types: " + types_.names();
    problem = "type '" + type + "' is not known in this environment (types.yaml; " + known + ")";
  } else if (!def->importable) {
    problem = "type '" + type + "' is not importable in this environment (types.yaml: importable: false)";
  }
  if (problem.empty()) return def;
  w.errors.push_back(problem);
  if (std::ranges::find(type_problems_, problem) == type_problems_.end()) type_problems_.push_back(problem);
  return nullptr;
}

Status Planner::plan_deletion(const package::Tombstone& t) {
  Work w;
  w.item = new_item(ItemKind::deletion, t.type, Address{t.type, t.folder, t.name}.to_string(), t.guid);
  if (objects_.contains(t.guid)) w.errors.push_back("the package both carries and deletes this object");
  auto stored = FERRY_TRY(catalog_.find(w.item.guid));
  if (!stored) {
    w.item.action = Action::skip;
    w.item.reason = "already absent";
  } else {
    w.item.type = stored->type;
    w.item.address = stored->address().to_string();
    w.item.guid_before = stored->guid;
    w.item.action = Action::remove;
    check_type(w, stored->type);
    FERRY_TRY(check_referrers(w));
  }
  work_.push_back(std::move(w));
  return {};
}

/// Catalog::deploy deletes without a `contains` cascade and refuses while an object
/// it keeps still refers to the deleted one: predict that.
Status Planner::check_referrers(Work& w) {
  auto referrers = FERRY_TRY(catalog_.referrers(w.item.guid));
  std::string names;
  for (const auto& r : referrers) {
    if (in_package(r.guid)) continue;  // deleted too, or replaced (its new refs are checked)
    names += (names.empty() ? "" : ", ") + describe(r.address().to_string(), r.guid);
  }
  if (!names.empty()) {
    w.errors.push_back("cannot delete it: still referenced here by " + names + "; delete or change those first");
  }
  return {};
}

Status Planner::plan_object(const package::ObjectEntry& e) {
  Work w;
  auto folder = normalize_folder(e.folder);
  auto name = check_name(e.name);
  Address address{e.type, folder ? *folder : e.folder, e.name};
  w.item = new_item(ItemKind::object, e.type, address.to_string(), e.guid);
  const types::TypeDef* type = check_type(w, e.type);
  if (!folder) w.errors.push_back(folder.error().message);
  if (!name) w.errors.push_back(name.error().message);
  auto stored = FERRY_TRY(catalog_.find(w.item.guid));
  if (stored) {
    w.item.guid_before = stored->guid;
    if (stored->type != e.type) {
      w.errors.push_back("GUID " + stored->guid + " is " + stored->address().to_string() +
                         " here; an object's type cannot change");
    }
  } else {
    FERRY_TRY(check_deleted_here(w));
  }
  if (folder && name) FERRY_TRY(check_names(w, address, type));
  FERRY_TRY(check_refs(w, e));
  check_attachments(w, e);
  auto spec = detail::package_spec(pkg_, e);
  if (!spec && spec.error().code != Errc::corrupt) return std::unexpected(spec.error());
  if (!spec) w.errors.push_back(spec.error().message);
  if (spec && type) resolve_secrets(w, *spec, stored, *type);
  if (spec) decide(w, e, address, std::move(*spec), stored);
  index_.emplace(e.guid, work_.size());
  work_.push_back(std::move(w));
  return {};
}

Status Planner::check_deleted_here(Work& w) {
  auto tombstone = FERRY_TRY(catalog_.tombstone(w.item.guid));
  if (!tombstone) return {};
  std::string when = "deleted in this environment at revision " + std::to_string(tombstone->revision) + " (as " +
                     tombstone->address().to_string() + ")";
  if (policy_.on_deleted_in_target == config::DeletedInTarget::fail) {
    w.errors.push_back(when + "; import with on_deleted_in_target: recreate to create it again");
  } else {
    w.item.reason = "re-created: it was " + when;
  }
  return {};
}

/// A different GUID holding the destination address here (or, for unique_name: type,
/// the name) is a conflict, unless this package moves or deletes that object.
Status Planner::check_names(Work& w, const Address& address, const types::TypeDef* type) {
  const size_t self = work_.size();
  auto [first, fresh] = by_address_.try_emplace(address.to_string(), self);
  if (!fresh) {
    const PlanItem& other = work_[first->second].item;
    w.conflicts.push_back("name clash: " + describe(other.address, other.guid) +
                          " in this package has the same address");
    return {};
  }
  auto found = catalog_.find(address.to_string());
  if (!found && found.error().code != Errc::invalid_argument) return std::unexpected(found.error());
  if (!found) {
    w.errors.push_back(found.error().message);  // a type name no address can carry
    return {};
  }
  const auto& holder = *found;
  if (holder && holder->guid != w.item.guid && !in_package(holder->guid)) {
    w.conflicts.push_back("name clash: the address is held here by another object (" + holder->guid +
                          "); on_name_conflict: fail");
  }
  if (type && type->unique_name == types::NameScope::type) return check_type_wide_name(w, address);
  return {};
}

Status Planner::check_type_wide_name(Work& w, const Address& address) {
  const std::string scope = " (" + address.type + " names are unique across all folders: unique_name: type)";
  auto [first, fresh] = by_type_name_.try_emplace(address.type + "\n" + address.name, work_.size());
  if (!fresh) {
    const PlanItem& other = work_[first->second].item;
    w.conflicts.push_back("name clash: name '" + address.name + "' is also given to " +
                          describe(other.address, other.guid) + " in this package" + scope);
    return {};
  }
  auto cached = of_type_.find(address.type);
  if (cached == of_type_.end()) {
    auto all = FERRY_TRY(catalog_.list({.type = address.type, .folder = std::nullopt}));
    for (auto& o : all) o.spec = json::object();  // only names are needed here
    cached = of_type_.emplace(address.type, std::move(all)).first;
  }
  for (const auto& holder : cached->second) {
    if (holder.name != address.name || holder.guid == w.item.guid || in_package(holder.guid)) continue;
    w.conflicts.push_back("name clash: name '" + address.name + "' is held here by " +
                          describe(holder.address().to_string(), holder.guid) + scope + "; on_name_conflict: fail");
  }
  return {};
}

Status Planner::check_refs(Work& w, const package::ObjectEntry& e) {
  for (const auto& r : e.refs) {
    const std::string role = r.kind == package::RefKind::uses ? "input " : "part ";
    // The source names every ref target's address; older packages may not.
    const std::string target = describe(r.address.empty() ? known_address(r.guid) : r.address, dest(r.guid));
    if (objects_.contains(r.guid)) {
      w.deps.push_back(r);
    } else if (deleted_.contains(r.guid)) {
      w.errors.push_back(role + target + " not matched: this package deletes it");
    } else if (!FERRY_TRY(catalog_.find(dest(r.guid)))) {
      w.errors.push_back(role + target + " not matched: not in the package and not in this environment");
    }
  }
  return {};
}

void Planner::check_attachments(Work& w, const package::ObjectEntry& e) {
  for (const auto& a : e.attachments) {
    if (pkg_.has_attachment(a.sha256) || detail::blob_present(catalog_, a.sha256)) continue;
    w.errors.push_back("attachment '" + a.name + "' (sha256 " + a.sha256 +
                       ") is neither in the package (exported without data) nor in this environment's blob store");
  }
}

/// For each secret pointer (the package's required_secrets for this object, then the
/// type's secret_fields here): the package's value, else the object's value here,
/// else the secrets file's, else missing.
void Planner::resolve_secrets(Work& w, const json& spec, const std::optional<catalog::Object>& stored,
                              const types::TypeDef& type) {
  const std::vector<std::string>& required = required_[w.item.source_guid];
  std::vector<std::string> pointers = required;
  for (const auto& p : type.secret_fields) {
    if (std::ranges::find(pointers, p) == pointers.end()) pointers.push_back(p);
  }
  for (const auto& p : pointers) {
    const bool is_required = std::ranges::find(required, p) != required.end();
    if (has_pointer(spec, p)) {
      w.item.secrets.push_back({p, SecretSource::package});
    } else if (stored && has_pointer(stored->spec, p)) {
      w.item.fills.push_back({p, stored->spec.at(json::json_pointer(p))});
      w.item.secrets.push_back({p, SecretSource::kept});
    } else if (const PointerValue* v = secrets_.find(w.item.guid, w.item.address, p)) {
      w.item.fills.push_back({p, v->value});
      w.item.secrets.push_back({p, SecretSource::file});
    } else if (is_required) {
      w.item.secrets.push_back({p, SecretSource::missing});
      std::string text = "secret " + p + " not set: add it to the secrets file";
      if (policy_.require_secrets == RequireSecrets::yes) {
        w.errors.push_back(text + " (require_secrets is on)");
      } else {
        w.item.warnings.push_back(text);
      }
    }
  }
}

/// create, or update/unchanged the way Catalog::deploy will see it: name, folder,
/// spec (with the secrets filled in), refs and attachments against the stored ones.
void Planner::decide(Work& w, const package::ObjectEntry& e, const Address& address, json spec,
                     const std::optional<catalog::Object>& stored) {
  if (auto st = detail::apply_fills(spec, w.item.fills); !st) w.errors.push_back(st.error().message);
  if (!w.errors.empty() || !w.conflicts.empty()) return;
  if (!stored) {
    w.item.action = Action::create;
    return;
  }
  std::vector<catalog::Ref> refs;
  for (const auto& r : e.refs) refs.push_back({dest(r.guid), detail::ref_kind(r.kind)});
  bool same = stored->name == address.name && stored->folder == address.folder && stored->spec == spec &&
              stored->refs == refs && stored->attachments == detail::attachments_of(e);
  w.item.action = same ? Action::unchanged : Action::update;
}

/// An object whose dependency (or part) cannot be deployed cannot be deployed either;
/// repeated until nothing changes, so the package's order does not matter.
void Planner::propagate() {
  auto failed = [](const Work& w) { return !w.errors.empty() || !w.conflicts.empty(); };
  for (bool changed = true; changed;) {
    changed = false;
    for (Work& w : work_) {
      if (failed(w)) continue;
      for (const auto& r : w.deps) {
        const Work& dep = work_[index_.at(r.guid)];
        if (!failed(dep)) continue;
        w.errors.push_back(std::string(r.kind == package::RefKind::uses ? "depends on " : "contains ") +
                           describe(dep.item.address, dep.item.guid) + ", which cannot be deployed");
        changed = true;
        break;
      }
    }
  }
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

Plan Planner::finish() {
  Plan plan;
  plan.package_id = m_.package_id;
  plan.policy = policy_;
  for (Work& w : work_) {
    if (!w.errors.empty()) {
      w.errors.insert(w.errors.end(), w.conflicts.begin(), w.conflicts.end());
      w.item.action = Action::error;
      w.item.reason = joined(w.errors);
    } else if (!w.conflicts.empty()) {
      w.item.action = Action::conflict;
      w.item.reason = joined(w.conflicts);
    }
    for (const auto& warning : w.item.warnings) {
      plan.warnings.push_back(describe(w.item.address, w.item.guid) + ": " + warning);
    }
    plan.items.push_back(std::move(w.item));
  }
  if (!type_problems_.empty()) plan.refused = joined(type_problems_);
  return plan;
}

}  // namespace

bool Plan::ok() const {
  return !refused && std::ranges::none_of(items, [](const PlanItem& i) { return failing(i.action); });
}

size_t Plan::count(Action action) const {
  return static_cast<size_t>(std::ranges::count(items, action, &PlanItem::action));
}

std::vector<std::string> Plan::problems() const {
  std::vector<std::string> out;
  for (const auto& i : items) {
    if (failing(i.action)) out.push_back(describe(i.address, i.guid) + ": " + i.reason);
  }
  return out;
}

Expected<Plan> plan(const package::VerifiedPackage& pkg, const catalog::Catalog& catalog,
                    const types::TypeRegistry& types, const Secrets& secrets, const Policy& policy) {
  return Planner(pkg, catalog, types, secrets, policy).run();
}

}  // namespace ferry::importer
