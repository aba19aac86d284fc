// Deployment packages: the signed zip format of PRODUCT.md section 4, specified
// byte-for-byte in docs/package-format.md.
//
//   PackageWriter   writes one package file (exporter side).
//   open_package()  verifies a package completely and returns a VerifiedPackage
//                   (importer side); nothing in a package is usable before that.
//
// Threads: everything here blocks on the disk and hashing; call it from the worker
// pool, never from the event loop. A PackageWriter or VerifiedPackage is used by one
// thread at a time (libzip handles are not thread-safe); different objects are
// independent.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "signing/signing.h"
#include "util/clock.h"
#include "util/error.h"

namespace ferry::package {

/// The format this ferry writes, and the newest it reads.
inline constexpr std::string_view kFormat = "ferry-package/1";
inline constexpr int kFormatVersion = 1;

inline constexpr std::string_view kManifestEntry = "manifest.json";
inline constexpr std::string_view kSignatureEntry = "signature.ed25519";

enum class RefKind { uses, contains };
std::string_view to_string(RefKind kind);

struct Ref {
  std::string guid;
  RefKind kind = RefKind::uses;
  /// The target's address in the source environment ("" when unknown), so the
  /// destination can name an input it cannot match even when the package does not
  /// carry it.
  std::string address;
  friend bool operator==(const Ref&, const Ref&) = default;
};

struct AttachmentRef {
  std::string name;
  std::string sha256;
  uint64_t size = 0;
  friend bool operator==(const AttachmentRef&, const AttachmentRef&) = default;
};

struct ObjectEntry {
  std::string guid;
  std::string type;
  std::string name;
  std::string folder;
  int64_t revision = 0;
  std::vector<Ref> refs;
  std::string sha256;  ///< of the objects/<guid>.json entry; PackageWriter::finish fills it
  std::vector<AttachmentRef> attachments;
  friend bool operator==(const ObjectEntry&, const ObjectEntry&) = default;
};

struct Tombstone {
  std::string guid;
  std::string type;
  std::string folder;
  std::string name;
  int64_t revision = 0;
  friend bool operator==(const Tombstone&, const Tombstone&) = default;
};

struct RequiredSecret {
  std::string guid;
  std::string pointer;  ///< JSON pointer into the object's spec
  friend bool operator==(const RequiredSecret&, const RequiredSecret&) = default;
};

struct Source {
  std::string environment;
  std::string engine;
  std::string ferry_version;
  friend bool operator==(const Source&, const Source&) = default;
};

struct EntryDigest {
  std::string sha256;
  uint64_t size = 0;
  friend bool operator==(const EntryDigest&, const EntryDigest&) = default;
};

struct RevisionRange {
  int64_t from = 0;  ///< exclusive: the baseline's revision
  int64_t to = 0;    ///< inclusive: the catalog revision this package brings
  friend bool operator==(const RevisionRange&, const RevisionRange&) = default;
};

struct Manifest {
  std::string format = std::string(kFormat);
  std::string package_id;
  std::string name;
  std::string description;
  TimePoint created_at;
  Source source;
  nlohmann::json export_settings = nlohmann::json::object();  ///< JSON key "export"
  std::vector<ObjectEntry> objects;
  std::vector<Tombstone> deleted;
  std::vector<RequiredSecret> required_secrets;
  std::vector<std::string> order;              ///< guids in deployment order
  std::string key_id;                          ///< PackageWriter::finish fills it; empty when unsigned
  std::map<std::string, EntryDigest> entries;  ///< every entry but manifest and signature
  std::optional<RevisionRange> revisions;      ///< incremental exports only
  std::optional<std::string> previous_package_id;
  friend bool operator==(const Manifest&, const Manifest&) = default;
};

nlohmann::json to_json(const Manifest& manifest);
/// Strict: a missing, mistyped or malformed field is corrupt, naming the field
/// ("objects[3].refs[0].kind: expected \"uses\" or \"contains\""). Unknown keys are
/// allowed so a same-version writer may add optional fields.
Expected<Manifest> manifest_from_json(const nlohmann::json& json);

/// "objects/<guid>.json" and "attachments/<sha256>".
std::string object_entry_name(std::string_view guid);
std::string attachment_entry_name(std::string_view sha256);

// ---------------------------------------------------------------------------------
// Writing

struct WriterOptions {
  /// Checked between entries and blocks; once stop is requested the writer's next
  /// call fails with Errc::cancelled, and the partial file is removed.
  std::stop_token stop;
  /// Called with the bytes of entry content written so far and the bytes of entry
  /// content added so far (both grow while objects are added); from the thread that
  /// calls add_object, add_attachment and finish().
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct WriteResult {
  uint64_t bytes = 0;    ///< size of the package file
  uint64_t entries = 0;  ///< zip entries written, manifest and signature included
  std::string sha256;    ///< of the package file, hashed while it was written
};

/// Writes one package to a path chosen by the caller (normally a dot-named
/// ".NAME.zip.partial" that the caller renames once finish() succeeded). The file is
/// created exclusively at that path and written in place, front to back, as entries
/// are added: no other file name is ever used. If any call fails or the writer is
/// destroyed without finish() succeeding, the file is removed.
///
/// Nothing grows with the package in memory: object JSON and attachments go into
/// the zip as they are added (deflated in blocks by a few worker threads, stored
/// when a probe shows deflate would not help; see docs/package-format.md), and the
/// manifest's lists and the zip's central directory wait in unnamed temporary files
/// (O_TMPFILE beside the package, else memfd) until finish() writes them. The
/// manifest is signed from that file, streaming.
///
/// Objects come in one of two ways, not mixed in one package:
///  - add_object(entry, json): streamed. The object's manifest record is written as
///    it is added, and `order` is the order of these calls; finish()'s manifest
///    then has empty `objects` and `order`. What exports use.
///  - add_object(guid, json): the records come with finish()'s manifest (objects and
///    order), for small packages and tests.
class PackageWriter {
 public:
  static Expected<PackageWriter> create(const std::filesystem::path& path, WriterOptions options = {});
  PackageWriter(PackageWriter&&) noexcept;
  PackageWriter& operator=(PackageWriter&&) noexcept;
  ~PackageWriter();

