// write(): objects in plan order, secrets removed, attachments from the blob store,
// then the manifest, signed. Worker thread only (disk, hashing, zip).
#include <algorithm>
#include <set>

#include "export/export_impl.h"

namespace ferry::exporter {

namespace {

using json = nlohmann::json;

Expected<json::json_pointer> secret_pointer(const std::string& text, const types::TypeDef& type) {
  std::string why = "the empty pointer would remove the whole spec";
  try {
    if (!text.empty()) return json::json_pointer(text);
  } catch (const json::exception& e) {
    why = e.what();
  }
  return fail(Errc::invalid_argument, "type " + type.name + ": secret field \"" + text +
                                          "\" is not a JSON pointer into spec (" + why + "); fix types.yaml");
}

// Removing an absent field is fine; a field that is still there afterwards is a bug.
Status remove_secret(json& spec, const json::json_pointer& pointer) {
  try {
    if (!spec.contains(pointer)) return {};
    json& parent = spec.at(pointer.parent_pointer());
    if (parent.is_object()) parent.erase(pointer.back());
    if (parent.is_array()) parent.erase(static_cast<size_t>(std::stoull(pointer.back())));
    if (!spec.contains(pointer)) return {};
  } catch (const std::exception&) {  // json::exception or std::stoull's
  }
  return fail(Errc::internal, "cannot remove secret field " + pointer.to_string() + " from the spec");
}

json refs_json(const std::vector<catalog::Ref>& refs) {
  json out = json::array();
  for (const auto& r : refs) out.push_back({{"guid", r.to_guid}, {"kind", catalog::to_string(r.kind)}});
  return out;
}

json attachments_json(const std::vector<catalog::Attachment>& attachments) {
  json out = json::array();
  for (const auto& a : attachments) out.push_back({{"name", a.name}, {"sha256", a.sha256}, {"size", a.size}});
  return out;
}

// Each ref names its target's address when the snapshot has the target.
package::ObjectEntry manifest_entry(const catalog::Object& o, const Plan& plan, uint32_t row) {
  package::ObjectEntry e{o.guid, o.type, o.name, o.folder, o.revision, {}, {}, {}};
  for (const auto& r : plan.table.refs(row)) {
    e.refs.push_back({std::string(plan.table.ref_guid(r)),
                      r.kind == catalog::RefKind::uses ? package::RefKind::uses : package::RefKind::contains,
                      plan.table.resolved(r) ? plan.table.address(r.target).to_string() : std::string()});
  }
  for (const auto& a : o.attachments) e.attachments.push_back({a.name, a.sha256, a.size});
  return e;
}

// Everything but the objects, which the package writer streams as they are added.
package::Manifest start_manifest(const Plan& plan, const WriteInput& input) {
  package::Manifest m;
  m.package_id = input.package_id;
  m.name = input.name;
  m.description = input.description;
  m.created_at = input.created_at;
  m.source = input.source;
  m.export_settings = input.export_settings.is_object() ? input.export_settings : json::object();
  m.previous_package_id = input.previous_package_id;
  if (plan.mode == Mode::incremental) m.revisions = package::RevisionRange{plan.revision_from, plan.revision_to};
  for (const auto& t : plan.deleted) m.deleted.push_back({t.guid, t.type, t.folder, t.name, t.revision});
  return m;
}

/// The writer reports bytes written and bytes added so far; the caller wants a total
/// that does not move with every object. Attachments are known from the plan; object
/// documents are estimated from the average so far.
class ProgressEstimate {
 public:
  ProgressEstimate(const Plan& plan, std::function<void(uint64_t, uint64_t)> report)
      : report_(std::move(report)), objects_(plan.objects.size()) {
    std::set<std::string_view> seen;
    for (uint32_t row : plan.objects) {
      for (const auto& a : plan.table.attachments(row)) {
        if (plan.include_data && seen.insert(plan.table.attachment_sha256(a)).second) attachment_bytes_ += a.size;
      }
    }
  }
  void object_added(uint64_t bytes) {
    object_bytes_ += bytes;
    ++objects_added_;
  }
  void operator()(uint64_t done, uint64_t added) const {
    if (!report_) return;
    uint64_t per_object = objects_added_ == 0 ? 0 : object_bytes_ / objects_added_;
    report_(done, std::max(added, attachment_bytes_ + per_object * objects_));
  }

