// The exporter: which objects an export carries and in what order (plan), and the
// package file that carries them (write). PRODUCT.md section 3; operator guide in
// docs/export.md; the container format in docs/package-format.md.
//
//   plan()   pure: no I/O, no clock, no catalog access. It works on a snapshot handed
//            in as a catalog::ObjectTable (or plain vectors), so any thread may call it
//            (the server calls it on a worker, right after reading the snapshot).
//   write()  blocks on the disk, the blob store and hashing: worker pool only, never
//            the event loop. It calls load_spec and blob_path on that same thread.
//
// Namespace `exporter` because `export` is a C++ keyword.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "package/package.h"
#include "signing/signing.h"
#include "types/types.h"
#include "util/clock.h"
#include "util/error.h"

namespace ferry::exporter {

/// The `select:` of a job file or the selection flags of `ferryctl export`. Values of
/// one field are OR-ed, different non-empty fields AND-ed (so a guid and an address
/// given together select only an object that is both).
struct Selection {
  std::vector<std::string> guids = {};      ///< each must name an existing object
  std::vector<std::string> addresses = {};  ///< "TYPE:/FOLDER/NAME" (or a GUID); each must exist
  std::vector<std::string> types = {};      ///< type names
  std::vector<std::string> folders = {};    ///< "/x" that folder only, "/x/**" the subtree
  std::vector<std::string> names = {};      ///< fnmatch globs on the object's name
  bool empty() const;
};

enum class Mode { full, incremental, selected };
std::string_view to_string(Mode mode);
/// "full", "incremental" or "selected"; anything else is invalid_argument.
Expected<Mode> parse_mode(std::string_view text);

struct Request {
  Mode mode = Mode::full;
  Selection select = {};
  bool include_upstream = false;  ///< add the transitive `uses` closure
  bool include_data = true;       ///< false: attachments listed by hash, not carried
  /// Incremental baseline: the revision of the last successful export. Absent on an
  /// incremental job's first run, which then exports everything (as full).
  std::optional<int64_t> since_revision = {};
};

/// The export settings as they go into the manifest's "export" field (and the
/// package record): {mode, select, include_upstream, include_data, since_revision}.
nlohmann::json settings_json(const Request& request);

struct Plan {
  Mode mode = Mode::full;
  bool include_data = true;
  /// The snapshot handed to plan(), packed (see catalog::ObjectTable): the whole
  /// catalog, as the manifest names reference targets the package does not carry.
  catalog::ObjectTable table;
  /// In deployment order: rows of `table`.
  std::vector<uint32_t> objects;
  /// Incremental only, sorted by revision. Not part of the deployment order.
  std::vector<catalog::Tombstone> deleted;
  /// Secret fields set in the specs handed to plan() as Objects (a table has no
  /// specs, so nothing then). write() recomputes them from the specs it loads, and
  /// that list is what the manifest carries.
  std::vector<package::RequiredSecret> required_secrets;
  int64_t revision_from = 0;  ///< exclusive: the baseline (0 without one)
  int64_t revision_to = 0;    ///< inclusive: the snapshot's revision

  /// Nothing to export: no object and no deletion (an incremental run with no changes).
  bool empty() const { return objects.empty() && deleted.empty(); }
  /// The k-th object of the deployment order (no spec, owner or timestamps).
  catalog::Object object(size_t k) const { return table.object(objects[k]); }
};

/// Decides what an export carries and orders it (rules in docs/export.md).
/// `objects` is the whole catalog snapshot at `snapshot_revision`, sealed
/// (catalog::Snapshot::object_table), `tombstones` its deletions (only those after
/// since_revision are used). Every problem found is reported, one per line: missing
/// selected objects, an empty selected export, objects that are not exportable but
/// needed, unknown types, references to missing objects, dependency cycles. The code
/// is invalid_argument if any problem is in the request itself, else conflict.
Expected<Plan> plan(catalog::ObjectTable objects, const std::vector<catalog::Tombstone>& tombstones,
                    int64_t snapshot_revision, const types::TypeRegistry& types, const Request& request);
/// The same from Objects (small catalogs, tests); specs may be empty, and the secret
/// fields set in them become required_secrets.
Expected<Plan> plan(const std::vector<catalog::Object>& objects, const std::vector<catalog::Tombstone>& tombstones,
                    int64_t snapshot_revision, const types::TypeRegistry& types, const Request& request);

// ---------------------------------------------------------------------------------
// Writing

struct WriteInput {
  std::string package_id;
  std::string name;
  std::string description;
  nlohmann::json export_settings = nlohmann::json::object();  ///< normally settings_json(request)
  package::Source source;
  std::optional<std::string> previous_package_id;  ///< the baseline package of an incremental export
  TimePoint created_at;
};

struct WriteResult {
  std::string sha256;  ///< of the whole package file
  uint64_t size = 0;   ///< bytes of the package file
  uint64_t object_count = 0;
  uint64_t attachment_count = 0;                          ///< attachments carried (0 without data)
  std::vector<package::RequiredSecret> required_secrets;  ///< as written to the manifest
};

/// The full spec of an object, secrets included, from the same snapshot as the plan.
using LoadSpec = std::function<Expected<nlohmann::json>(const std::string& guid)>;
/// Where the bytes of a blob live (catalog::Catalog::blob_path).
using BlobPath = std::function<std::filesystem::path(const std::string& sha256)>;

/// Writes the planned package to `out` (created exclusively; normally the caller's
/// dot-named ".NAME.zip.partial", renamed by the caller after success) and signs it
/// with key. Secret fields are removed from every spec before anything is written.
/// On failure or cancellation (options.stop) `out` is removed. Worker thread only;
/// load_spec and blob_path are called on the calling thread.
Expected<WriteResult> write(const Plan& plan, const WriteInput& input, const types::TypeRegistry& types,
                            const LoadSpec& load_spec, const BlobPath& blob_path, const std::filesystem::path& out,
                            const signing::SecretKey& key, package::WriterOptions options = {});

/// The document written as objects/<guid>.json (see docs/export.md): the object's
/// fields and refs, its attachments, and `spec` with the type's secret fields
/// removed. Deterministic bytes: keys sorted, compact, UTF-8. Fails (invalid_argument)
/// when the spec cannot be serialised (invalid UTF-8), naming the object.
Expected<std::string> object_document(const catalog::Object& object, nlohmann::json spec, const types::TypeDef& type);

}  // namespace ferry::exporter
