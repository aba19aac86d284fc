// The environment's catalog: typed, GUID-keyed objects with refs, attachments,
// a catalog-wide revision counter and tombstones, in one SQLite file (WAL).
//
// Every method blocks on SQLite or the disk: call it from the worker pool, never
// from the event loop. All methods are thread-safe; writes are serialised and each
// write is one transaction, so the catalog never changes half-way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "address/address.h"
#include "types/types.h"
#include "util/clock.h"
#include "util/error.h"

namespace ferry::catalog {

enum class RefKind { uses, contains };
std::string_view to_string(RefKind kind);

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
  std::vector<Ref> refs;                            ///< in the order given
  std::vector<Attachment> attachments;              ///< sorted by name

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

struct ListFilter {
  std::optional<std::string> type;
  std::optional<std::string> folder;  ///< "/x" exactly, "/x/**" subtree
};

class Catalog {
 public:
  /// Opens or creates the catalog in dir (catalog.db and blobs/), migrating an
  /// older schema and refusing a newer one. The registry must outlive the catalog.
  static Expected<std::unique_ptr<Catalog>> open(const std::filesystem::path& dir,
                                                  const types::TypeRegistry& types, Clock& clock);
  virtual ~Catalog() = default;

  /// Streams fd into the blob store (hashing as it goes) and returns its sha256 and size.
  /// Storing the same bytes twice keeps one copy. `name` is for messages and the result.
  virtual Expected<Attachment> store_blob(int fd, std::string_view name) = 0;
  /// Where the bytes of a stored blob live; read-only for callers.
  virtual std::filesystem::path blob_path(std::string_view sha256) const = 0;

  /// Creates or updates all drafts in one transaction: all or nothing. Unknown type,
  /// dangling reference, name clash (per the type's unique_name), quota and invalid
  /// names are refused naming the object (address and `where`); every problem found
  /// is reported, not only the first. An object whose name, folder, spec, refs and
  /// attachments are unchanged keeps its revision; each changed object gets a new one.
  virtual Expected<ApplyResult> apply(const std::vector<ObjectDraft>& drafts, std::string_view owner) = 0;

  /// nullopt-free lookup by address or GUID; not_found names what was asked.
  virtual Expected<Object> get(std::string_view address_or_guid) const = 0;
  /// Sorted by type, folder, name.
  virtual Expected<std::vector<Object>> list(const ListFilter& filter) const = 0;

  /// Deletes the object and its `contains` subtree, leaving tombstones. Refused
  /// (conflict) while anything outside that subtree references one of them; the
  /// message names every referrer.
  virtual Expected<std::vector<Tombstone>> remove(std::string_view address_or_guid) = 0;

  virtual Expected<std::vector<Tombstone>> tombstones(int64_t after_revision) const = 0;
  /// The current catalog-wide revision (0 for an empty catalog).
  virtual Expected<int64_t> revision() const = 0;
};

/// The schema version this binary writes.
int schema_version();

}  // namespace ferry::catalog
