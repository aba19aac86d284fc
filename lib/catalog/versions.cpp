#include "catalog/versions.h"

#include <SQLiteCpp/Statement.h>

#include "catalog/rows.h"
#include "catalog/statements.h"

namespace ferry::catalog::detail {
namespace {

// The JSON written into object_versions.prior: every column, times in microseconds.
// Part of the schema: a rollback by a later ferry must read what this one wrote.

nlohmann::json to_json(const Object& o) {
  nlohmann::json refs = nlohmann::json::array();
  for (const auto& r : o.refs) refs.push_back({{"to_guid", r.to_guid}, {"kind", to_string(r.kind)}});
  nlohmann::json attachments = nlohmann::json::array();
  for (const auto& a : o.attachments) attachments.push_back({{"name", a.name}, {"sha256", a.sha256}, {"size", a.size}});
  return {{"guid", o.guid},
          {"type", o.type},
          {"folder", o.folder},
          {"name", o.name},
          {"owner", o.owner},
          {"created_at", micros_of(o.created_at)},
          {"updated_at", micros_of(o.updated_at)},
          {"revision", o.revision},
          {"spec", o.spec},
          {"refs", std::move(refs)},
          {"attachments", std::move(attachments)}};
}

Object object_from_json(const nlohmann::json& j) {
  Object o;
  o.guid = j.at("guid").get<std::string>();
  o.type = j.at("type").get<std::string>();
  o.folder = j.at("folder").get<std::string>();
  o.name = j.at("name").get<std::string>();
  o.owner = j.at("owner").get<std::string>();
  o.created_at = time_of(j.at("created_at").get<int64_t>());
  o.updated_at = time_of(j.at("updated_at").get<int64_t>());
  o.revision = j.at("revision").get<int64_t>();
  o.spec = j.at("spec");
  for (const auto& r : j.at("refs"))
    o.refs.push_back({r.at("to_guid").get<std::string>(), parse_kind(r.at("kind").get<std::string>())});
  for (const auto& a : j.at("attachments")) {
    o.attachments.push_back(
        {a.at("name").get<std::string>(), a.at("sha256").get<std::string>(), a.at("size").get<uint64_t>()});
  }
  return o;
}

nlohmann::json to_json(const Tombstone& t) {
  return {{"guid", t.guid}, {"type", t.type},         {"folder", t.folder},
          {"name", t.name}, {"revision", t.revision}, {"deleted_at", micros_of(t.deleted_at)}};
}

Tombstone tombstone_from_json(const nlohmann::json& j) {
  return {j.at("guid").get<std::string>(), j.at("type").get<std::string>(), j.at("folder").get<std::string>(),
          j.at("name").get<std::string>(), j.at("revision").get<int64_t>(), time_of(j.at("deleted_at").get<int64_t>())};
}

/// Columns: kVersionColumns.
PriorVersion version_from_row(const SQLite::Statement& q) {
  PriorVersion v;
  v.guid = q.getColumn(0).getString();
  v.seq = q.getColumn(1).getInt64();
  v.import_id = q.getColumn(4).getString();
  v.after_revision = q.getColumn(5).isNull() ? 0 : q.getColumn(5).getInt64();
  bool existed = q.getColumn(2).getInt() != 0;
  if (q.getColumn(3).isNull()) return v;
  auto prior = nlohmann::json::parse(q.getColumn(3).getString());
  if (existed) {
    v.object = object_from_json(prior);
  } else {
    v.tombstone = tombstone_from_json(prior);
  }
  return v;
}

constexpr const char* kVersionColumns =
    "SELECT guid, seq, existed, prior, import_id, after_revision FROM object_versions ";

std::vector<PriorVersion> versions(SQLite::Statement& q) {
  std::vector<PriorVersion> out;
  while (q.executeStep()) out.push_back(version_from_row(q));
  return out;
}

}  // namespace

void save_prior_version(SQLite::Database& db, const std::string& import_id, const std::string& guid,
                        const std::optional<Object>& object, const std::optional<Tombstone>& tombstone,
                        int64_t after_revision) {
  Prepared q(db,
             "INSERT INTO object_versions (import_id, guid, seq, existed, prior, after_revision) "
             "VALUES (?1, ?2, (SELECT coalesce(max(seq), 0) + 1 FROM object_versions WHERE import_id = ?1), "
             "?3, ?4, ?5) "
             "ON CONFLICT (import_id, guid) DO UPDATE SET after_revision = excluded.after_revision");
  q->bind(1, import_id);
  q->bind(2, guid);
  q->bind(3, object ? 1 : 0);
  if (object) {
    q->bind(4, to_json(*object).dump());
  } else if (tombstone) {
    q->bind(4, to_json(*tombstone).dump());
  }  // else NULL: absent and never deleted
  q->bind(5, after_revision);
  q->exec();
}

std::vector<PriorVersion> load_prior_versions(SQLite::Database& db, const std::string& import_id) {
  SQLite::Statement q(db, std::string(kVersionColumns) + "WHERE import_id = ? ORDER BY seq");
  q.bind(1, import_id);
  return versions(q);
}

std::vector<PriorVersion> versions_of_object(SQLite::Database& db, const std::string& guid) {
  SQLite::Statement q(db, std::string(kVersionColumns) +
                              "WHERE guid = ? AND import_id NOT IN (SELECT import_id FROM rollbacks) "
                              "ORDER BY import_id");
  q.bind(1, guid);
  return versions(q);
}

std::optional<int64_t> rolled_back_at_revision(SQLite::Database& db, const std::string& import_id) {
  SQLite::Statement q(db, "SELECT revision FROM rollbacks WHERE import_id = ?");
  q.bind(1, import_id);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getInt64();
}

void record_rollback(SQLite::Database& db, const std::string& import_id, int64_t revision, TimePoint at) {
  SQLite::Statement q(db, "INSERT INTO rollbacks (import_id, revision, rolled_back_at) VALUES (?, ?, ?)");
  q.bind(1, import_id);
  q.bind(2, revision);
  q.bind(3, micros_of(at));
  q.exec();
}

void move_after_revision(SQLite::Database& db, const std::string& guid, int64_t old_revision, int64_t new_revision) {
  SQLite::Statement q(db, "UPDATE object_versions SET after_revision = ? WHERE guid = ? AND after_revision = ?");
  q.bind(1, new_revision);
  q.bind(2, guid);
  q.bind(3, old_revision);
  q.exec();
}

}  // namespace ferry::catalog::detail
