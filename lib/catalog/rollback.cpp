// rollback(): an import's changes undone from the prior versions its deploys kept, in
// the caller's one write transaction: check that nothing changed those objects since
// and that their prior state fits the catalog as it is now (reporting every problem),
// then write.
#include <map>
#include <set>

#include "catalog/ops.h"
#include "catalog/plan.h"
#include "catalog/rows.h"
#include "catalog/versions.h"

namespace ferry::catalog::detail {
namespace {

std::string describe(const std::string& address, const std::string& guid) { return address + " (" + guid + ")"; }

/// The draft that brings back a prior version exactly: refs by GUID in their order.
ObjectDraft draft_of(const Object& o) {
  ObjectDraft d;
  d.guid = o.guid;
  d.type = o.type;
  d.name = o.name;
  d.folder = o.folder;
  d.spec = o.spec;
  for (const auto& r : o.refs) d.refs.push_back({r.to_guid, r.kind, ""});
  d.attachments = o.attachments;
  return d;
}

/// One rollback, from checks to writes. Runs inside the caller's write transaction.
class Rollbacker {
 public:
  Rollbacker(const WriteContext& ctx, std::string import_id) : ctx_(ctx), import_id_(std::move(import_id)) {}

  Expected<RollbackResult> run();

 private:
  void check_later_changes();
  void plan_restores();
  void check_referrers();
  RollbackItem remove(const PriorVersion& v);
  RollbackItem restore(const PriorVersion& v, bool stored);
  Error refusal() const;

