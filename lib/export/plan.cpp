// plan(): roots from the mode and selection, the contains/uses closure, exportability,
// secrets and deletions. Pure: no I/O, callable from any thread.
#include <algorithm>
#include <map>

#include "export/export_impl.h"

namespace ferry::exporter {

namespace {

using detail::describe;

std::string not_exportable(const catalog::ObjectTable& table, size_t row, const std::string& why) {
  return describe(table, row) + " is of type " + table.type(row) +
         ", which is not exportable (types.yaml exportable: false); " + why;
}

std::string unknown_type(const catalog::ObjectTable& table, size_t row, const types::TypeRegistry& types) {
  return describe(table, row) + " is of type " + table.type(row) +
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
  bool in_scope(size_t row) const;
  std::vector<size_t> roots();
  void close_over(std::vector<size_t> queue);
  void follow(size_t from, const catalog::ObjectTable::Ref& ref, std::vector<size_t>& queue);
  void report_blocked();
};

bool Planner::in_scope(size_t row) const {
  const auto& table = index.objects;
  if (incremental_since() && table.revision(row) <= *request.since_revision) return false;
  return request.select.empty() || matcher.matches(table.guid(row), table.address(row));
}

// The objects the mode and selection pick by themselves, before the closure.
std::vector<size_t> Planner::roots() {
  std::vector<size_t> out;
  bool by_type = request.mode == Mode::selected;
  const auto& table = index.objects;
  for (size_t i = 0; i < table.size(); ++i) {
    if (!in_scope(i)) continue;
    const types::TypeDef* t = types.find(table.type(i));
    if (t == nullptr) {
      problems.conflict(unknown_type(table, i, types));
    } else if (!t->exportable) {
      if (auto why = matcher.named_by(table.guid(i), table.address(i), by_type))
        problems.conflict(not_exportable(table, i, "selected by " + *why));
    } else {
      chosen[i] = 1;
      out.push_back(i);
    }
  }
  return out;
}

void Planner::follow(size_t from, const catalog::ObjectTable::Ref& ref, std::vector<size_t>& queue) {
  if (ref.kind == catalog::RefKind::uses && !request.include_upstream) return;
  const auto& table = index.objects;
  if (!table.resolved(ref)) {
    return problems.conflict(describe(table, from) + " " + std::string(catalog::to_string(ref.kind)) + " " +
                             std::string(table.ref_guid(ref)) + ", which is not in the catalog");
  }
  size_t j = ref.target;
  if (chosen[j]) return;
  const types::TypeDef* t = types.find(table.type(j));
  if (t == nullptr) {
    chosen[j] = 1;  // report once
    return problems.conflict(unknown_type(table, j, types));
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
    for (const auto& ref : index.objects.refs(i)) follow(i, ref, queue);
  }
}

void Planner::report_blocked() {
  constexpr size_t kMaxNamed = 5;
  for (auto& [j, needers] : blocked) {
    std::vector<std::string> names;
    for (size_t n : needers) names.push_back(describe(index.objects, n));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::string why = "needed by ";
    for (size_t k = 0; k < names.size() && k < kMaxNamed; ++k) why += (k ? ", " : "") + names[k];
    if (names.size() > kMaxNamed) why += " and " + std::to_string(names.size() - kMaxNamed) + " more";
    problems.conflict(not_exportable(index.objects, j, why));
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

// The secret fields set in the given specs (none for a table), and a conflict for an
// object whose type declares a secret field that is not a JSON pointer.
void collect_secrets(Plan& plan, const std::vector<catalog::Object>* given, const types::TypeRegistry& types,
                     detail::Problems& problems) {
  static const nlohmann::json kNoSpec = nlohmann::json::object();
  for (uint32_t row : plan.objects) {
    const nlohmann::json& spec = given ? (*given)[row].spec : kNoSpec;
    auto present = detail::present_secrets(spec, *types.find(plan.table.type(row)));
    if (!present) {
      problems.conflict(describe(plan.table, row) + ": " + present.error().message);
      continue;
    }
    for (auto& pointer : *present)
      plan.required_secrets.push_back({std::string(plan.table.guid(row)), std::move(pointer)});
  }
}

Expected<Plan> plan_table(catalog::ObjectTable objects, const std::vector<catalog::Object>* given,
                          const std::vector<catalog::Tombstone>& tombstones, int64_t snapshot_revision,
                          const types::TypeRegistry& types, const Request& request) {
  detail::Problems problems;
  if (request.mode == Mode::selected && request.select.empty()) {
    return fail(Errc::invalid_argument,
                "selected export needs at least one of --guid, --address, --type, --folder, --object-name");
  }
  Plan out;
  out.table = std::move(objects);
  const auto& table = out.table;
  detail::Index index(table);
  detail::Matcher matcher(request.select, problems);
  out.mode = request.mode;
  out.include_data = request.include_data;
  out.revision_from = request.mode == Mode::incremental ? request.since_revision.value_or(0) : 0;
  out.revision_to = snapshot_revision;
  out.deleted = deletions(tombstones, request, matcher, index, types);
  check_existence(index, matcher, out.deleted, problems);

  Planner planner{index, types, request, matcher, problems, std::vector<char>(table.size(), 0), {}};
  planner.close_over(planner.roots());
  planner.report_blocked();
  std::vector<size_t> chosen;
  for (size_t i = 0; i < table.size(); ++i) {
    if (planner.chosen[i] && types.find(table.type(i))) chosen.push_back(i);
  }
  planner.chosen = {};
  for (size_t i : detail::deployment_order(index, chosen, types, problems))
    out.objects.push_back(static_cast<uint32_t>(i));
  collect_secrets(out, given, types, problems);
  if (problems.any()) return std::unexpected(problems.error());
  return out;
}

}  // namespace

Expected<Plan> plan(catalog::ObjectTable objects, const std::vector<catalog::Tombstone>& tombstones,
                    int64_t snapshot_revision, const types::TypeRegistry& types, const Request& request) {
  return plan_table(std::move(objects), nullptr, tombstones, snapshot_revision, types, request);
}

Expected<Plan> plan(const std::vector<catalog::Object>& objects, const std::vector<catalog::Tombstone>& tombstones,
                    int64_t snapshot_revision, const types::TypeRegistry& types, const Request& request) {
  catalog::ObjectTable table;
  for (const auto& o : objects) table.add(o);
  table.seal();
  return plan_table(std::move(table), &objects, tombstones, snapshot_revision, types, request);
}

}  // namespace ferry::exporter
