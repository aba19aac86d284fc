#include "catalog/schema.h"

#include "catalog/catalog.h"

namespace ferry::catalog {
namespace {

using sqlitedb::Migration;

// Append-only: a released migration is never edited, a change is a new entry.
// Times are microseconds since the Unix epoch (UTC); specs are JSON text.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE catalog_state (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  revision INTEGER NOT NULL            -- catalog-wide change counter, last one handed out
);
INSERT INTO catalog_state (id, revision) VALUES (1, 0);

CREATE TABLE objects (
  guid       TEXT PRIMARY KEY,
  type       TEXT NOT NULL,
  folder     TEXT NOT NULL,
  name       TEXT NOT NULL,
  owner      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  revision   INTEGER NOT NULL UNIQUE,  -- export: objects changed after revision N
  spec       TEXT NOT NULL,
  UNIQUE (type, folder, name)          -- the address
);
CREATE INDEX objects_by_type_name ON objects (type, name);  -- unique_name: type

CREATE TABLE refs (
  from_guid TEXT NOT NULL REFERENCES objects (guid) ON DELETE CASCADE,
  position  INTEGER NOT NULL,
  to_guid   TEXT NOT NULL REFERENCES objects (guid) DEFERRABLE INITIALLY DEFERRED,
  kind      TEXT NOT NULL CHECK (kind IN ('uses', 'contains')),
  PRIMARY KEY (from_guid, position)
);
CREATE INDEX refs_by_target ON refs (to_guid);

CREATE TABLE attachments (
  guid   TEXT NOT NULL REFERENCES objects (guid) ON DELETE CASCADE,
  name   TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size   INTEGER NOT NULL,
  PRIMARY KEY (guid, name)
);
CREATE INDEX attachments_by_blob ON attachments (sha256);

CREATE TABLE tombstones (
  guid       TEXT PRIMARY KEY,         -- the latest deletion of that GUID
  type       TEXT NOT NULL,
  folder     TEXT NOT NULL,
  name       TEXT NOT NULL,
  revision   INTEGER NOT NULL UNIQUE,  -- export: deletions after revision N
  deleted_at INTEGER NOT NULL
);
)sql"},
    {2, R"sql(
-- What each import's deploys changed, so the import can be rolled back: per GUID the
-- state before the import first touched it. `prior` is JSON: the whole object
-- (existed = 1: every column, refs, attachments), else the tombstone the GUID had
-- then, else NULL (the import created it).
CREATE TABLE object_versions (
  import_id TEXT NOT NULL,
  guid      TEXT NOT NULL,
  seq       INTEGER NOT NULL,          -- 1, 2, 3... in the order the import touched objects
  existed   INTEGER NOT NULL CHECK (existed IN (0, 1)),
  prior     TEXT,
  PRIMARY KEY (import_id, guid),
  UNIQUE (import_id, seq)
);
)sql"},
    {3, R"sql(
-- Rollback (Catalog::rollback). after_revision: the revision the import left the object
-- (or its tombstone) at, to tell whether anything changed it since; NULL for rows
-- written before schema 3 (such imports cannot be rolled back safely).
ALTER TABLE object_versions ADD COLUMN after_revision INTEGER;
-- One row per rolled-back import: its versions no longer count as later changes, and
-- it cannot be rolled back twice.
CREATE TABLE rollbacks (
  import_id      TEXT PRIMARY KEY,
  revision       INTEGER NOT NULL,       -- the catalog revision after the rollback
  rolled_back_at INTEGER NOT NULL
);
-- Set on the tombstone a rollback leaves for an object the import had created: it
-- tells incremental exports the object is gone, but the object was never deleted
-- here (Catalog::tombstone ignores it, so a re-import creates it again).
ALTER TABLE tombstones ADD COLUMN rollback_of TEXT;
)sql"},
};

}  // namespace

int schema_version() { return sqlitedb::latest_version(kMigrations); }

std::span<const sqlitedb::Migration> detail::migrations() { return kMigrations; }

}  // namespace ferry::catalog
