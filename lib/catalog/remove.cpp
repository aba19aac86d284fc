// remove(): an object and its `contains` subtree go together, each leaving a tombstone.
#include <set>

#include "catalog/ops.h"
#include "catalog/rows.h"
#include "util/guid.h"

namespace ferry::catalog::detail {
namespace {

std::string describe(SQLite::Database& db, const std::string& guid) {
  auto o = load_object(db, guid);
  return (o ? o->address().to_string() : std::string("?")) + " (" + guid + ")";
}

/// One line per reference from outside the subtree into it; empty when none.
std::string outside_referrers(SQLite::Database& db, const std::vector<std::string>& subtree) {
  std::set<std::string> inside(subtree.begin(), subtree.end());
  std::string lines;
  for (const auto& target : subtree) {
    for (const auto& [from, kind] : referrers_of(db, target)) {
      if (inside.contains(from)) continue;
      auto to = load_object(db, target);
      lines += "\n  " + describe(db, from) + " " + std::string(to_string(kind)) + " " +
               (to ? to->address().to_string() : target);
    }
  }
  return lines;
}

}  // namespace

Expected<std::string> locate(SQLite::Database& db, std::string_view address_or_guid) {
  if (auto guid = parse_guid(address_or_guid)) {
    if (has_object(db, *guid)) return *guid;
    return fail(Errc::not_found, "no object with GUID " + *guid + " in the catalog");
  }
  auto address = parse_address(address_or_guid);
  if (!address) {
    return fail(Errc::invalid_argument,
                "'" + std::string(address_or_guid) + "' is neither an object address (TYPE:/FOLDER/NAME) nor a GUID");
  }
  if (auto guid = guid_at(db, *address)) return *guid;
  return fail(Errc::not_found, "no object " + address->to_string() + " in the catalog");
}

Tombstone delete_with_tombstone(const WriteContext& ctx, const Object& object, int64_t revision) {
  if (revision == 0) revision = ctx.revisions.next();
  Tombstone t{object.guid, object.type, object.folder, object.name, revision, ctx.clock.now()};
  put_tombstone(ctx.db, t);
  delete_object(ctx.db, object.guid);
  return t;
}

Expected<std::vector<Tombstone>> remove_subtree(const WriteContext& ctx, const std::string& guid) {
  // The object first, then what it contains: tombstone revisions follow that order.
  std::vector<std::string> subtree = contains_closure(ctx.db, guid);
  if (std::string lines = outside_referrers(ctx.db, subtree); !lines.empty()) {
    return fail(Errc::conflict, "cannot delete " + describe(ctx.db, guid) +
                                    ": still referenced by objects outside it; delete or change those first:" + lines);
  }
  std::vector<Tombstone> out;
  for (const auto& g : subtree) {
    if (auto o = load_object(ctx.db, g)) out.push_back(delete_with_tombstone(ctx, *o));
  }
  return out;
}

}  // namespace ferry::catalog::detail
