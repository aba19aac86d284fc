// The environment's catalog: typed, GUID-keyed objects with refs, attachments,
// a catalog-wide revision counter and tombstones, in one SQLite file (WAL).
//
// Every method blocks on SQLite or the disk: call it from the worker pool, never
// from the event loop. All methods are thread-safe: one SQLite connection behind one
// mutex serves reads and writes alike (each read is one short read transaction, each
// write one IMMEDIATE transaction), so the catalog never changes half-way and a
// reader never sees half a write. store_blob takes no lock (temp file + rename).
// A long consistent read (an export) takes a Snapshot: its own read-only connection
// inside one read transaction, which WAL lets run beside writers.
// Other processes may open catalog.db too (busy_timeout makes their writers wait),
// but one process owns the folder: open() deletes leftover temporary blob files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "address/address.h"
#include "catalog/object_table.h"
#include "types/types.h"
#include "util/clock.h"
#include "util/error.h"

namespace ferry::catalog {

enum class RefKind { uses, contains };
std::string_view to_string(RefKind kind);
/// "uses" or "contains"; anything else is invalid_argument.
Expected<RefKind> parse_ref_kind(std::string_view text);

/// A stored reference, by GUID.
struct Ref {
  std::string to_guid;
  RefKind kind = RefKind::uses;
  friend bool operator==(const Ref&, const Ref&) = default;
};

/// A named file of an object; the bytes live once in the blob store by SHA-256.
struct Attachment {
  std::string name;
  std::string sha256;
  uint64_t size = 0;
  friend bool operator==(const Attachment&, const Attachment&) = default;
};

struct Object {
  std::string guid;
  std::string type;
  std::string name;
  std::string folder;
  std::string owner;
  TimePoint created_at;
  TimePoint updated_at;
  int64_t revision = 0;
  nlohmann::json spec = nlohmann::json::object();  ///< includes secret values: never print it raw
  std::vector<Ref> refs;                           ///< in the order given
  std::vector<Attachment> attachments;             ///< sorted by name

  Address address() const { return {type, folder, name}; }
};

/// What remains of a deleted object, so incremental exports can carry deletions.
struct Tombstone {
  std::string guid;
  std::string type;
  std::string folder;
  std::string name;
  int64_t revision = 0;
  TimePoint deleted_at;

  Address address() const { return {type, folder, name}; }
};

/// A reference as written in an object file: `to` is an address or a GUID, and may
/// name an object that appears later in the same apply.
struct RefDraft {
  std::string to;
  RefKind kind = RefKind::uses;
  std::string where;  ///< "file:line:col" for messages, may be empty
};

/// One object to create or update. Matched by guid when given, else by address.
struct ObjectDraft {
  std::optional<std::string> guid;
  std::string type;
  std::string name;
  std::string folder = "/";
  nlohmann::json spec = nlohmann::json::object();
  /// deploy() only: spec.dump(), when the caller has made it already (an import's
  /// worker threads do): written as is. With it, spec may be null: the catalog parses
  /// the text only to compare it with an object it already holds. Shared, not copied:
  /// an import's plan holds the same text.
  std::shared_ptr<const std::string> spec_text;
  std::vector<RefDraft> refs;
  std::vector<Attachment> attachments;  ///< bytes already in the blob store (store_blob)
  std::string where;                    ///< "file:line:col" of the object, may be empty
};

enum class ApplyAction { created, updated, unchanged };
std::string_view to_string(ApplyAction action);

struct ApplyItem {
  std::string guid;
  std::string address;
  ApplyAction action = ApplyAction::unchanged;
  int64_t revision = 0;  ///< the object's revision after the apply
};

struct ApplyResult {
  std::vector<ApplyItem> items;  ///< in the order of the drafts
  int64_t revision = 0;          ///< catalog revision after the apply
};

/// One step of an import's deploy (Catalog::deploy).
struct DeployStep {
  enum class Kind { upsert, remove };
  Kind kind = Kind::upsert;
  ObjectDraft draft;  ///< upsert: the object; draft.guid is required (the importer chose it)
  std::string guid;   ///< remove: the object to delete

  static DeployStep upsert(ObjectDraft draft) { return {Kind::upsert, std::move(draft), {}}; }
  static DeployStep remove(std::string guid) { return {Kind::remove, {}, std::move(guid)}; }
};

struct DeployOptions {
  std::string import_id;  ///< required: prior versions are kept under it, for rollback
  std::string owner;      ///< owner of the objects the deploy creates
};

enum class DeployAction { created, updated, unchanged, deleted };
std::string_view to_string(DeployAction action);

struct DeployItem {
  std::string guid;
  std::string address;  ///< after the step; for a deleted object, the address it had
  DeployAction action = DeployAction::unchanged;
  int64_t revision = 0;  ///< the object's revision after the step; deleted: its tombstone's
};

/// The state of one object before an import first changed it, so that the import can
/// be rolled back: the whole object, or its absence (with its tombstone, if it had one).
struct PriorVersion {
  std::string import_id;
  std::string guid;
  int64_t seq = 0;                     ///< 1, 2, 3... in the order the import touched objects
  std::optional<Object> object;        ///< every column, refs and attachments; nullopt: absent
  std::optional<Tombstone> tombstone;  ///< when absent: the tombstone it had then, if any
  /// The revision the import left the object (or its tombstone) at; 0 when unknown
  /// (recorded by a ferry before catalog schema 3). A rollback rewrites it when it
  /// brings back exactly the state this import left, under a new revision.
  int64_t after_revision = 0;

