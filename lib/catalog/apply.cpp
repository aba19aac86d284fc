// apply(): plan every draft against the others and the catalog (reporting every
// problem), then write the changed objects, each with its own new revision.
#include "catalog/ops.h"
#include "catalog/plan.h"
#include "catalog/rows.h"

namespace ferry::catalog::detail {

Object candidate(const Planned& p) { return candidate(p, p.draft->spec); }

Object candidate(const Planned& p, nlohmann::json spec) {
  Object o = p.stored.value_or(Object{});
  o.guid = p.guid;
  o.type = p.address->type;
  o.folder = p.address->folder;
  o.name = p.address->name;
  o.spec = std::move(spec);
  o.refs = p.refs;
  o.attachments = p.attachments;
  return o;
}

ApplyAction action_for(const Planned& p, const Object& next) {
  if (!p.stored) return ApplyAction::created;
  const Object& a = *p.stored;
  bool same = a.name == next.name && a.folder == next.folder && a.spec == next.spec && a.refs == next.refs &&
              a.attachments == next.attachments;
  return same ? ApplyAction::unchanged : ApplyAction::updated;
}

void write_object(const WriteContext& ctx, Object& o, ApplyAction action, const std::string& spec_text,
                  WriteHints hints) {
  o.revision = hints.revision != 0 ? hints.revision : ctx.revisions.next();
  o.updated_at = ctx.clock.now();
  if (action == ApplyAction::created) {
    o.created_at = o.updated_at;
    insert_object(ctx.db, o, spec_text);
    if (hints.tombstoned) drop_tombstone(ctx.db, o.guid);  // re-created by GUID: no longer deleted
    // A new object has no rows yet (a deleted one's went with it: ON DELETE CASCADE).
    insert_refs(ctx.db, o.guid, o.refs);
    insert_attachments(ctx.db, o.guid, o.attachments);
  } else {
    update_object(ctx.db, o, spec_text);
    replace_refs(ctx.db, o.guid, o.refs);
    replace_attachments(ctx.db, o.guid, o.attachments);
  }
}

Expected<ApplyResult> apply_drafts(const WriteContext& ctx, const std::vector<ObjectDraft>& drafts,
                                   std::string_view owner) {
  std::vector<const ObjectDraft*> pointers;
  for (const auto& d : drafts) pointers.push_back(&d);
  Problems problems;
  auto planned = plan_drafts(ctx, pointers, PlanRules{}, problems);
  if (!problems.empty()) return std::unexpected(problems.error());
  std::vector<Object> next;
  std::vector<ApplyAction> actions;
  for (const Planned& p : planned) {
    next.push_back(candidate(p));
    if (!p.stored) next.back().owner = owner;
    actions.push_back(action_for(p, next.back()));
    if (actions.back() == ApplyAction::updated && p.stored->address() != next.back().address()) {
      park_name(ctx.db, p.guid);  // frees the old address before anything moves in
    }
  }
  ApplyResult result;
  for (size_t i = 0; i < next.size(); ++i) {
    if (actions[i] != ApplyAction::unchanged) write_object(ctx, next[i], actions[i]);
    result.items.push_back({next[i].guid, next[i].address().to_string(), actions[i], next[i].revision});
  }
  result.revision = ctx.revisions.current();
  return result;
}

}  // namespace ferry::catalog::detail
