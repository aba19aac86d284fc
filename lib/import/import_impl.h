// Private to the import module: what plan() and deploy() share, so that deploy builds
// exactly the objects the plan compared with the catalog.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "import/import.h"

namespace ferry::importer::detail {

/// "ADDRESS (GUID)", the way every message names an object.
std::string describe(std::string_view address, std::string_view guid);

/// The manifest's objects by GUID (pointers into the manifest).
std::map<std::string, const package::ObjectEntry*> objects_by_guid(const package::Manifest& manifest);

/// The `spec` of objects/<guid>.json, after checking that the document names the
/// same object as the manifest entry (guid, type, name, folder). corrupt otherwise.
Expected<nlohmann::json> package_spec(const package::VerifiedPackage& pkg, const package::ObjectEntry& entry);

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
