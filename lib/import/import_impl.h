// Private to the import module: what plan() and deploy() share, so that deploy builds
// exactly the objects the plan compared with the catalog.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "import/import.h"
#include "util/ordered_pool.h"

namespace ferry::importer::detail {

/// "ADDRESS (GUID)", the way every message names an object.
std::string describe(std::string_view address, std::string_view guid);

/// The manifest's objects by GUID (pointers into the manifest); hashed, as a package
/// may hold hundreds of thousands.
using EntriesByGuid = std::unordered_map<std::string, const package::ObjectEntry*>;

EntriesByGuid objects_by_guid(const package::Manifest& manifest);

/// The `spec` of objects/<guid>.json (its text), after checking that the document
/// names the same object as the manifest entry (guid, type, name, folder). corrupt
/// otherwise, naming the package file.
Expected<nlohmann::json> package_spec(const std::filesystem::path& package, const package::ObjectEntry& entry,
                                      const std::string& text);

/// The specs of entries (package_spec()), read and parsed on worker threads ahead of
/// the caller and handed back in the order given: reading and parsing is most of the
/// CPU of plan() and deploy() outside SQLite, and the caller does its catalog work
/// meanwhile. Each worker reads through its own package::ObjectReader. At most a
/// bounded number of specs wait to be taken. Dropping it stops the workers (specs
/// not taken are dropped). The caller's thread only; the package must outlive it.
class SpecReader {
 public:
  struct Job {
    const package::ObjectEntry* entry = nullptr;
    /// deploy(): the item whose secrets and overrides are set (apply_values), after
    /// which the spec's text (dump) is made too. null: the spec as the package has it.
    const PlanItem* values = nullptr;
    bool tree = true;   ///< false: only the text is kept (a new object needs no more)
    bool text = false;  ///< make the text without values (plan(): nothing is set in it)
  };
  struct Spec {
    nlohmann::json tree;  ///< null when the job asked for the text only
    std::string text;     ///< tree.dump(), made only for a job with values or `text`
  };

  SpecReader(const package::VerifiedPackage& pkg, std::vector<Job> jobs);
  ~SpecReader();
  SpecReader(const SpecReader&) = delete;
  SpecReader& operator=(const SpecReader&) = delete;

  /// The spec of the next job's entry, in the order given; once per job.
  Expected<Spec> next();

  struct Shared;  ///< spec_reader.cpp's

 private:
  void top_up();
  std::unique_ptr<Shared> shared_;
  std::vector<Job> jobs_;
  size_t submitted_ = 0;
  std::unique_ptr<OrderedPool> pool_;
  std::unique_ptr<OrderedPool::Task> batch_;  ///< the batch next() takes from
  size_t taken_ = 0;
};

/// Sets the item's secret fills, then its overrides, at their pointers in spec (so an
/// override wins over a secret at the same place); invalid_argument naming the
/// pointer when the spec's shape does not allow it (a string where an object is needed).
Status apply_values(nlohmann::json& spec, const PlanItem& item);

/// The entry's attachments as the catalog stores them: sorted by name.
std::vector<catalog::Attachment> attachments_of(const package::ObjectEntry& entry);

catalog::RefKind ref_kind(package::RefKind kind);

/// Whether the catalog's blob store already holds these bytes.
bool blob_present(const catalog::Catalog& catalog, std::string_view sha256);

}  // namespace ferry::importer::detail
