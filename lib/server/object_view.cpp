#include "server/object_view.h"

#include "util/time.h"

namespace ferry::server {

nlohmann::json strip_secrets(nlohmann::json& spec, const types::TypeDef* type) {
  auto secrets = nlohmann::json::object();
  if (type == nullptr) return secrets;
  for (const auto& pointer : type->secret_fields) {
    nlohmann::json::json_pointer ptr(pointer);  // validated when types.yaml was loaded
    bool set = spec.contains(ptr);
    if (set) {
      auto parent = ptr.parent_pointer();
      spec[parent].erase(ptr.back());
    }
    secrets[pointer] = set ? "set" : "unset";
  }
  return secrets;
}

nlohmann::json object_summary(const catalog::Object& o) {
  return {{"guid", o.guid},
          {"type", o.type},
          {"name", o.name},
          {"folder", o.folder},
          {"address", o.address().to_string()},
          {"owner", o.owner},
          {"revision", o.revision},
          {"updated_at", format_rfc3339(o.updated_at)}};
}

nlohmann::json object_view(const catalog::Object& o, const types::TypeRegistry& types,
                           const std::function<std::string(const std::string& guid)>& address_of) {
  auto view = object_summary(o);
  view["created_at"] = format_rfc3339(o.created_at);
  auto spec = o.spec;
  view["secrets"] = strip_secrets(spec, types.find(o.type));
  view["spec"] = std::move(spec);
  auto refs = nlohmann::json::array();
  for (const auto& r : o.refs) {
    refs.push_back({{"guid", r.to_guid}, {"address", address_of(r.to_guid)}, {"kind", catalog::to_string(r.kind)}});
  }
  view["refs"] = std::move(refs);
  auto attachments = nlohmann::json::array();
  for (const auto& a : o.attachments) {
    attachments.push_back({{"name", a.name}, {"size", a.size}, {"sha256", a.sha256}});
  }
  view["attachments"] = std::move(attachments);
  return view;
}

}  // namespace ferry::server
