// Checking a batch of drafts: every draft against the others and the catalog,
// reporting every problem, before anything is written.
#include "catalog/plan.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "catalog/rows.h"
#include "util/guid.h"

namespace ferry::catalog::detail {
namespace {

std::string at(std::string_view where, std::string_view display) {
  return (where.empty() ? std::string() : std::string(where) + ": ") + std::string(display);
}

std::string type_name_key(const std::string& type, const std::string& name) { return type + '\n' + name; }

class Planner {
 public:
  Planner(const WriteContext& ctx, const PlanRules& rules, Problems& problems)
      : db_(ctx.db), types_(ctx.types), blobs_(ctx.blobs), rules_(rules), problems_(problems) {}

  std::vector<Planned> plan(const std::vector<const ObjectDraft*>& drafts);

 private:
  void check(Planned& p);
  void check_attachments(Planned& p);
  void identify(Planned& p, size_t i);
  void identify_by_guid(Planned& p);
  void identify_by_address(Planned& p);
  bool check_duplicate(const Planned& p, size_t i);
  void check_clash(const Planned& p, size_t i);
  void check_type_wide_clash(const Planned& p, size_t i);
  void resolve_refs(Planned& p);
  std::optional<std::string> resolve(const RefDraft& r, const std::string& where);
  void check_quota();
  int64_t stored_count(const std::string& type);
  std::string holder_text(const std::string& guid);
  bool removing(const std::string& guid) const { return rules_.removing && rules_.removing->contains(guid); }
  void problem(Errc code, const Planned& p, const std::string& text) {
    problems_.add(code, at(p.draft->where, p.display) + ": " + text);
  }