  /// Adds objects/<guid>.json with json_text as its exact bytes; entry.sha256 is
  /// filled by the writer. The object comes next in the manifest's `objects` and
  /// `order`. A guid may be added once.
  Status add_object(ObjectEntry entry, std::string json_text);
  /// Adds objects/<guid>.json; its record comes with finish()'s manifest.
  Status add_object(std::string_view guid, std::string json_text);
  /// Adds attachments/<sha256> for file, once per distinct content, copying it now.
  /// With expected sha256 given and already added, the file is not read again;
  /// given and new, the file is hashed while it is copied and a different hash
  /// fails the package (corrupt: it changed under the export); not given, the file
  /// is hashed first (its name needs the hash) and then copied.
  Expected<EntryDigest> add_attachment(const std::filesystem::path& file,
                                       std::optional<std::string_view> expected_sha256 = std::nullopt);

  /// Fills entries, object hashes and key_id from what was actually written, writes
  /// manifest.json and signature.ed25519, the central directory, and fsyncs. With
  /// objects added the second way, every object in the manifest must have been
  /// added and vice versa, and the manifest as written is returned through
  /// `written` when not null (streamed packages: not filled, it would hold every
  /// object).
  Expected<WriteResult> finish(Manifest manifest, const signing::SecretKey& key, Manifest* written = nullptr);

