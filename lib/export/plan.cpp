// plan(): roots from the mode and selection, the contains/uses closure, exportability,
// secrets and deletions. Pure: no I/O, callable from any thread.
#include <algorithm>
#include <map>

#include "export/export_impl.h"

namespace ferry::exporter {

namespace {

using detail::describe;

std::string not_exportable(const catalog::Object& object, const std::string& why) {
  return describe(object) + " is of type " + object.type +
         ", which is not exportable (types.yaml exportable: false); " + why;
}

std::string unknown_type(const catalog::Object& object, const types::TypeRegistry& types) {
  return describe(object) + " is of type " + object.type +
         ", which types.yaml does not declare (known types: " + types.names() + "); add the type or remove the object";
}

/// One planning run: the inputs plus what has been decided so far.
struct Planner {
  const detail::Index& index;
  const types::TypeRegistry& types;
  const Request& request;
  const detail::Matcher& matcher;
  detail::Problems& problems;
  std::vector<char> chosen;                       ///< by position in the snapshot
  std::map<size_t, std::vector<size_t>> blocked;  ///< not exportable -> who needs it

  bool incremental_since() const { return request.mode == Mode::incremental && request.since_revision.has_value(); }
  bool in_scope(const catalog::Object& o) const;
  std::vector<size_t> roots();
  void close_over(std::vector<size_t> queue);
  void follow(size_t from, const catalog::Ref& ref, std::vector<size_t>& queue);
  void report_blocked();
};

bool Planner::in_scope(const catalog::Object& o) const {
  if (incremental_since() && o.revision <= *request.since_revision) return false;
  return request.select.empty() || matcher.matches(o.guid, o.address());
}

// The objects the mode and selection pick by themselves, before the closure.
std::vector<size_t> Planner::roots() {
  std::vector<size_t> out;
  bool by_type = request.mode == Mode::selected;
  for (size_t i = 0; i < index.objects.size(); ++i) {
    const auto& o = index.objects[i];
    if (!in_scope(o)) continue;
    const types::TypeDef* t = types.find(o.type);
    if (t == nullptr) {
      problems.conflict(unknown_type(o, types));
    } else if (!t->exportable) {
      if (auto why = matcher.named_by(o.guid, o.address(), by_type))
        problems.conflict(not_exportable(o, "selected by " + *why));
    } else {
      chosen[i] = 1;
      out.push_back(i);
    }
  }
  return out;
}

void Planner::follow(size_t from, const catalog::Ref& ref, std::vector<size_t>& queue) {
  if (ref.kind == catalog::RefKind::uses && !request.include_upstream) return;
  const auto& parent = index.objects[from];
  const catalog::Object* target = index.by_guid(ref.to_guid);
  if (target == nullptr) {
    return problems.conflict(describe(parent) + " " + std::string(catalog::to_string(ref.kind)) + " " + ref.to_guid +
                             ", which is not in the catalog");
  }
  size_t j = index.position(target);
  if (chosen[j]) return;
  const types::TypeDef* t = types.find(target->type);
  if (t == nullptr) {
    chosen[j] = 1;  // report once
    return problems.conflict(unknown_type(*target, types));
  }
  if (!t->exportable) return blocked[j].push_back(from);
  chosen[j] = 1;
  queue.push_back(j);
}

// contains children always, uses targets with include_upstream; transitively, so
// upstream objects bring their children and children bring their upstream.
void Planner::close_over(std::vector<size_t> queue) {
  while (!queue.empty()) {
    size_t i = queue.back();
    queue.pop_back();
    for (const auto& ref : index.objects[i].refs) follow(i, ref, queue);
  }
}

void Planner::report_blocked() {
  constexpr size_t kMaxNamed = 5;
  for (auto& [j, needers] : blocked) {
    std::vector<std::string> names;
    for (size_t n : needers) names.push_back(describe(index.objects[n]));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::string why = "needed by ";
    for (size_t k = 0; k < names.size() && k < kMaxNamed; ++k) why += (k ? ", " : "") + names[k];
    if (names.size() > kMaxNamed) why += " and " + std::to_string(names.size() - kMaxNamed) + " more";
    problems.conflict(not_exportable(index.objects[j], why));
  }
}

void check_existence(const detail::Index& index, const detail::Matcher& matcher,
                     const std::vector<catalog::Tombstone>& deleted, detail::Problems& problems) {
  auto tombstoned = [&](const std::string& key) {
    return std::any_of(deleted.begin(), deleted.end(),
                       [&](const catalog::Tombstone& t) { return t.guid == key || t.address().to_string() == key; });
  };
  for (const auto& g : matcher.guids()) {
    if (!index.by_guid(g) && !tombstoned(g)) problems.bad_input("selection: no object with guid " + g);
  }
  for (const auto& a : matcher.addresses()) {
    if (!index.by_address(a) && !tombstoned(a)) problems.bad_input("selection: no object with address " + a);
  }
}

// Incremental deletions after the baseline, filtered like objects. A type that is not
// exportable never left, so its deletion does not travel either.
std::vector<catalog::Tombstone> deletions(const std::vector<catalog::Tombstone>& tombstones, const Request& request,
                                          const detail::Matcher& matcher, const detail::Index& index,
                                          const types::TypeRegistry& types) {
  std::vector<catalog::Tombstone> out;
  if (request.mode != Mode::incremental || !request.since_revision) return out;
  for (const auto& t : tombstones) {
    if (t.revision <= *request.since_revision || index.by_guid(t.guid)) continue;
    const types::TypeDef* def = types.find(t.type);
    if (def && !def->exportable) continue;
    if (request.select.empty() || matcher.matches(t.guid, t.address())) out.push_back(t);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.revision < b.revision; });
  return out;
}

void collect_secrets(Plan& plan, const types::TypeRegistry& types, detail::Problems& problems) {
  for (const auto* o : plan.objects) {
    auto present = detail::present_secrets(o->spec, *types.find(o->type));
    if (!present) {
      problems.conflict(describe(*o) + ": " + present.error().message);
      continue;
    }
    for (auto& pointer : *present) plan.required_secrets.push_back({o->guid, std::move(pointer)});
  }
}

}  // namespace

