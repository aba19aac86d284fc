#include "catalog/rows.h"

#include <SQLiteCpp/Statement.h>

#include "catalog/statements.h"

namespace ferry::catalog::detail {
namespace {

constexpr const char* kObjectColumns =
    "SELECT guid, type, folder, name, owner, created_at, updated_at, revision, spec FROM objects ";
/// The same columns with a NULL spec, which object_from_row leaves an empty object.
constexpr const char* kObjectColumnsWithoutSpec =
    "SELECT guid, type, folder, name, owner, created_at, updated_at, revision, NULL FROM objects ";

Object object_from_row(const SQLite::Statement& q) {
  Object o;
  o.guid = q.getColumn(0).getString();
  o.type = q.getColumn(1).getString();
  o.folder = q.getColumn(2).getString();
  o.name = q.getColumn(3).getString();
  o.owner = q.getColumn(4).getString();
  o.created_at = time_of(q.getColumn(5).getInt64());
  o.updated_at = time_of(q.getColumn(6).getInt64());
  o.revision = q.getColumn(7).getInt64();
  if (!q.getColumn(8).isNull()) o.spec = nlohmann::json::parse(q.getColumn(8).getString());
  return o;
}

constexpr const char* kTombstoneColumns = "SELECT guid, type, folder, name, revision, deleted_at FROM tombstones ";

Tombstone tombstone_from_row(const SQLite::Statement& q) {
  return {q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
          q.getColumn(3).getString(), q.getColumn(4).getInt64(),  time_of(q.getColumn(5).getInt64())};
}

/// Taken once per read, reused for every object it loads.
struct DetailQueries {
  explicit DetailQueries(SQLite::Database& db)
      : refs(db, "SELECT to_guid, kind FROM refs WHERE from_guid = ? ORDER BY position"),
        attachments(db, "SELECT name, sha256, size FROM attachments WHERE guid = ? ORDER BY name") {}

  void fill(Object& o) {
    refs->reset();
    refs->bind(1, o.guid);
    while (refs->executeStep())
      o.refs.push_back({refs->getColumn(0).getString(), parse_kind(refs->getColumn(1).getString())});
    attachments->reset();
    attachments->bind(1, o.guid);
    while (attachments->executeStep()) {
      o.attachments.push_back({attachments->getColumn(0).getString(), attachments->getColumn(1).getString(),
                               static_cast<uint64_t>(attachments->getColumn(2).getInt64())});
    }
  }

  Prepared refs;
  Prepared attachments;
};

std::vector<std::string> strings(SQLite::Statement& q) {
  std::vector<std::string> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getString());
  return out;
}

}  // namespace

TimePoint time_of(int64_t micros) { return TimePoint(std::chrono::microseconds(micros)); }
int64_t micros_of(TimePoint t) { return t.time_since_epoch().count(); }

RefKind parse_kind(const std::string& text) { return text == "contains" ? RefKind::contains : RefKind::uses; }

std::optional<Object> load_object(SQLite::Database& db, const std::string& guid) {
  Prepared q(db, std::string(kObjectColumns) + "WHERE guid = ?");
  q->bind(1, guid);
  if (!q->executeStep()) return std::nullopt;
  Object o = object_from_row(*q);
  DetailQueries(db).fill(o);
  return o;
}

std::optional<nlohmann::json> load_spec(SQLite::Database& db, const std::string& guid) {
  Prepared q(db, "SELECT spec FROM objects WHERE guid = ?");
  q->bind(1, guid);
  if (!q->executeStep()) return std::nullopt;
  return nlohmann::json::parse(q->getColumn(0).getString());
}

bool has_object(SQLite::Database& db, const std::string& guid) {
  Prepared q(db, "SELECT 1 FROM objects WHERE guid = ?");
  q->bind(1, guid);
  return q->executeStep();
}

std::optional<std::string> guid_at(SQLite::Database& db, const Address& address) {
  Prepared q(db, "SELECT guid FROM objects WHERE type = ? AND folder = ? AND name = ?");
  q->bind(1, address.type);
  q->bind(2, address.folder);
  q->bind(3, address.name);
  if (!q->executeStep()) return std::nullopt;
  return q->getColumn(0).getString();
}

std::vector<std::string> guids_named(SQLite::Database& db, const std::string& type, const std::string& name) {
  Prepared q(db, "SELECT guid FROM objects WHERE type = ? AND name = ? ORDER BY folder");
  q->bind(1, type);
  q->bind(2, name);
  return strings(*q);
}