  /// The revision of the prior state: the object's, else the tombstone's, else 0.
  int64_t prior_revision() const { return object ? object->revision : tombstone ? tombstone->revision : 0; }
};

/// What a rollback did to one object the import had changed.
enum class RollbackAction {
  restored,   ///< the import updated it: its prior version is back
  recreated,  ///< the import deleted it: it is back (its tombstone is gone)
  removed,    ///< the import created it: it is gone again
};
std::string_view to_string(RollbackAction action);

struct RollbackItem {
  std::string guid;
  std::string address;  ///< after the rollback; removed: the address it had
  RollbackAction action = RollbackAction::restored;
  int64_t revision = 0;  ///< the object's new revision; removed: its tombstone's
};

struct RollbackResult {
  std::vector<RollbackItem> items;  ///< in the order the import touched the objects
  int64_t revision = 0;             ///< the catalog revision after the rollback
};

struct ListFilter {
  std::optional<std::string> type;
  std::optional<std::string> folder;  ///< "/x" exactly, "/x/**" subtree
};

/// A consistent, read-only view of the catalog as of one moment, for an export: its
/// own read-only connection to catalog.db inside one read transaction, so every read
/// sees the state of snapshot() time while the catalog goes on being written (WAL).
/// While it lives SQLite cannot checkpoint past it and catalog.db-wal grows with the
/// writes made meanwhile: drop it as soon as the export has read what it needs.
/// Thread: not thread-safe; one worker thread at a time. May outlive its Catalog.
class Snapshot {
 public:
  virtual ~Snapshot() = default;

  /// The catalog-wide revision the snapshot sees.
  virtual int64_t revision() const = 0;
  /// Every object with its refs and attachments but WITHOUT its spec (an empty
  /// object); read specs one by one with spec(). Sorted by type, folder, name. At
  /// 100k objects this is ~50 MB: exports use object_table().
  virtual Expected<std::vector<Object>> objects() const = 0;
  /// The same objects packed as an ObjectTable (sealed; rows in the same order), as
  /// an export plans from: tens of bytes an object where objects() takes hundreds.
  virtual Expected<ObjectTable> object_table() const = 0;
  /// The spec of one object (secrets included) as of the snapshot; not_found when it
  /// did not exist then, invalid_argument when guid is not a GUID.
  virtual Expected<nlohmann::json> spec(std::string_view guid) const = 0;
  /// Catalog::tombstones() as of the snapshot.
  virtual Expected<std::vector<Tombstone>> tombstones(int64_t after_revision) const = 0;
};

class Catalog {
 public:
  /// Opens or creates the catalog in dir (catalog.db and blobs/), migrating an
  /// older schema and refusing a newer one (lib/sqlitedb), and deletes the temporary
  /// blob files a crash left in blobs/. The registry must outlive the catalog.
  static Expected<std::unique_ptr<Catalog>> open(const std::filesystem::path& dir, const types::TypeRegistry& types,
                                                 Clock& clock);
  virtual ~Catalog() = default;

  /// Streams fd into the blob store (hashing as it goes) and returns its sha256 and size.
  /// Storing the same bytes twice keeps one copy. `name` is for messages and the result.
  /// Takes no lock: several threads may store blobs at once.
  virtual Expected<Attachment> store_blob(int fd, std::string_view name) = 0;
  /// Where the bytes of a stored blob live; read-only for callers.
  virtual std::filesystem::path blob_path(std::string_view sha256) const = 0;

  /// Creates or updates all drafts in one transaction: all or nothing. Unknown type,
  /// dangling reference, name clash (per the type's unique_name), quota and invalid
  /// names are refused naming the object (address and `where`); every problem found
  /// is reported, not only the first. An object whose name, folder, spec, refs and
  /// attachments are unchanged keeps its revision; each changed object gets a new one.
  /// Problems come one per line, "WHERE: ADDRESS: what", WHERE being the ref's
  /// `where` for reference problems (else the draft's), omitted when empty. The code
  /// is invalid_argument if any problem is bad input (unknown type, bad name, folder,
  /// GUID, reference syntax, attachment), else conflict (clash, duplicate, quota,
  /// dangling or self reference, type change). A guid-matched draft whose GUID was
  /// deleted re-creates the object and drops its tombstone.
  virtual Expected<ApplyResult> apply(const std::vector<ObjectDraft>& drafts, std::string_view owner) = 0;