  const WriteContext& ctx_;
  const std::string import_id_;
  Problems problems_;
  std::vector<PriorVersion> versions_;
  std::map<std::string, Object> removing_;  ///< GUID -> object the import created, as stored now
  std::vector<ObjectDraft> drafts_;         ///< the prior versions to bring back
  std::vector<Planned> planned_;
};

Expected<RollbackResult> Rollbacker::run() {
  if (auto at = rolled_back_at_revision(ctx_.db, import_id_)) {
    return fail(Errc::conflict,
                "import " + import_id_ + " was rolled back already (catalog revision " + std::to_string(*at) + ")");
  }
  versions_ = load_prior_versions(ctx_.db, import_id_);
  check_later_changes();
  if (!problems_.empty()) return std::unexpected(refusal());
  plan_restores();
  check_referrers();
  if (!problems_.empty()) return std::unexpected(refusal());

  // Removals first (they free addresses), then every restored object that is here
  // parks its name, so objects can swap addresses back.
  std::map<std::string, RollbackItem> items;
  for (const auto& v : versions_)
    if (!v.object && removing_.contains(v.guid)) items.emplace(v.guid, remove(v));
  std::map<std::string, bool> stored;
  for (const Planned& p : planned_) {
    stored[p.guid] = p.stored.has_value();
    if (p.stored) park_name(ctx_.db, p.guid);
  }
  for (const auto& v : versions_)
    if (v.object) items.emplace(v.guid, restore(v, stored.at(v.guid)));

  RollbackResult result;
  for (const auto& v : versions_)
    if (auto it = items.find(v.guid); it != items.end()) result.items.push_back(it->second);
  result.revision = ctx_.revisions.current();
  record_rollback(ctx_.db, import_id_, result.revision, ctx_.clock.now());
  return result;
}

/// Each object must be as the import left it: else a later import (not rolled back)
/// or some other writer changed it, and undoing the import would undo that too.
void Rollbacker::check_later_changes() {
  std::map<std::string, std::vector<std::string>> later;  // import id -> objects it changed
  std::vector<std::string> edited;
  for (const auto& v : versions_) {
    auto now = load_object(ctx_.db, v.guid);
    auto tomb = load_tombstone(ctx_.db, v.guid, RollbackTombstones::included);
    const std::string name = describe(now        ? now->address().to_string()
                                      : tomb     ? tomb->address().to_string()
                                      : v.object ? v.object->address().to_string()
                                                 : std::string("(unknown address)"),
                                      v.guid);
    if (v.after_revision == 0) {
      edited.push_back(name +
                       ": deployed by a ferry that did not record the revision each deploy left (catalog schema "
                       "2); restore it by hand with ferryctl object apply");
      continue;
    }
    bool by_import = false;
    // A later import kept, as its prior version, the state this one left or a later one.
    for (const auto& other : versions_of_object(ctx_.db, v.guid)) {
      if (other.import_id == import_id_ || other.prior_revision() < v.after_revision) continue;
      later[other.import_id].push_back(name);
      by_import = true;
    }
    const int64_t now_revision = now ? now->revision : tomb ? tomb->revision : 0;
    if (by_import || now_revision == v.after_revision) continue;
    edited.push_back(name + ": changed since import " + import_id_ + " left it at revision " +
                     std::to_string(v.after_revision) + " (" +
                     (now ? "now revision " + std::to_string(now_revision) : std::string("deleted since")) +
                     "), not by an import (ferryctl object apply or object delete); a rollback would undo that change "
                     "too, so it is refused: restore what you need by hand with ferryctl object apply");
  }
  for (const auto& [id, objects] : later) {
    std::string list;
    for (const auto& o : objects) list += (list.empty() ? "" : ", ") + o;
    problems_.add(Errc::conflict, "import " + id + " changed " + list + " after import " + import_id_ +
                                      "; roll back import " + id + " first (ferryctl import rollback " + id + ")");
  }
  for (auto& e : edited) problems_.add(Errc::conflict, std::move(e));
}

/// The prior versions are checked like a deploy's upserts (names, clashes, refs,
/// attachments in the blob store, quotas) against the catalog as it is now, with the
/// objects the import created on their way out.
void Rollbacker::plan_restores() {
  for (const auto& v : versions_) {
    if (v.object) {
      drafts_.push_back(draft_of(*v.object));
    } else if (auto now = load_object(ctx_.db, v.guid)) {
      removing_.emplace(v.guid, std::move(*now));
    }
  }
  std::vector<const ObjectDraft*> drafts;
  for (const auto& d : drafts_) drafts.push_back(&d);
  PlanRules rules{"rollback", "this rollback", MatchBy::guid_only, &removing_};
  planned_ = plan_drafts(ctx_, drafts, rules, problems_);
}

/// What the import created may go only if nothing the rollback keeps refers to it.
void Rollbacker::check_referrers() {
  std::unordered_set<std::string> rewritten;
  for (const auto& v : versions_) rewritten.insert(v.guid);
  for (const auto& [guid, object] : removing_) {
    std::string referrers = referrers_besides(ctx_.db, guid, rewritten);
    if (referrers.empty()) continue;
    problems_.add(Errc::conflict, describe(object.address().to_string(), guid) +
                                      ": created by this import, so the rollback removes it, but it is referenced by " +
                                      referrers + " since; change those first");
  }
}

/// An object the import created goes. Its tombstone is the one it had before the
/// import re-created it (under a new revision), or one marked as this rollback's.
RollbackItem Rollbacker::remove(const PriorVersion& v) {
  const Object& o = removing_.at(v.guid);
  Tombstone t{o.guid, o.type, o.folder, o.name, ctx_.revisions.next(), ctx_.clock.now()};
  if (v.tombstone) {
    t = Tombstone{v.guid,     v.tombstone->type,      v.tombstone->folder, v.tombstone->name,
                  t.revision, v.tombstone->deleted_at};
    put_tombstone(ctx_.db, t);
    move_after_revision(ctx_.db, v.guid, v.tombstone->revision, t.revision);
  } else {
    put_tombstone(ctx_.db, t, import_id_);
  }
  delete_object(ctx_.db, v.guid);
  return {v.guid, o.address().to_string(), RollbackAction::removed, t.revision};
}

/// The prior version comes back as it was, under a new revision and update time.
RollbackItem Rollbacker::restore(const PriorVersion& v, bool stored) {
  Object o = *v.object;
  o.revision = ctx_.revisions.next();
  o.updated_at = ctx_.clock.now();
  if (stored) {
    update_object(ctx_.db, o);  // owner and created_at are the prior's: the same object all along
  } else {
    insert_object(ctx_.db, o);
    drop_tombstone(ctx_.db, o.guid);
  }
  replace_refs(ctx_.db, o.guid, o.refs);
  replace_attachments(ctx_.db, o.guid, o.attachments);
  // Imports that had left exactly this state now left it at the new revision.
  move_after_revision(ctx_.db, o.guid, v.object->revision, o.revision);
  return {o.guid, o.address().to_string(), stored ? RollbackAction::restored : RollbackAction::recreated, o.revision};
}

Error Rollbacker::refusal() const {
  Error e = problems_.error();
  e.code = Errc::conflict;  // nothing the caller typed is wrong: the catalog's state refuses it
  e.message = "import " + import_id_ + " cannot be rolled back; nothing was changed:\n" + e.message;
  return e;
}

}  // namespace

Expected<RollbackResult> rollback_import(const WriteContext& ctx, const std::string& import_id) {
  return Rollbacker(ctx, import_id).run();
}

}  // namespace ferry::catalog::detail