int64_t count_of_type(SQLite::Database& db, const std::string& type) {
  Prepared q(db, "SELECT count(*) FROM objects WHERE type = ?");
  q->bind(1, type);
  q->executeStep();
  return q->getColumn(0).getInt64();
}

namespace {

// "/x/**" is folder = '/x' or a folder starting with '/x/'; substr avoids LIKE's wildcards.
constexpr const char* kListFilter =
    "WHERE (?1 IS NULL OR type = ?1) AND (?2 IS NULL OR folder = ?2) "
    "AND (?3 IS NULL OR folder = ?3 OR substr(folder, 1, length(?3) + 1) = ?3 || '/' "
    "     OR ?3 = '/') ";

void bind_filter(SQLite::Statement& q, const ListFilter& filter) {
  if (filter.type) q.bind(1, *filter.type);
  if (filter.folder && filter.folder->ends_with("/**")) {
    std::string base = filter.folder->substr(0, filter.folder->size() - 3);
    q.bind(3, base.empty() ? std::string("/") : base);
  } else if (filter.folder) {
    q.bind(2, *filter.folder);
  }
}

}  // namespace

std::vector<Object> list_objects(SQLite::Database& db, const ListFilter& filter, WithSpec with_spec) {
  // Sized up front: growing a vector of 100k Objects by doubling briefly holds 1.5
  // times the final vector (tens of MB).
  Prepared count(db, std::string("SELECT count(*) FROM objects ") + kListFilter);
  bind_filter(*count, filter);
  std::vector<Object> out;
  if (count->executeStep()) out.reserve(static_cast<size_t>(count->getColumn(0).getInt64()));
  visit_objects(db, filter, with_spec, [&](Object&& o) { out.push_back(std::move(o)); });
  return out;
}

void visit_objects(SQLite::Database& db, const ListFilter& filter, WithSpec with_spec,
                   const std::function<void(Object&&)>& visit) {
  Prepared q(db, std::string(with_spec == WithSpec::yes ? kObjectColumns : kObjectColumnsWithoutSpec) + kListFilter +
                     "ORDER BY type, folder, name");
  bind_filter(*q, filter);
  DetailQueries details(db);
  while (q->executeStep()) {
    Object o = object_from_row(*q);
    details.fill(o);
    visit(std::move(o));
  }
}

int64_t current_revision(SQLite::Database& db) {
  Prepared q(db, "SELECT revision FROM catalog_state WHERE id = 1");
  q->executeStep();
  return q->getColumn(0).getInt64();
}

int64_t RevisionCounter::current() {
  if (!stored_) value_ = *(stored_ = current_revision(db_));
  return value_;
}

int64_t RevisionCounter::next() {
  current();  // reads it the first time
  return ++value_;
}

void RevisionCounter::store() {
  if (!stored_ || *stored_ == value_) return;
  Prepared q(db_, "UPDATE catalog_state SET revision = ? WHERE id = 1");
  q->bind(1, value_);
  q->exec();
  stored_ = value_;
}

