// plan(): every object of a verified package against the catalog and the policies,
// without changing anything. Rules in docs/import.md.
//
// Three passes, because a reference may name an object planned later and the GUID an
// object gets here (keep, new, or a holder it overwrites or yields to) must be known
// before any reference is checked:
//   1. identify: each object's destination address and first GUID, each deletion;
//   2. resolve:  the object here (by GUID), name holders and the name-conflict policy,
//                which may give the object its holder's GUID;
//   3. check:    references, attachments, secrets, overrides, and the action.
// Then failures propagate to dependents and quotas are checked on the result.
#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "import/import_impl.h"
#include "util/guid.h"

namespace ferry::importer {
namespace {

using detail::describe;
using json = nlohmann::json;

/// Objects resolved against the catalog in one read transaction: long enough to make
/// its cost vanish, short enough that other catalog readers barely wait.
constexpr size_t kResolveBatch = 256;

bool failing(Action a) { return a == Action::error || a == Action::conflict; }

bool has_pointer(const json& spec, const std::string& pointer) {
  try {
    return spec.contains(json::json_pointer(pointer));
  } catch (const json::exception&) {
    return false;
  }
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

/// Why an object or deletion is left out by --only / --skip; empty when selected.
enum class Selected { yes, not_in_only, in_skip };

/// One item while it is being planned: its problems are gathered, then decided.
struct Work {
  PlanItem item;
  const package::ObjectEntry* entry = nullptr;  ///< objects
  const types::TypeDef* type = nullptr;
  bool valid_address = false;
  Selected selected = Selected::yes;
  std::optional<catalog::Object> stored;  ///< the object here it updates (its own GUID, or the holder it overwrites)
  std::vector<std::string> errors;
  std::vector<std::string> conflicts;
  std::vector<package::Ref> deps;  ///< refs to other objects of the package that this import deploys
};

class Planner {
 public:
  Planner(const package::VerifiedPackage& pkg, const catalog::Catalog& catalog, const types::TypeRegistry& types,
          const Secrets& secrets, const Policy& policy, const Overrides& overrides)
      : pkg_(pkg),
        m_(pkg.manifest()),
        catalog_(catalog),
        types_(types),
        secrets_(secrets),
        overrides_(overrides),
        policy_(policy) {}

  Expected<Plan> run();

 private:
  Status check_policy();
  Selected selection(const std::string& guid, const std::vector<std::string>& addresses) const;
  Status identify_deletion(const package::Tombstone& t);
  void identify_object(const package::ObjectEntry& e);
  Status resolve(Work& w);
  detail::SpecReader::Job spec_job(const Work& w) const;
  Status check_object(Work& w, detail::SpecReader& specs);
  const types::TypeDef* check_type(Work& w, const std::string& type);
  Status check_deleted_here(Work& w);
  Status holders(Work& w, const Address& address);
  void apply_name_policy(Work& w, const std::vector<catalog::Object>& found, std::vector<std::string> clashes);
  Status check_refs(Work& w);
  Status check_referrers(Work& w);
  void check_attachments(Work& w);
  void resolve_secrets(Work& w, const json& spec);
  void apply_overrides(Work& w);
  void decide(Work& w, json spec);
  Changes changes_of(const Work& w, const json& spec, const std::vector<catalog::Ref>& refs) const;
  void propagate();
  Status check_quotas();
  Plan finish();

  /// The GUID an object of the package has here (after resolve); any other GUID is
  /// an object outside the package and keeps its GUID.
  std::string dest(const std::string& source_guid) const {
    auto it = dest_.find(source_guid);
    return it == dest_.end() ? source_guid : it->second;
  }
  /// Whether this import takes the object with this GUID away from where it is here:
  /// deletes it, or deploys a package object with that GUID (which may move it).
  bool freed(const std::string& guid) const { return deleting_.contains(guid) || deployed_dest_.contains(guid); }
  std::string known_address(const std::string& guid) const;
  std::string reroot(const std::string& folder) const;
  bool deploys(const Work& w) const { return w.selected == Selected::yes && w.item.action != Action::skip; }

  const package::VerifiedPackage& pkg_;
  const package::Manifest& m_;
  const catalog::Catalog& catalog_;
  const types::TypeRegistry& types_;
  const Secrets& secrets_;
  const Overrides& overrides_;
  const Policy& policy_;
  detail::EntriesByGuid objects_;
  // Looked up for every object (and every ref) of packages of up to hundreds of
  // thousands of objects, never walked in order: hashed.
  std::unordered_map<std::string, const package::Tombstone*> deleted_;
  std::unordered_map<std::string, std::vector<std::string>> required_;  ///< GUID -> secret pointers, manifest order
  std::vector<Work> work_;
  std::unordered_map<std::string, size_t> index_;         ///< object source GUID -> work_ index
  std::unordered_map<std::string, std::string> dest_;     ///< object source GUID -> GUID here
  std::unordered_map<std::string, size_t> by_dest_;       ///< GUID here -> work_ index (after resolve), to name refs
  std::unordered_set<std::string> deleting_;              ///< GUIDs here that this import deletes
  std::unordered_set<std::string> deployed_dest_;         ///< GUIDs (here) of the package objects this import deploys
  std::unordered_map<std::string, size_t> by_address_;    ///< destination address -> first work_ index
  std::unordered_map<std::string, size_t> by_type_name_;  ///< type + "\n" + name -> first work_ index
  std::map<std::string, std::vector<catalog::Object>> of_type_;  ///< unique_name: type holders, by type
  std::vector<std::string> type_problems_;
  std::vector<std::string> quota_problems_;
};

Expected<Plan> Planner::run() {
  FERRY_TRY(check_policy());
  objects_ = detail::objects_by_guid(m_);
  for (const auto& t : m_.deleted) deleted_.emplace(t.guid, &t);
  for (const auto& s : m_.required_secrets) required_[s.guid].push_back(s.pointer);
  std::unordered_set<std::string> ordered(m_.order.begin(), m_.order.end());
  for (const auto& t : m_.deleted) {
    if (!ordered.contains(t.guid)) FERRY_TRY(identify_deletion(t));
  }
  for (const auto& guid : m_.order) {
    if (auto o = objects_.find(guid); o != objects_.end()) {
      identify_object(*o->second);
    } else if (auto d = deleted_.find(guid); d != deleted_.end()) {
      FERRY_TRY(identify_deletion(*d->second));
    }
  }
  // A few catalog reads per object: a batch of objects shares one read transaction.
  for (size_t start = 0; start < work_.size(); start += kResolveBatch) {
    auto resolved = catalog_.reading([&]() -> Status {
      for (size_t n = start; n < std::min(work_.size(), start + kResolveBatch); ++n) {
        if (work_[n].entry) FERRY_TRY(resolve(work_[n]));
      }
      return {};
    });
    if (!resolved) return std::unexpected(resolved.error());
  }
  for (size_t n = 0; n < work_.size(); ++n) {
    if (work_[n].entry) by_dest_.emplace(work_[n].item.guid, n);
  }
  std::vector<detail::SpecReader::Job> read;  // what check_object() reads, in its order
  for (const Work& w : work_) {
    if (w.entry && deploys(w)) read.push_back(spec_job(w));
  }
  detail::SpecReader specs(pkg_, std::move(read));
  for (Work& w : work_) {
    if (w.entry) {
      FERRY_TRY(check_object(w, specs));
    } else if (w.item.action == Action::remove) {
      FERRY_TRY(check_referrers(w));
    }
  }
  propagate();
  FERRY_TRY(check_quotas());
  return finish();
}

/// --into must be a folder; every --only/--skip entry must name something in the
/// package (a typo would otherwise deploy everything, or nothing).
Status Planner::check_policy() {
  if (policy_.into) {
    auto folder = normalize_folder(*policy_.into);
    if (!folder) return fail(Errc::invalid_argument, "--into " + *policy_.into + ": " + folder.error().message);
  }
  for (const auto* list : {&policy_.only, &policy_.skip}) {
    for (const auto& entry : *list) {
      std::string key = entry;
      if (auto guid = parse_guid(entry))
        key = *guid;
      else if (auto address = parse_address(entry))
        key = address->to_string();
      bool found = false;
      for (const auto& o : m_.objects) {
        found = found || o.guid == key || Address{o.type, o.folder, o.name}.to_string() == key ||
                Address{o.type, reroot(o.folder), o.name}.to_string() == key;
      }
      for (const auto& t : m_.deleted) {
        found = found || t.guid == key || Address{t.type, t.folder, t.name}.to_string() == key;
      }
      if (!found) {
        return fail(Errc::invalid_argument, std::string(list == &policy_.only ? "--only " : "--skip ") + entry +
                                                ": package " + m_.package_id +
                                                " has no such object (give an address or GUID from the package)");
      }
    }
  }
  return {};
}

/// Whether an object (or deletion) with this source GUID and these addresses is
/// deployed under --only / --skip.
Selected Planner::selection(const std::string& guid, const std::vector<std::string>& addresses) const {
  auto matches = [&](const std::vector<std::string>& list) {
    for (const auto& entry : list) {
      std::string key = entry;
      if (auto g = parse_guid(entry))
        key = *g;
      else if (auto a = parse_address(entry))
        key = a->to_string();
      if (key == guid || std::ranges::find(addresses, key) != addresses.end()) return true;
    }
    return false;
  };
  if (!policy_.only.empty() && !matches(policy_.only)) return Selected::not_in_only;
  if (matches(policy_.skip)) return Selected::in_skip;
  return Selected::yes;
}

std::string Planner::reroot(const std::string& folder) const {
  if (!policy_.into) return folder;
  auto root = normalize_folder(*policy_.into);
  auto inner = normalize_folder(folder);
  if (!root || !inner) return folder;
  if (*inner == "/") return *root;
  return *root == "/" ? *inner : *root + *inner;
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

std::string_view left_out_reason(Selected s) {
  return s == Selected::in_skip ? "left out by --skip" : "not named by --only";
}

Status Planner::identify_deletion(const package::Tombstone& t) {
  Work w;
  PlanItem& i = w.item;
  i.kind = ItemKind::deletion;
  i.type = t.type;
  i.folder = t.folder;
  i.name = t.name;
  i.address = Address{t.type, t.folder, t.name}.to_string();
  i.source_guid = t.guid;
  i.guid = t.guid;
  w.selected = selection(t.guid, {i.address});
  if (objects_.contains(t.guid)) w.errors.push_back("the package both carries and deletes this object");
  if (w.selected != Selected::yes) {
    i.action = Action::skip;
    i.reason = std::string(left_out_reason(w.selected));
  } else if (policy_.id_policy == config::IdPolicy::fresh) {
    i.action = Action::skip;
    i.reason = "id_policy: new: the deletion names the source's object, which no copy made here has";
  } else if (auto stored = FERRY_TRY(catalog_.find(i.guid)); !stored) {
    i.action = Action::skip;
    i.reason = "already absent";
  } else {
    i.type = stored->type;
    i.folder = stored->folder;
    i.name = stored->name;
    i.address = stored->address().to_string();
    i.guid_before = stored->guid;
    i.action = Action::remove;
    deleting_.insert(stored->guid);
    check_type(w, stored->type);
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
    if (freed(r.guid)) continue;  // deleted too, or replaced (its new refs are checked)
    names += (names.empty() ? "" : ", ") + describe(r.address().to_string(), r.guid);
  }
  if (!names.empty()) {
    w.errors.push_back("cannot delete it: still referenced here by " + names + "; delete or change those first");
  }
  return {};
}

void Planner::identify_object(const package::ObjectEntry& e) {
  Work w;
  w.entry = &e;
  PlanItem& i = w.item;
  i.kind = ItemKind::object;
  i.type = e.type;
  i.source_guid = e.guid;
  i.name = e.name;
  auto folder = normalize_folder(e.folder);
  auto name = check_name(e.name);
  i.folder = folder ? reroot(*folder) : e.folder;
  i.address = Address{e.type, i.folder, e.name}.to_string();
  w.type = check_type(w, e.type);
  if (!folder) w.errors.push_back(folder.error().message);
  if (!name) w.errors.push_back(name.error().message);
  w.valid_address = folder && name;
  w.selected = selection(e.guid, {Address{e.type, e.folder, e.name}.to_string(), i.address});
  // An object left out is outside the import: references to it keep its GUID, as
  // references to objects outside the package do.
  i.guid = policy_.id_policy == config::IdPolicy::fresh && w.selected == Selected::yes ? new_guid() : e.guid;
  if (w.selected != Selected::yes) {
    i.action = Action::skip;
    i.reason = std::string(left_out_reason(w.selected));
  } else {
    deployed_dest_.insert(i.guid);
  }
  index_.emplace(e.guid, work_.size());
  dest_.emplace(e.guid, i.guid);
  work_.push_back(std::move(w));
}

Status Planner::resolve(Work& w) {
  if (w.selected != Selected::yes) return {};  // a dependent that needs it checks it is here
  PlanItem& i = w.item;
  auto stored = FERRY_TRY(catalog_.find(i.guid));
  if (stored) {
    i.guid_before = stored->guid;
    if (stored->type != i.type) {
      w.errors.push_back("GUID " + stored->guid + " is " + stored->address().to_string() +
                         " here; an object's type cannot change");
    }
  }
  w.stored = std::move(stored);
  if (w.valid_address) FERRY_TRY(holders(w, Address{i.type, i.folder, i.name}));
  // A GUID deleted here matters only when the object is created under that GUID.
  const bool created_as_itself = !w.stored && i.guid == i.source_guid && i.action != Action::skip;
  if (created_as_itself && policy_.id_policy == config::IdPolicy::keep) FERRY_TRY(check_deleted_here(w));
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

/// The objects here that hold the destination address (or, for unique_name: type, the
/// name) and that this import does not move away or delete; then the name-conflict
/// policy decides. Two objects of the package at one address always conflict.
Status Planner::holders(Work& w, const Address& address) {
  const size_t self = static_cast<size_t>(&w - work_.data());
  std::vector<catalog::Object> found;
  std::vector<std::string> clashes;
  auto [first, fresh] = by_address_.try_emplace(address.to_string(), self);
  if (!fresh) {
    const PlanItem& other = work_[first->second].item;
    w.conflicts.push_back("name clash: " + describe(other.address, other.guid) +
                          " in this package has the same address");
    return {};
  }
  auto at = catalog_.find(address.to_string());
  if (!at && at.error().code != Errc::invalid_argument) return std::unexpected(at.error());
  if (!at) {
    w.errors.push_back(at.error().message);  // a type name no address can carry
    return {};
  }
  if (*at && (*at)->guid != w.item.guid && !freed((*at)->guid)) {
    clashes.push_back("the address is held here by another object (" + (*at)->guid + ")");
    found.push_back(std::move(**at));
  }
  if (w.type && w.type->unique_name == types::NameScope::type) {
    const std::string scope = " (" + address.type + " names are unique across all folders: unique_name: type)";
    auto [other, fresh_name] = by_type_name_.try_emplace(address.type + "\n" + address.name, self);
    if (!fresh_name) {
      const PlanItem& o = work_[other->second].item;
      w.conflicts.push_back("name clash: name '" + address.name + "' is also given to " + describe(o.address, o.guid) +
                            " in this package" + scope);
      return {};
    }
    auto cached = of_type_.find(address.type);
    if (cached == of_type_.end()) {
      auto all = FERRY_TRY(catalog_.list({.type = address.type, .folder = std::nullopt}));
      for (auto& o : all) o.spec = json::object();  // only names are needed here
      cached = of_type_.emplace(address.type, std::move(all)).first;
    }
    for (const auto& holder : cached->second) {
      if (holder.name != address.name || holder.guid == w.item.guid || freed(holder.guid)) continue;
      if (std::ranges::any_of(found, [&](const catalog::Object& f) { return f.guid == holder.guid; })) continue;
      clashes.push_back("name '" + address.name + "' is held here by " +
                        describe(holder.address().to_string(), holder.guid) + scope);
      found.push_back(holder);
    }
  }
  if (!found.empty()) apply_name_policy(w, found, std::move(clashes));
  return {};
}

/// fail: conflict. skip: not deployed; the package's refs to it point at the holder.
/// overwrite: the holder takes the package's object as a whole, keeping its GUID.
void Planner::apply_name_policy(Work& w, const std::vector<catalog::Object>& found, std::vector<std::string> clashes) {
  PlanItem& i = w.item;
  const std::string policy = std::string(policy_word(config::kNameConflictWords, policy_.on_name_conflict));
  auto retarget = [&](const catalog::Object& holder) {
    deployed_dest_.erase(i.guid);
    i.guid = holder.guid;
    dest_[i.source_guid] = holder.guid;
  };
  switch (policy_.on_name_conflict) {
    case config::NameConflict::fail:
      for (auto& c : clashes) w.conflicts.push_back("name clash: " + c + "; on_name_conflict: fail");
      return;
    case config::NameConflict::skip:
      retarget(found.front());
      i.action = Action::skip;
      i.guid_before = found.front().guid;
      i.reason = "name clash: " + joined(clashes) + "; on_name_conflict: skip keeps " +
                 describe(found.front().address().to_string(), found.front().guid);
      return;
    case config::NameConflict::overwrite:
      break;
  }
  if (found.size() > 1) {
    w.conflicts.push_back("name clash: " + joined(clashes) +
                          "; on_name_conflict: overwrite replaces one object, not several");
  } else if (w.stored) {
    w.conflicts.push_back("name clash: " + joined(clashes) + "; on_name_conflict: overwrite cannot replace it: GUID " +
                          w.stored->guid + " is already here as " + w.stored->address().to_string());
  } else {
    const catalog::Object& holder = found.front();
    retarget(holder);
    deployed_dest_.insert(holder.guid);
    i.guid_before = holder.guid;
    i.reason =
        "overwrites " + describe(holder.address().to_string(), holder.guid) + " (on_name_conflict: " + policy + ")";
    w.stored = holder;
  }
}

/// A new object with nothing to set in its spec needs no tree here, only the text
/// deploy() writes: both made and the tree freed on the reading thread.
detail::SpecReader::Job Planner::spec_job(const Work& w) const {
  const bool plain = !w.stored && w.type && w.type->secret_fields.empty() && !required_.contains(w.item.source_guid) &&
                     overrides_.find(w.item.guid, w.item.address, w.item.type).empty();
  return {.entry = w.entry, .values = nullptr, .tree = !plain, .text = plain};
}

Status Planner::check_object(Work& w, detail::SpecReader& specs) {
  if (!deploys(w)) return {};
  auto read = specs.next();
  FERRY_TRY(check_refs(w));
  check_attachments(w);
  if (!read && read.error().code != Errc::corrupt) return std::unexpected(read.error());
  if (!read) {
    w.errors.push_back(read.error().message);
    return {};
  }
  if (w.type) resolve_secrets(w, read->tree);
  apply_overrides(w);
  decide(w, std::move(read->tree));
  if (w.item.action == Action::create && !read->text.empty()) {
    w.item.spec_text = std::make_shared<const std::string>(std::move(read->text));
  }
  return {};
}

Status Planner::check_refs(Work& w) {
  for (const auto& r : w.entry->refs) {
    const std::string role = r.kind == package::RefKind::uses ? "input " : "part ";
    // The source names every ref target's address; older packages may not.
    const std::string target = describe(r.address.empty() ? known_address(r.guid) : r.address, dest(r.guid));
    if (auto o = index_.find(r.guid); o != index_.end()) {
      const Work& dep = work_[o->second];
      if (deploys(dep)) {
        w.deps.push_back(r);
      } else if (dep.selected != Selected::yes && !FERRY_TRY(catalog_.find(dest(r.guid)))) {
        w.errors.push_back(role + target + " not matched: " + std::string(left_out_reason(dep.selected)) +
                           " and not in this environment; deploy it too or deploy it first");
      }
    } else if (deleting_.contains(r.guid)) {
      w.errors.push_back(role + target + " not matched: this package deletes it");
    } else if (!FERRY_TRY(catalog_.find(r.guid))) {
      w.errors.push_back(role + target + " not matched: not in the package and not in this environment");
    }
  }
  return {};
}

void Planner::check_attachments(Work& w) {
  for (const auto& a : w.entry->attachments) {
    if (pkg_.has_attachment(a.sha256) || detail::blob_present(catalog_, a.sha256)) continue;
    w.errors.push_back("attachment '" + a.name + "' (sha256 " + a.sha256 +
                       ") is neither in the package (exported without data) nor in this environment's blob store");
  }
}

/// For each secret pointer (the package's required_secrets for this object, then the
/// type's secret_fields here): the package's value, else the object's value here,
/// else the secrets file's, else missing.
void Planner::resolve_secrets(Work& w, const json& spec) {
  static const std::vector<std::string> none;
  auto listed = required_.find(w.item.source_guid);
  const std::vector<std::string>& required = listed == required_.end() ? none : listed->second;
  std::vector<std::string> pointers = required;
  for (const auto& p : w.type->secret_fields) {
    if (std::ranges::find(pointers, p) == pointers.end()) pointers.push_back(p);
  }
  const std::optional<catalog::Object>& stored = w.stored;
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

void Planner::apply_overrides(Work& w) {
  for (const PointerValue* v : overrides_.find(w.item.guid, w.item.address, w.item.type)) {
    w.item.overrides.push_back({v->pointer, v->value, v->target, v->where});
  }
}

/// create, or update/unchanged the way Catalog::deploy will see it: name, folder,
/// spec (with secrets and overrides filled in), refs and attachments against the
/// stored ones.
void Planner::decide(Work& w, json spec) {
  if (auto st = detail::apply_values(spec, w.item); !st) w.errors.push_back(st.error().message);
  if (!w.errors.empty() || !w.conflicts.empty()) return;
  if (!w.stored) {
    w.item.action = Action::create;
    return;
  }
  std::vector<catalog::Ref> refs;
  for (const auto& r : w.entry->refs) refs.push_back({dest(r.guid), detail::ref_kind(r.kind)});
  const catalog::Object& s = *w.stored;
  bool same = s.name == w.item.name && s.folder == w.item.folder && s.spec == spec && s.refs == refs &&
              s.attachments == detail::attachments_of(*w.entry);
  w.item.action = same ? Action::unchanged : Action::update;
  if (!same) w.item.changes = changes_of(w, spec, refs);
}

/// What an update changes: the move, top-level spec fields, refs, attachments.
Changes Planner::changes_of(const Work& w, const json& spec, const std::vector<catalog::Ref>& refs) const {
  Changes c;
  const catalog::Object& s = *w.stored;
  if (s.name != w.item.name || s.folder != w.item.folder) c.moved_from = s.address().to_string();
  std::set<std::string> keys;
  for (const auto& [k, v] : s.spec.items()) keys.insert(k);
  for (const auto& [k, v] : spec.items()) keys.insert(k);
  for (const auto& k : keys) {
    if (!s.spec.contains(k) || !spec.contains(k) || s.spec.at(k) != spec.at(k)) {
      std::string escaped;  // a JSON pointer token: ~ is ~0, / is ~1
      for (char ch : k) escaped += ch == '~' ? "~0" : ch == '/' ? "~1" : std::string(1, ch);
      c.spec.push_back("/" + escaped);
    }
  }
  auto ref_text = [this](const catalog::Ref& r) {
    std::string address = "(unknown address)";
    if (auto own = by_dest_.find(r.to_guid); own != by_dest_.end()) {
      address = work_[own->second].item.address;
    } else if (auto o = catalog_.find(r.to_guid); o && *o) {
      address = (*o)->address().to_string();
    }
    return std::string(catalog::to_string(r.kind)) + " " + describe(address, r.to_guid);
  };
  for (const auto& r : refs) {
    if (std::ranges::find(s.refs, r) == s.refs.end()) c.refs.push_back("+" + ref_text(r));
  }
  for (const auto& r : s.refs) {
    if (std::ranges::find(refs, r) == refs.end()) c.refs.push_back("-" + ref_text(r));
  }
  if (c.refs.empty() && refs != s.refs) c.refs.push_back("order of references");
  auto attachments = detail::attachments_of(*w.entry);
  for (const auto& a : attachments) {
    auto old = std::ranges::find(s.attachments, a.name, &catalog::Attachment::name);
    if (old == s.attachments.end())
      c.attachments.push_back("+" + a.name);
    else if (old->sha256 != a.sha256)
      c.attachments.push_back("~" + a.name);
  }
  for (const auto& a : s.attachments) {
    if (std::ranges::find(attachments, a.name, &catalog::Attachment::name) == attachments.end()) {
      c.attachments.push_back("-" + a.name);
    }
  }
  return c;
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

/// max_objects: what is here, plus what this import creates, minus what it deletes.
/// The catalog checks again inside the deploy; this refuses before any change.
Status Planner::check_quotas() {
  for (const auto& def : types_.all()) {
    if (!def.max_objects) continue;
    int64_t creates = 0, removes = 0;
    for (const Work& w : work_) {
      if (w.item.type != def.name || !w.errors.empty() || !w.conflicts.empty()) continue;
      if (w.item.action == Action::create) ++creates;
      if (w.item.action == Action::remove) ++removes;
    }
    if (creates == 0) continue;
    auto here = FERRY_TRY(catalog_.list({.type = def.name, .folder = std::nullopt}));
    const int64_t total = static_cast<int64_t>(here.size()) + creates - removes;
    if (total <= static_cast<int64_t>(*def.max_objects)) continue;
    std::string problem = "quota: type '" + def.name + "' allows " + std::to_string(*def.max_objects) +
                          " objects here (types.yaml: max_objects) and this import would make " +
                          std::to_string(total) + " (" + std::to_string(here.size()) + " here, " +
                          std::to_string(creates) + " to create, " + std::to_string(removes) +
                          " to delete); raise max_objects or delete some first";
    quota_problems_.push_back(problem);
    for (Work& w : work_) {
      if (w.item.type == def.name && w.item.action == Action::create && w.errors.empty() && w.conflicts.empty()) {
        w.errors.push_back(problem);
      }
    }
  }
  return {};
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
  std::vector<std::string> refusals = type_problems_;
  refusals.insert(refusals.end(), quota_problems_.begin(), quota_problems_.end());
  if (!refusals.empty()) plan.refused = joined(refusals);
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
                    const types::TypeRegistry& types, const Secrets& secrets, const Policy& policy,
                    const Overrides& overrides) {
  return Planner(pkg, catalog, types, secrets, policy, overrides).run();
}

}  // namespace ferry::importer
