// Private to the catalog module: reading and writing catalog rows. Every function
// runs on the caller's connection (inside the caller's transaction, if any) and may
// throw SQLite::Exception or nlohmann::json::exception; the public methods convert.
#pragma once

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace ferry::catalog::detail {

/// Stored times are microseconds since the Unix epoch (UTC).
TimePoint time_of(int64_t micros);
int64_t micros_of(TimePoint t);

/// Whether a read fills Object::spec (an export's object list leaves it empty).
enum class WithSpec { yes, no };

std::optional<Object> load_object(SQLite::Database& db, const std::string& guid);
std::optional<nlohmann::json> load_spec(SQLite::Database& db, const std::string& guid);
bool has_object(SQLite::Database& db, const std::string& guid);
std::optional<std::string> guid_at(SQLite::Database& db, const Address& address);
/// GUIDs of objects of this type named `name`, in any folder (unique_name: type).
std::vector<std::string> guids_named(SQLite::Database& db, const std::string& type, const std::string& name);
int64_t count_of_type(SQLite::Database& db, const std::string& type);
std::vector<Object> list_objects(SQLite::Database& db, const ListFilter& filter, WithSpec with_spec = WithSpec::yes);
/// list_objects one object at a time, in the same order, holding none of them.
void visit_objects(SQLite::Database& db, const ListFilter& filter, WithSpec with_spec,
                   const std::function<void(Object&&)>& visit);

int64_t current_revision(SQLite::Database& db);

/// The catalog-wide revision inside one write transaction: read once, counted here,
/// and stored once before the commit (an UPDATE for every object written was as
/// costly as inserting the object). One write transaction runs at a time.
class RevisionCounter {
 public:
  explicit RevisionCounter(SQLite::Database& db) : db_(db) {}
  int64_t current();
  /// Hands out the next revision.
  int64_t next();
  /// Writes the count back to catalog_state when it moved; before the commit.
  void store();

 private:
  SQLite::Database& db_;
  std::optional<int64_t> stored_;  ///< what catalog_state holds, once read
  int64_t value_ = 0;
};

/// spec_text, when not empty, is object.spec.dump() made already.
void insert_object(SQLite::Database& db, const Object& object, const std::string& spec_text = {});
/// Rewrites type-independent columns; owner and created_at are kept.
void update_object(SQLite::Database& db, const Object& object, const std::string& spec_text = {});
/// Gives the object a name no real object can hold ("\x01" + GUID), so objects can
/// swap addresses inside one transaction without tripping the address's UNIQUE.
void park_name(SQLite::Database& db, const std::string& guid);
void replace_refs(SQLite::Database& db, const std::string& guid, const std::vector<Ref>& refs);
void replace_attachments(SQLite::Database& db, const std::string& guid, const std::vector<Attachment>& attachments);
/// The rows of an object that has none yet (just inserted).
void insert_refs(SQLite::Database& db, const std::string& guid, const std::vector<Ref>& refs);
void insert_attachments(SQLite::Database& db, const std::string& guid, const std::vector<Attachment>& attachments);
void delete_object(SQLite::Database& db, const std::string& guid);

/// GUIDs of the objects that reference guid (any kind), with the kind.
std::vector<std::pair<std::string, RefKind>> referrers_of(SQLite::Database& db, const std::string& guid);
/// The object and, recursively, everything it `contains`; the object first.
std::vector<std::string> contains_closure(SQLite::Database& db, const std::string& guid);

/// rollback_of: the import whose rollback removed the object it had created (such a
/// tombstone is for exports only); empty for a real deletion.
void put_tombstone(SQLite::Database& db, const Tombstone& tombstone, const std::string& rollback_of = "");
void drop_tombstone(SQLite::Database& db, const std::string& guid);
std::vector<Tombstone> tombstones_after(SQLite::Database& db, int64_t revision);
/// Whether load_tombstone sees the tombstones rollbacks leave (see put_tombstone).
enum class RollbackTombstones { ignored, included };
std::optional<Tombstone> load_tombstone(SQLite::Database& db, const std::string& guid,
                                        RollbackTombstones rollbacks = RollbackTombstones::ignored);

RefKind parse_kind(const std::string& text);

}  // namespace ferry::catalog::detail