void insert_object(SQLite::Database& db, const Object& o, const std::string& spec_text) {
  Prepared q(db,
             "INSERT INTO objects (guid, type, folder, name, owner, created_at, updated_at, revision, spec) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  q->bind(1, o.guid);
  q->bind(2, o.type);
  q->bind(3, o.folder);
  q->bind(4, o.name);
  q->bind(5, o.owner);
  q->bind(6, micros_of(o.created_at));
  q->bind(7, micros_of(o.updated_at));
  q->bind(8, o.revision);
  if (spec_text.empty())
    q->bind(9, o.spec.dump());
  else
    q->bindNoCopy(9, spec_text);  // outlives the statement's execution
  q->exec();
}

void update_object(SQLite::Database& db, const Object& o, const std::string& spec_text) {
  Prepared q(db,
             "UPDATE objects SET folder = ?, name = ?, updated_at = ?, revision = ?, spec = ? "
             "WHERE guid = ?");
  q->bind(1, o.folder);
  q->bind(2, o.name);
  q->bind(3, micros_of(o.updated_at));
  q->bind(4, o.revision);
  if (spec_text.empty())
    q->bind(5, o.spec.dump());
  else
    q->bindNoCopy(5, spec_text);  // outlives the statement's execution
  q->bind(6, o.guid);
  q->exec();
}

void park_name(SQLite::Database& db, const std::string& guid) {
  Prepared q(db, "UPDATE objects SET name = char(1) || guid WHERE guid = ?");
  q->bind(1, guid);
  q->exec();
}

void insert_refs(SQLite::Database& db, const std::string& guid, const std::vector<Ref>& refs) {
  Prepared ins(db, "INSERT INTO refs (from_guid, position, to_guid, kind) VALUES (?, ?, ?, ?)");
  for (size_t i = 0; i < refs.size(); ++i) {
    ins->reset();
    ins->bind(1, guid);
    ins->bind(2, static_cast<int64_t>(i));
    ins->bind(3, refs[i].to_guid);
    ins->bind(4, std::string(to_string(refs[i].kind)));
    ins->exec();
  }
}

void replace_refs(SQLite::Database& db, const std::string& guid, const std::vector<Ref>& refs) {
  Prepared del(db, "DELETE FROM refs WHERE from_guid = ?");
  del->bind(1, guid);
  del->exec();
  insert_refs(db, guid, refs);
}

void insert_attachments(SQLite::Database& db, const std::string& guid, const std::vector<Attachment>& attachments) {
  Prepared ins(db, "INSERT INTO attachments (guid, name, sha256, size) VALUES (?, ?, ?, ?)");
  for (const auto& a : attachments) {
    ins->reset();
    ins->bind(1, guid);
    ins->bind(2, a.name);
    ins->bind(3, a.sha256);
    ins->bind(4, static_cast<int64_t>(a.size));
    ins->exec();
  }
}

void replace_attachments(SQLite::Database& db, const std::string& guid, const std::vector<Attachment>& attachments) {
  Prepared del(db, "DELETE FROM attachments WHERE guid = ?");
  del->bind(1, guid);
  del->exec();
  insert_attachments(db, guid, attachments);
}

void delete_object(SQLite::Database& db, const std::string& guid) {
  Prepared q(db, "DELETE FROM objects WHERE guid = ?");  // refs and attachments cascade
  q->bind(1, guid);
  q->exec();
}

std::vector<std::pair<std::string, RefKind>> referrers_of(SQLite::Database& db, const std::string& guid) {
  Prepared q(db, "SELECT DISTINCT from_guid, kind FROM refs WHERE to_guid = ? ORDER BY from_guid, kind");
  q->bind(1, guid);
  std::vector<std::pair<std::string, RefKind>> out;
  while (q->executeStep()) out.emplace_back(q->getColumn(0).getString(), parse_kind(q->getColumn(1).getString()));
  return out;
}

std::vector<std::string> contains_closure(SQLite::Database& db, const std::string& guid) {
  // UNION (not UNION ALL) stops on a contains cycle.
  Prepared q(db,
             "WITH RECURSIVE sub(guid, depth) AS (SELECT ?1, 0 UNION "
             "  SELECT r.to_guid, sub.depth + 1 FROM refs r JOIN sub ON r.from_guid = sub.guid "
             "  WHERE r.kind = 'contains') "
             "SELECT sub.guid FROM sub JOIN objects o ON o.guid = sub.guid "
             "GROUP BY sub.guid ORDER BY min(sub.depth), o.type, o.folder, o.name");
  q->bind(1, guid);
  return strings(*q);
}

void put_tombstone(SQLite::Database& db, const Tombstone& t, const std::string& rollback_of) {
  Prepared q(db,
             "INSERT OR REPLACE INTO tombstones (guid, type, folder, name, revision, deleted_at, rollback_of) "
             "VALUES (?, ?, ?, ?, ?, ?, ?)");
  q->bind(1, t.guid);
  q->bind(2, t.type);
  q->bind(3, t.folder);
  q->bind(4, t.name);
  q->bind(5, t.revision);
  q->bind(6, micros_of(t.deleted_at));
  if (!rollback_of.empty()) q->bind(7, rollback_of);
  q->exec();
}

void drop_tombstone(SQLite::Database& db, const std::string& guid) {
  Prepared q(db, "DELETE FROM tombstones WHERE guid = ?");
  q->bind(1, guid);
  q->exec();
}

std::vector<Tombstone> tombstones_after(SQLite::Database& db, int64_t revision) {
  Prepared q(db, std::string(kTombstoneColumns) + "WHERE revision > ? ORDER BY revision");
  q->bind(1, revision);
  std::vector<Tombstone> out;
  while (q->executeStep()) out.push_back(tombstone_from_row(*q));
  return out;
}

std::optional<Tombstone> load_tombstone(SQLite::Database& db, const std::string& guid, RollbackTombstones rollbacks) {
  Prepared q(db, std::string(kTombstoneColumns) + "WHERE guid = ?" +
                     (rollbacks == RollbackTombstones::ignored ? " AND rollback_of IS NULL" : ""));
  q->bind(1, guid);
  if (!q->executeStep()) return std::nullopt;
  return tombstone_from_row(*q);
}

}  // namespace ferry::catalog::detail