  SQLite::Database& db_;
  const types::TypeRegistry& types_;
  const BlobStore& blobs_;
  const PlanRules& rules_;
  Problems& problems_;
  std::vector<Planned> planned_;
  // Hashed: looked up for every draft of deploys of hundreds of thousands of objects.
  std::unordered_map<std::string, size_t> by_guid_;       ///< target GUID -> first draft
  std::unordered_map<std::string, size_t> by_address_;    ///< final address -> first draft
  std::unordered_map<std::string, size_t> by_type_name_;  ///< type + name -> first draft
};

std::vector<Planned> Planner::plan(const std::vector<const ObjectDraft*>& drafts) {
  planned_.resize(drafts.size());
  for (size_t i = 0; i < drafts.size(); ++i) {
    planned_[i].draft = drafts[i];
    check(planned_[i]);
    identify(planned_[i], i);
  }
  for (size_t i = 0; i < planned_.size(); ++i) {
    if (planned_[i].guid.empty()) continue;
    if (check_duplicate(planned_[i], i)) check_clash(planned_[i], i);
    resolve_refs(planned_[i]);
  }
  check_quota();
  return std::move(planned_);
}

void Planner::check(Planned& p) {
  const ObjectDraft& d = *p.draft;
  p.display = d.type + ":" + (d.folder == "/" ? "" : d.folder) + "/" + d.name;
  auto folder = normalize_folder(d.folder);
  auto name = check_name(d.name);
  if (folder && name) {
    p.address = Address{d.type, *folder, d.name};
    p.display = p.address->to_string();
  }
  p.type = types_.find(d.type);
  if (!p.type) {
    std::string known = types_.all().empty() ? "none are defined" : "known types: " + types_.names();
    problem(Errc::invalid_argument, p, "unknown type '" + d.type + "'; " + known);
  }
  if (!folder) problem(Errc::invalid_argument, p, folder.error().message);
  if (!name) problem(Errc::invalid_argument, p, name.error().message);
  check_attachments(p);
}

void Planner::check_attachments(Planned& p) {
  p.attachments = p.draft->attachments;
  std::ranges::sort(p.attachments, {}, &Attachment::name);
  for (size_t i = 0; i < p.attachments.size(); ++i) {
    const Attachment& a = p.attachments[i];
    if (auto st = check_name(a.name); !st) problem(Errc::invalid_argument, p, "attachment: " + st.error().message);
    if (i > 0 && p.attachments[i - 1].name == a.name) {
      problem(Errc::invalid_argument, p, "attachment '" + a.name + "' is listed twice");
    }
    if (!blobs_.contains(a.sha256)) {
      problem(Errc::invalid_argument, p,
              "attachment '" + a.name + "': blob '" + a.sha256 + "' is not in the blob store; store the file first");
    }
  }
}

void Planner::identify(Planned& p, size_t i) {
  if (p.draft->guid) {
    identify_by_guid(p);
  } else if (rules_.match == MatchBy::guid_only) {
    problem(Errc::invalid_argument, p, "no GUID given; every object of a " + std::string(rules_.batch) + " needs one");
  } else if (p.address) {
    identify_by_address(p);
  }
  if (p.guid.empty()) return;
  by_guid_.try_emplace(p.guid, i);
  if (!p.address) return;
  by_address_.try_emplace(p.address->to_string(), i);
  by_type_name_.try_emplace(type_name_key(p.address->type, p.address->name), i);
}

void Planner::identify_by_guid(Planned& p) {
  auto guid = parse_guid(*p.draft->guid);
  if (!guid) {
    problem(Errc::invalid_argument, p, "'" + *p.draft->guid + "' is not a GUID");
    return;
  }
  p.guid = *guid;
  p.stored = load_object(db_, p.guid);
  if (p.stored && p.stored->type != p.draft->type) {
    problem(Errc::conflict, p,
            "GUID " + p.guid + " is " + p.stored->address().to_string() +
                " in the catalog; an object's type cannot change");
  }
  if (removing(p.guid)) {
    problem(
        Errc::conflict, p,
        "this " + std::string(rules_.batch) + " also deletes this object (GUID " + p.guid + "); do one or the other");
  }
}

void Planner::identify_by_address(Planned& p) {
  // An earlier draft at this address names the same object: check_duplicate reports it.
  if (auto it = by_address_.find(p.address->to_string()); it != by_address_.end()) {
    p.guid = planned_[it->second].guid;
    return;
  }
  if (auto guid = guid_at(db_, *p.address)) {
    p.guid = *guid;
    p.stored = load_object(db_, p.guid);
  } else {
    p.guid = new_guid();
  }
}

bool Planner::check_duplicate(const Planned& p, size_t i) {
  size_t first = by_guid_.at(p.guid);
  if (first == i) return true;
  const Planned& other = planned_[first];
  std::string other_at = other.draft->where.empty() ? "draft " + std::to_string(first + 1) : other.draft->where;
  problem(Errc::conflict, p,
          "this object (GUID " + p.guid + ") is already given at " + at(other_at, other.display) +
              "; name each object once per " + std::string(rules_.batch));
  return false;
}

std::string Planner::holder_text(const std::string& guid) {
  auto holder = load_object(db_, guid);
  return (holder ? holder->address().to_string() : std::string("an object")) + " (" + guid + ")";
}

void Planner::check_clash(const Planned& p, size_t i) {
  if (!p.address || !p.type) return;
  if (p.type->unique_name == types::NameScope::type) return check_type_wide_clash(p, i);
  std::string key = p.address->to_string();
  if (size_t first = by_address_.at(key); first != i) {
    const Planned& other = planned_[first];
    problem(Errc::conflict, p,
            "name clash: another object in this " + std::string(rules_.batch) + " has the same address" +
                (other.draft->where.empty() ? std::string() : " (" + other.draft->where + ")"));
    return;
  }
  auto holder = guid_at(db_, *p.address);
  if (holder && *holder != p.guid && !by_guid_.contains(*holder) && !removing(*holder)) {
    problem(Errc::conflict, p, "name clash: the address is held by another object (" + *holder + ")");
  }
}

void Planner::check_type_wide_clash(const Planned& p, size_t i) {
  const std::string scope = " (" + p.address->type + " names are unique across all folders: unique_name: type)";
  if (size_t first = by_type_name_.at(type_name_key(p.address->type, p.address->name)); first != i) {
    problem(Errc::conflict, p,
            "name clash: name '" + p.address->name + "' is also given to " +
                at(planned_[first].draft->where, planned_[first].display) + " in this " + std::string(rules_.batch) +
                scope);
    return;
  }
  for (const auto& holder : guids_named(db_, p.address->type, p.address->name)) {
    if (holder == p.guid || by_guid_.contains(holder) || removing(holder)) continue;
    problem(Errc::conflict, p, "name clash: name '" + p.address->name + "' is held by " + holder_text(holder) + scope);
  }
}

void Planner::resolve_refs(Planned& p) {
  for (const RefDraft& r : p.draft->refs) {
    std::string where = at(r.where.empty() ? p.draft->where : r.where, p.display) + ": ";
    auto target = resolve(r, where);
    if (!target) continue;
    if (*target == p.guid) {
      problems_.add(Errc::conflict, where + "reference to itself (" + r.to + ")");
    } else if (removing(*target)) {
      problems_.add(Errc::conflict, where + "reference to " + r.to + ", which this " + std::string(rules_.batch) +
                                        " deletes (" + *target + ")");
    } else {
      p.refs.push_back({*target, r.kind});
    }
  }
}

/// The GUID a reference names after the batch, or nullopt with the problem reported.
std::optional<std::string> Planner::resolve(const RefDraft& r, const std::string& where) {
  std::optional<std::string> target;
  if (auto guid = parse_guid(r.to)) {
    if (by_guid_.contains(*guid) || has_object(db_, *guid)) target = *guid;
  } else if (auto address = parse_address(r.to)) {
    if (auto it = by_address_.find(address->to_string()); it != by_address_.end()) {
      target = planned_[it->second].guid;
    } else if (auto held = guid_at(db_, *address); held && !by_guid_.contains(*held)) {
      target = *held;  // a catalog object that no draft moves away from this address
    }
  } else {
    problems_.add(Errc::invalid_argument,
                  where + "reference '" + r.to + "' is neither an address (TYPE:/FOLDER/NAME) nor a GUID");
    return std::nullopt;
  }
  if (!target) {
    problems_.add(Errc::conflict, where + "reference to " + r.to + " not found: not in " + std::string(rules_.source) +
                                      " and not in the catalog");
  }
  return target;
}

/// Objects of this type in the catalog, less those the batch deletes.
int64_t Planner::stored_count(const std::string& type) {
  int64_t count = count_of_type(db_, type);
  if (rules_.removing) count -= std::ranges::count(*rules_.removing, type, [](auto& e) { return e.second.type; });
  return count;
}

void Planner::check_quota() {
  std::map<std::string, int64_t> reached;  // type -> count after the creates seen so far
  std::set<std::string> reported;
  for (const Planned& p : planned_) {
    if (!p.type || !p.type->max_objects || p.guid.empty() || p.stored) continue;
    if (by_guid_.at(p.guid) != static_cast<size_t>(&p - planned_.data())) continue;  // duplicate
    auto [it, fresh] = reached.try_emplace(p.type->name, 0);
    if (fresh) it->second = stored_count(p.type->name);
    ++it->second;
    auto limit = static_cast<int64_t>(*p.type->max_objects);
    if (it->second > limit && reported.insert(p.type->name).second) {
      problem(Errc::conflict, p,
              "quota exceeded: type " + p.type->name + " allows at most " + std::to_string(limit) +
                  " objects (max_objects) and this " + std::string(rules_.batch) + " would make " +
                  std::to_string(it->second));
    }
  }
}

}  // namespace

Error Problems::error() const {
  // A wrong file is the operator's input error; otherwise the catalog's state refuses it.
  bool input_error = std::ranges::any_of(list_, [](auto& x) { return x.code == Errc::invalid_argument; });
  std::string message;
  for (const auto& x : list_) message += (message.empty() ? "" : "\n") + x.text;
  return Error{input_error ? Errc::invalid_argument : Errc::conflict, std::move(message)};
}

std::string referrers_besides(SQLite::Database& db, const std::string& guid,
                              const std::unordered_set<std::string>& except) {
  std::string out;
  for (const auto& [from, kind] : referrers_of(db, guid)) {
    if (except.contains(from)) continue;
    auto holder = load_object(db, from);
    out += (out.empty() ? "" : ", ") + (holder ? holder->address().to_string() + " (" + from + ")" : from) + " " +
           std::string(to_string(kind)) + " it";
  }
  return out;
}

std::vector<Planned> plan_drafts(const WriteContext& ctx, const std::vector<const ObjectDraft*>& drafts,
                                 const PlanRules& rules, Problems& problems) {
  return Planner(ctx, rules, problems).plan(drafts);
}

}  // namespace ferry::catalog::detail