Expected<Plan> plan(const std::vector<catalog::Object>& objects, const std::vector<catalog::Tombstone>& tombstones,
                    int64_t snapshot_revision, const types::TypeRegistry& types, const Request& request) {
  detail::Problems problems;
  if (request.mode == Mode::selected && request.select.empty()) {
    return fail(Errc::invalid_argument,
                "selected export needs at least one of --guid, --address, --type, --folder, --object-name");
  }
  detail::Index index(objects);
  detail::Matcher matcher(request.select, problems);
  Plan out;
  out.mode = request.mode;
  out.include_data = request.include_data;
  out.revision_from = request.mode == Mode::incremental ? request.since_revision.value_or(0) : 0;
  out.revision_to = snapshot_revision;
  out.deleted = deletions(tombstones, request, matcher, index, types);
  check_existence(index, matcher, out.deleted, problems);

  Planner planner{index, types, request, matcher, problems, std::vector<char>(objects.size(), 0), {}};
  planner.close_over(planner.roots());
  planner.report_blocked();
  std::vector<size_t> chosen;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (planner.chosen[i] && types.find(objects[i].type)) chosen.push_back(i);
  }
  for (size_t i : detail::deployment_order(index, chosen, types, problems)) out.objects.push_back(&objects[i]);
  for (const auto* o : out.objects) {
    for (const auto& r : o->refs) {
      if (const auto* target = index.by_guid(r.to_guid)) out.ref_targets.emplace(target->guid, target);
    }
  }
  collect_secrets(out, types, problems);
  if (problems.any()) return std::unexpected(problems.error());
  return out;
}

}  // namespace ferry::exporter
