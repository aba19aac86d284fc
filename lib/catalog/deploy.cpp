// deploy(): an import's steps in the package's order, in the caller's one write
// transaction: check everything first (reporting every problem), keep the prior
// version of each object about to change, then write in step order.
#include <set>

#include "catalog/ops.h"
#include "catalog/plan.h"
#include "catalog/rows.h"
#include "catalog/versions.h"
#include "util/guid.h"

namespace ferry::catalog::detail {
namespace {

std::string describe(const Object& o) { return o.address().to_string() + " (" + o.guid + ")"; }

/// One deploy, from checks to writes. Runs inside the caller's write transaction.
class Deployer {
 public:
  Deployer(const WriteContext& ctx, std::vector<DeployStep>& steps, const DeployOptions& options)
      : ctx_(ctx), steps_(steps), options_(options) {}

  Expected<std::vector<DeployItem>> run();

 private:
  void collect_removals();
  void plan_upserts();
  void check_referrers();
  void prepare_writes();
  DeployItem write_step(size_t i);

  const WriteContext& ctx_;
  std::vector<DeployStep>& steps_;  ///< upserts' specs are moved out into next_
  const DeployOptions& options_;
  Problems problems_;
  std::map<std::string, Object> removing_;  ///< GUID -> object as stored now
  std::vector<std::string> removed_guid_;   ///< by step: the canonical GUID of a remove
  std::vector<size_t> planned_index_;       ///< by step: the upsert's index in planned_
  std::vector<Planned> planned_;
  std::vector<Object> next_;                               ///< by upsert: the object to store
  std::vector<std::shared_ptr<const std::string>> texts_;  ///< by upsert: its spec's text when the draft had it
  std::vector<ApplyAction> actions_;                       ///< by upsert
  std::vector<WriteHints> hints_;  ///< by step: its revision (taken in prepare_writes) and tombstone
};

Expected<std::vector<DeployItem>> Deployer::run() {
  if (options_.import_id.empty()) return fail(Errc::invalid_argument, "a deploy needs an import id");
  collect_removals();
  plan_upserts();
  check_referrers();
  if (!problems_.empty()) return std::unexpected(problems_.error());
  prepare_writes();
  std::vector<DeployItem> items;
  for (size_t i = 0; i < steps_.size(); ++i) items.push_back(write_step(i));
  return items;
}

void Deployer::collect_removals() {
  removed_guid_.resize(steps_.size());
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i].kind != DeployStep::Kind::remove) continue;
    const std::string step = "step " + std::to_string(i + 1) + ": ";
    auto guid = parse_guid(steps_[i].guid);
    if (!guid) {
      problems_.add(Errc::invalid_argument, step + "'" + steps_[i].guid + "' is not a GUID");
      continue;
    }
    auto stored = load_object(ctx_.db, *guid);
    if (!stored) {
      problems_.add(Errc::conflict, step + "cannot delete " + *guid + ": no object with that GUID in the catalog");
    } else if (!removing_.emplace(*guid, *stored).second) {
      problems_.add(Errc::conflict, step + describe(*stored) + ": deleted twice in this deploy");
    } else {
      removed_guid_[i] = *guid;
    }
  }
}

void Deployer::plan_upserts() {
  std::vector<const ObjectDraft*> drafts;
  planned_index_.resize(steps_.size());
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i].kind != DeployStep::Kind::upsert) continue;
    planned_index_[i] = drafts.size();
    drafts.push_back(&steps_[i].draft);
  }
  PlanRules rules{"deploy", "this deploy", MatchBy::guid_only, &removing_};
  planned_ = plan_drafts(ctx_, drafts, rules, problems_);
}

/// A removed object must not stay referenced by an object this deploy keeps. The
/// upserts' own new refs were checked by the planner; their stored refs get replaced.
void Deployer::check_referrers() {
  if (removing_.empty()) return;
  std::unordered_set<std::string> rewritten;
  for (const Planned& p : planned_) rewritten.insert(p.guid);
  for (const auto& [guid, object] : removing_) rewritten.insert(guid);
  for (const auto& [guid, object] : removing_) {
    std::string referrers = referrers_besides(ctx_.db, guid, rewritten);
    if (referrers.empty()) continue;
    problems_.add(Errc::conflict, describe(object) + ": cannot delete it: still referenced by " + referrers +
                                      "; delete or change those in the same deploy");
  }
}

/// Keeps the prior version of everything about to change, in step order, with the
/// revision the step will leave it at (so a rollback can tell whether anything
/// changed it since), then frees the addresses of moved and removed objects before
/// anything moves in.
void Deployer::prepare_writes() {
  next_.resize(planned_.size());
  texts_.resize(planned_.size());
  actions_.resize(planned_.size());
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i].kind != DeployStep::Kind::upsert) continue;
    size_t u = planned_index_[i];
    const Planned& p = planned_[u];
    ObjectDraft& d = steps_[i].draft;
    if (d.spec.is_null() && p.stored && d.spec_text) d.spec = nlohmann::json::parse(*d.spec_text);  // to compare
    next_[u] = candidate(p, std::move(d.spec));
    texts_[u] = std::move(d.spec_text);
    if (!p.stored) next_[u].owner = options_.owner;
    actions_[u] = action_for(p, next_[u]);
  }
  hints_.resize(steps_.size());
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i].kind == DeployStep::Kind::remove) {
      const Object& o = removing_.at(removed_guid_[i]);
      hints_[i].revision = ctx_.revisions.next();
      save_prior_version(ctx_.db, options_.import_id, o.guid, o, std::nullopt, hints_[i].revision);
      park_name(ctx_.db, o.guid);
      continue;
    }
    size_t u = planned_index_[i];
    const Planned& p = planned_[u];
    if (actions_[u] == ApplyAction::unchanged) continue;
    auto tombstone = p.stored ? std::nullopt : load_tombstone(ctx_.db, p.guid);
    hints_[i] = {.revision = ctx_.revisions.next(), .tombstoned = tombstone.has_value()};
    save_prior_version(ctx_.db, options_.import_id, p.guid, p.stored, tombstone, hints_[i].revision);
    if (p.stored && p.stored->address() != next_[u].address()) park_name(ctx_.db, p.guid);
  }
}

DeployAction deploy_action(ApplyAction action) {
  switch (action) {
    case ApplyAction::created:
      return DeployAction::created;
    case ApplyAction::updated:
      return DeployAction::updated;
    case ApplyAction::unchanged:
      return DeployAction::unchanged;
  }
  return DeployAction::unchanged;
}

DeployItem Deployer::write_step(size_t i) {
  if (steps_[i].kind == DeployStep::Kind::remove) {
    Tombstone t = delete_with_tombstone(ctx_, removing_.at(removed_guid_[i]), hints_[i].revision);
    return {t.guid, t.address().to_string(), DeployAction::deleted, t.revision};
  }
  size_t u = planned_index_[i];
  Object& o = next_[u];
  static const std::string kNone;  // the spec is dumped when written
  if (actions_[u] != ApplyAction::unchanged)
    write_object(ctx_, o, actions_[u], texts_[u] ? *texts_[u] : kNone, hints_[i]);
  return {o.guid, o.address().to_string(), deploy_action(actions_[u]), o.revision};
}

}  // namespace

Expected<std::vector<DeployItem>> deploy_steps(const WriteContext& ctx, std::vector<DeployStep>& steps,
                                               const DeployOptions& options) {
  return Deployer(ctx, steps, options).run();
}

}  // namespace ferry::catalog::detail
