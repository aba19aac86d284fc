// Helpers shared by plan() and deploy().
#include <algorithm>
#include <filesystem>

#include "import/import_impl.h"

namespace ferry::importer::detail {

std::string describe(std::string_view address, std::string_view guid) {
  return std::string(address) + " (" + std::string(guid) + ")";
}

EntriesByGuid objects_by_guid(const package::Manifest& manifest) {
  EntriesByGuid out;
  for (const auto& o : manifest.objects) out.emplace(o.guid, &o);
  return out;
}

Expected<nlohmann::json> package_spec(const std::filesystem::path& package, const package::ObjectEntry& entry,
                                      const std::string& text) {
  const std::string entry_name = package::object_entry_name(entry.guid);
  auto bad = [&](const std::string& what) {
    return fail(Errc::corrupt, "package " + package.string() + ": " + entry_name + ": " + what +
                                   "; the exporting ferry wrote a broken package: export it again");
  };
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  auto text_of = [&doc](const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string("\x01");
  };
  if (text_of("guid") != entry.guid || text_of("type") != entry.type || text_of("name") != entry.name ||
      text_of("folder") != entry.folder) {
    return bad("guid, type, name or folder differ from the manifest");
  }
  auto spec = doc.find("spec");
  if (spec == doc.end() || !spec->is_object()) return bad("'spec' is not a JSON object");
  return std::move(*spec);
}

Status apply_values(nlohmann::json& spec, const PlanItem& item) {
  auto set = [&spec](const std::string& pointer, const nlohmann::json& value, const char* what) -> Status {
    try {
      spec[nlohmann::json::json_pointer(pointer)] = value;
    } catch (const nlohmann::json::exception&) {
      return fail(Errc::invalid_argument,
                  std::string(what) + " " + pointer + " cannot be set: the spec has no object or list at that place");
    }
    return {};
  };
  for (const auto& f : item.fills) FERRY_TRY(set(f.pointer, f.value, "secret"));
  for (const auto& o : item.overrides) FERRY_TRY(set(o.pointer, o.value, "override"));
  return {};
}

std::vector<catalog::Attachment> attachments_of(const package::ObjectEntry& entry) {
  std::vector<catalog::Attachment> out;
  for (const auto& a : entry.attachments) out.push_back({a.name, a.sha256, a.size});
  std::ranges::sort(out, {}, &catalog::Attachment::name);
  return out;
}

catalog::RefKind ref_kind(package::RefKind kind) {
  return kind == package::RefKind::contains ? catalog::RefKind::contains : catalog::RefKind::uses;
}

bool blob_present(const catalog::Catalog& catalog, std::string_view sha256) {
  std::error_code ec;
  return std::filesystem::is_regular_file(catalog.blob_path(sha256), ec);
}

}  // namespace ferry::importer::detail