  /// An import's deploy: every step in the given order, in one IMMEDIATE transaction,
  /// all or nothing (the importer passes everything for an atomic import, or one
  /// object per call for a non-atomic one).
  ///
  /// An upsert is matched by its GUID only (required), creating or updating the
  /// object; it is validated like apply() (type, names, clashes, dangling refs,
  /// quotas; refs by GUID or address, to the catalog or to any upsert of the deploy)
  /// and detected unchanged the same way. A remove deletes that one object, with no
  /// `contains` cascade (the package lists every deleted GUID), leaving a tombstone;
  /// it is refused while an object the deploy keeps still references it, naming the
  /// referrers. Objects a deploy removes free their addresses and count no more
  /// against quotas. Every problem is reported, one per line, as apply() does.
  ///
  /// Before a step changes an object, the object's prior version (or its absence) is
  /// stored under options.import_id (see prior_versions), with the revision the step
  /// leaves it at (for rollback's checks); unchanged objects store nothing and keep
  /// their revisions. Items come in the order of the steps.
  /// Takes the steps by value: their specs are moved into the objects written.
  virtual Expected<std::vector<DeployItem>> deploy(std::vector<DeployStep> steps, const DeployOptions& options) = 0;

  /// What deploys under import_id stored, in the order they touched objects: one
  /// entry per GUID, the state before the import first changed it. Empty for an
  /// unknown import_id.
  virtual Expected<std::vector<PriorVersion>> prior_versions(std::string_view import_id) const = 0;

  /// Undoes everything the deploys under import_id changed, in one IMMEDIATE
  /// transaction: each object it updated gets back its prior spec, refs,
  /// attachments, name, folder, owner and created_at (under a new revision, updated
  /// now); each object it deleted comes back and its tombstone goes; each object it
  /// created is removed, leaving a tombstone marked as this rollback's (incremental
  /// exports carry the removal, but tombstone() ignores it: the object was never
  /// deleted here, so importing the same package again creates it again) or, when
  /// the import had re-created a deleted object, that object's earlier tombstone
  /// (under a new revision).
  ///
  /// Refused with conflict, changing nothing, when: the import was rolled back
  /// already; a later import (not rolled back) changed one of its objects (naming
  /// that import and the objects; roll it back first); anything else changed one of
  /// them since (an `object apply` or `object delete`: naming the object and the
  /// revisions); or the prior state cannot be restored (its address is taken, a
  /// reference target is gone, a quota, an object to remove is referenced by one
  /// the rollback keeps; every problem one per line, as apply() reports them). An
  /// import_id with no prior versions rolls back nothing (an empty result) and is
  /// then recorded as rolled back too.
  virtual Expected<RollbackResult> rollback(std::string_view import_id) = 0;

  /// nullopt-free lookup by address or GUID; not_found names what was asked.
  virtual Expected<Object> get(std::string_view address_or_guid) const = 0;
  /// Lookup by address or GUID: nullopt when absent; invalid_argument when the text is neither.
  virtual Expected<std::optional<Object>> find(std::string_view address_or_guid) const = 0;
  /// Sorted by type, folder, name.
  virtual Expected<std::vector<Object>> list(const ListFilter& filter) const = 0;

  /// Deletes the object and its `contains` subtree, leaving tombstones. Refused
  /// (conflict) while anything outside that subtree references one of them; the
  /// message names every referrer. Tombstones are returned in deletion order (the
  /// object first, then what it contains, nearest first), each with its own revision.
  virtual Expected<std::vector<Tombstone>> remove(std::string_view address_or_guid) = 0;

  /// Deletions with revision > after_revision, in revision order. One per GUID: the
  /// latest deletion; re-creating a GUID removes its tombstone.
  virtual Expected<std::vector<Tombstone>> tombstones(int64_t after_revision) const = 0;
  /// The tombstone of a deleted GUID; nullopt when the GUID was never deleted (or was
  /// re-created since, or its only tombstone is the one a rollback left when it
  /// removed the object its import had created). invalid_argument when guid is not a GUID.
  virtual Expected<std::optional<Tombstone>> tombstone(std::string_view guid) const = 0;
  /// The objects that reference guid (by `uses` or `contains`), each once, sorted by
  /// type, folder, name. invalid_argument when guid is not a GUID.
  virtual Expected<std::vector<Object>> referrers(std::string_view guid) const = 0;
  /// The current catalog-wide revision (0 for an empty catalog).
  virtual Expected<int64_t> revision() const = 0;

  /// Runs f, whose reads of this catalog on this thread (find, tombstone, list, ...)
  /// then share one read transaction and one hold of the catalog's lock instead of
  /// taking one each: for a caller making many small reads, such as an import's plan
  /// (a few hundred objects at a time). Reads and writes of other threads wait until
  /// f returns. f must not write (a write from inside is refused, as is nesting).
  virtual Status reading(const std::function<Status()>& f) const = 0;

  /// A consistent read-only view as of now (see Snapshot). Takes no lock on this
  /// catalog: the snapshot opens its own connection.
  virtual Expected<std::unique_ptr<Snapshot>> snapshot() const = 0;
};

/// The schema version this binary writes (PRAGMA user_version of catalog.db).
int schema_version();

}  // namespace ferry::catalog