 private:
  std::function<void(uint64_t, uint64_t)> report_;
  uint64_t objects_ = 0;
  uint64_t attachment_bytes_ = 0;
  uint64_t object_bytes_ = 0;
  uint64_t objects_added_ = 0;
};

/// One write() run.
struct Writer {
  const Plan& plan;
  const types::TypeRegistry& types;
  const LoadSpec& load_spec;
  const BlobPath& blob_path;
  package::PackageWriter& zip;
  ProgressEstimate& progress;
  std::vector<package::RequiredSecret> secrets;
  std::set<std::string> carried;  ///< attachment hashes added

  Status add(uint32_t row);
  Status add_attachments(const catalog::Object& object);
};

Status Writer::add(uint32_t row) {
  catalog::Object object = plan.table.object(row);
  const types::TypeDef* type = types.find(object.type);
  if (type == nullptr) return fail(Errc::conflict, "type " + object.type + " is not in types.yaml");
  auto spec = FERRY_TRY(load_spec(object.guid));
  for (auto& pointer : FERRY_TRY(detail::present_secrets(spec, *type))) {
    secrets.push_back({object.guid, std::move(pointer)});
  }
  auto text = FERRY_TRY(object_document(object, std::move(spec), *type));
  progress.object_added(text.size());
  FERRY_TRY(zip.add_object(manifest_entry(object, plan, row), std::move(text)));
  return plan.include_data ? add_attachments(object) : Status{};
}

Status Writer::add_attachments(const catalog::Object& object) {
  for (const auto& a : object.attachments) {
    if (!carried.insert(a.sha256).second) continue;
    auto digest = FERRY_TRY(zip.add_attachment(blob_path(a.sha256), a.sha256));
    if (digest.size != a.size) {
      return fail(Errc::corrupt, "attachment " + a.name + " (" + a.sha256 + "): the blob store holds " +
                                     std::to_string(digest.size) + " bytes, the catalog says " +
                                     std::to_string(a.size) + "; check the blob store");
    }
  }
  return {};
}

}  // namespace

namespace detail {

Expected<std::vector<std::string>> present_secrets(const json& spec, const types::TypeDef& type) {
  std::vector<std::string> out;
  for (const auto& text : type.secret_fields) {
    auto pointer = FERRY_TRY(secret_pointer(text, type));
    bool present = false;
    try {
      present = spec.contains(pointer);
    } catch (const json::exception&) {  // e.g. "/x" into an array: cannot be there
    }
    if (present) out.push_back(text);
  }
  return out;
}

}  // namespace detail

Expected<std::string> object_document(const catalog::Object& object, json spec, const types::TypeDef& type) {
  for (const auto& text : type.secret_fields) {
    auto pointer = FERRY_TRY(secret_pointer(text, type));
    if (auto st = remove_secret(spec, pointer); !st)
      return fail(st.error().code, detail::describe(object) + ": " + st.error().message);
  }
  json doc = {{"guid", object.guid},
              {"type", object.type},
              {"name", object.name},
              {"folder", object.folder},
              {"revision", object.revision},
              {"spec", std::move(spec)},
              {"refs", refs_json(object.refs)},
              {"attachments", attachments_json(object.attachments)}};
  try {
    return doc.dump() + "\n";  // std::map keys: sorted, so the bytes are deterministic
  } catch (const json::exception& e) {
    return fail(Errc::invalid_argument,
                detail::describe(object) + ": the spec cannot be written as JSON (" + e.what() + ")");
  }
}

Expected<WriteResult> write(const Plan& plan, const WriteInput& input, const types::TypeRegistry& types,
                            const LoadSpec& load_spec, const BlobPath& blob_path, const std::filesystem::path& out,
                            const signing::SecretKey& key, package::WriterOptions options) {
  std::stop_token stop = options.stop;
  ProgressEstimate progress(plan, std::move(options.progress));
  options.progress = [&progress](uint64_t done, uint64_t added) { progress(done, added); };
  auto zip = FERRY_TRY(package::PackageWriter::create(out, std::move(options)));
  Writer w{plan, types, load_spec, blob_path, zip, progress, {}, {}};
  for (uint32_t row : plan.objects) {
    if (stop.stop_requested()) {
      return fail(Errc::cancelled, "package " + out.string() + ": export cancelled; the partial package was removed");
    }
    if (auto st = w.add(row); !st) {
      return std::unexpected(st.error().with_context("export of " + detail::describe(plan.table, row)));
    }
  }
  auto manifest = start_manifest(plan, input);
  manifest.required_secrets = w.secrets;
  auto written = FERRY_TRY(zip.finish(std::move(manifest), key));
  WriteResult result;
  result.sha256 = std::move(written.sha256);
  result.size = written.bytes;
  result.object_count = plan.objects.size();
  result.attachment_count = w.carried.size();
  result.required_secrets = std::move(w.secrets);
  return result;
}

}  // namespace ferry::exporter