 private:
  struct Rep;
  explicit PackageWriter(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

// ---------------------------------------------------------------------------------
// Reading

struct Limits {
  uint64_t max_entries = 200000;                     ///< zip entries per package
  uint64_t max_expanded_bytes = uint64_t{64} << 30;  ///< 64 GiB, sum of uncompressed sizes
  uint64_t max_ratio = 200;                          ///< uncompressed/compressed per entry, for entries over 1 MiB
};

enum class UnsignedPolicy { refuse, allow };

struct ReadOptions {
  /// Keys accepted as signers; null means none is trusted. Must outlive open_package().
  const signing::TrustStore* trust = nullptr;
  UnsignedPolicy unsigned_packages = UnsignedPolicy::refuse;
  /// The destination's engine; a package from another engine is refused.
  std::string expected_engine;
  Limits limits;
  std::stop_token stop;  ///< checked while entries are hashed
  /// Threads that hash the entries: 0 picks by the package's size and the cores (one
  /// per 2048 entries, at most 4). Tests set it.
  size_t hash_threads = 0;
};

class ObjectReader;

/// A package that passed every check of open_package(). Reading from it re-hashes
/// what it streams, so a file changed on disk after verification is still caught.
/// Move-only; one thread at a time.
class VerifiedPackage {
 public:
  VerifiedPackage(VerifiedPackage&&) noexcept;
  VerifiedPackage& operator=(VerifiedPackage&&) noexcept;
  ~VerifiedPackage();

  const std::filesystem::path& path() const;
  const Manifest& manifest() const;
  /// The exact bytes of manifest.json (what the signature covers).
  const std::string& manifest_bytes() const;
  /// Id of the trusted key that signed it, or nullopt when unsigned and allowed.
  const std::optional<std::string>& signer() const;

  /// The exact text of objects/<guid>.json; not_found if the package has no such object.
  Expected<std::string> object_json(std::string_view guid) const;
  /// Another reader of the objects, for another thread (see ObjectReader).
  Expected<ObjectReader> object_reader() const;
  /// Whether attachments/<sha256> is carried (an export without data lists hashes only).
  bool has_attachment(std::string_view sha256) const;
  /// Streams attachments/<sha256> to fd. On a corrupt error the bytes already written
  /// must be discarded by the caller.
  Status copy_attachment(std::string_view sha256, int fd) const;
  /// Streams attachments/<sha256> into a new file at dest (created exclusively, mode
  /// 0600); on any failure dest is removed.
  Status copy_attachment(std::string_view sha256, const std::filesystem::path& dest) const;

 private:
  struct Rep;
  explicit VerifiedPackage(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
  friend Expected<VerifiedPackage> open_package(const std::filesystem::path&, const ReadOptions&);
  friend class ObjectReader;
};

/// Reads objects/<guid>.json and attachments of a VerifiedPackage beside it, on
/// another thread: its own handle on the package file, re-hashing what it reads as
/// the package's own methods do.
/// Must not outlive the package; one thread at a time (open one per thread).
class ObjectReader {
 public:
  ObjectReader(ObjectReader&&) noexcept;
  ObjectReader& operator=(ObjectReader&&) noexcept;
  ~ObjectReader();

  /// VerifiedPackage::object_json().
  Expected<std::string> object_json(std::string_view guid) const;
  /// VerifiedPackage::copy_attachment() into an open file.
  Status copy_attachment(std::string_view sha256, int fd) const;

 private:
  struct Rep;
  explicit ObjectReader(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
  friend class VerifiedPackage;
};

/// Opens and verifies a package: zip structure, entry names, limits, signature and
/// key trust, format version, engine, and every entry's size and SHA-256, in the order
/// given in docs/package-format.md, before anything is returned. Refusals are
/// Errc::corrupt (damaged or tampered), Errc::permission_denied (unsigned, untrusted
/// key, key bound to another environment), Errc::invalid_argument (another engine,
/// newer format, over the limits) or Errc::cancelled; every message starts with
/// "package PATH: " and says what the operator can do.
Expected<VerifiedPackage> open_package(const std::filesystem::path& path, const ReadOptions& options);

/// Reads and strictly parses manifest.json of a package WITHOUT verifying it: no
/// signature or trust check, no engine check, and no entry is hashed or compared with
/// the manifest. NOT A VERIFICATION: nothing it returns may be trusted or used to
/// import. It is for showing packages this ferry wrote itself (`ferryctl package show`
/// on ferryd's own stored packages). It still refuses what could hurt the process
/// that reads it, with open_package()'s checks and default Limits: unsafe or
/// duplicate entry names, special files, encrypted or unknown compression, more than
/// Limits::max_entries entries or Limits::max_expanded_bytes, a suspicious
/// compression ratio, and a manifest.json over 128 MiB (refused before it is read,
/// and while streaming if its header lies). The format must be one this ferry reads
/// and the manifest must pass manifest_from_json(). Refusals are Errc::not_found,
/// Errc::io, Errc::corrupt or Errc::invalid_argument, each message starting
/// "package PATH: ". Blocks on the disk: worker pool only.
Expected<Manifest> read_manifest(const std::filesystem::path& package);

}  // namespace ferry::package
