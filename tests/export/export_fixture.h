// Helpers for export tests: a catalog snapshot as plain vectors (no SQLite) and a
// type registry built in code.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "export/export.h"
#include "support/guids.h"

namespace ferry::exporter::test {

using ferry::test::guid;

inline types::TypeRegistry registry() {
  std::vector<types::TypeDef> defs;
  auto add = [&](std::string name) -> types::TypeDef& {
    defs.emplace_back().name = std::move(name);
    return defs.back();
  };
  add("datasource").global = true;
  defs.back().unique_name = types::NameScope::type;
  defs.back().secret_fields = {"/password", "/tls/key"};
  add("calendar").global = true;
  add("dataset");
  add("task").secret_fields = {"/token"};
  add("table");
  add("field");
  add("adhoc_query").exportable = false;
  return types::TypeRegistry(std::move(defs));
}

/// A catalog snapshot under construction. Objects get GUIDs 1, 2, 3... in the order
/// they are added; refs are made by GUID number.
struct Snapshot {
  std::vector<catalog::Object> objects;
  std::vector<catalog::Tombstone> tombstones;
  int64_t revision = 0;

  /// Adds an object at the next revision (or the one given) and returns its GUID number.
  int add(std::string type, std::string folder, std::string name, int64_t rev = 0) {
    catalog::Object o;
    o.guid = guid(static_cast<int>(objects.size()) + 1);
    o.type = std::move(type);
    o.folder = std::move(folder);
    o.name = std::move(name);
    o.revision = rev ? rev : ++revision;
    revision = std::max(revision, o.revision);
    objects.push_back(std::move(o));
    return static_cast<int>(objects.size());
  }
  catalog::Object& at(int n) { return objects.at(static_cast<size_t>(n - 1)); }
  void uses(int from, int to) { at(from).refs.push_back({guid(to), catalog::RefKind::uses}); }
  void contains(int from, int to) { at(from).refs.push_back({guid(to), catalog::RefKind::contains}); }
  void deleted(int n, std::string type, std::string folder, std::string name, int64_t rev) {
    tombstones.push_back({guid(n), std::move(type), std::move(folder), std::move(name), rev, {}});
    revision = std::max(revision, rev);
  }
};

inline Expected<Plan> plan_of(const Snapshot& s, const Request& r) {
  static const types::TypeRegistry kTypes = registry();
  return plan(s.objects, s.tombstones, s.revision, kTypes, r);
}

/// Addresses in plan order.
inline std::vector<std::string> addresses(const Plan& p) {
  std::vector<std::string> out;
  for (uint32_t row : p.objects) out.push_back(p.table.address(row).to_string());
  return out;
}

inline Request selected(Selection s) {
  Request r;
  r.mode = Mode::selected;
  r.select = std::move(s);
  return r;
}

}  // namespace ferry::exporter::test
