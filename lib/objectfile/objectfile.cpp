#include "objectfile/objectfile.h"

#include <map>

#include "address/address.h"
#include "util/guid.h"
#include "yamlread/yamlread.h"

namespace ferry::objectfile {
namespace {

using catalog::ObjectDraft;
using catalog::RefDraft;
using catalog::RefKind;
using yamlread::Document;
using yamlread::Key;
using yamlread::Need;
using yamlread::as_folder;
using yamlread::as_guid;
using yamlread::field;
using yamlread::where_of;
using Node = yamlread::Node;

/// The same for a member of the object's draft.
template <typename V, typename Parse>
Key<ParsedObject> draft_field(std::string_view name, V ObjectDraft::*member, Parse parse, Need need = Need::optional) {
  return {name,
          [member, parse](Document& d, const Node& n, ParsedObject& out) {
            if (auto v = parse(d, n)) out.draft.*member = std::move(*v);
          },
          need};
}

// ---- Value parsers. ----

std::optional<std::string> as_object_name(Document& d, const Node& n) {
  auto s = yamlread::as_string(d, n);
  if (!s) return std::nullopt;
  if (auto ok = check_name(*s); !ok) {
    d.error(n, ok.error().message);
    return std::nullopt;
  }
  return s;
}

std::optional<nlohmann::json> as_spec(Document& d, const Node& n) {
  if (n.IsNull()) return nlohmann::json::object();  // `spec:` alone: an empty spec
  if (!n.IsMap()) {
    d.error(n, "expected a mapping (spec), got " + std::string(yamlread::describe(n)));
    return std::nullopt;
  }
  return yamlread::to_json(n);
}

/// A ref target: a GUID (made canonical) or an address (normalised).
std::optional<std::string> as_target(Document& d, const Node& n) {
  auto s = yamlread::as_name(d, n);
  if (!s) return std::nullopt;
  if (auto guid = parse_guid(*s)) return guid;
  auto address = parse_address(*s);
  if (!address) {
    d.error(n, address.error().message + ", or a GUID");
    return std::nullopt;
  }
  return address->to_string();
}

std::optional<RefKind> as_ref_kind(Document& d, const Node& n) {
  return yamlread::as_enum<RefKind>(d, n, {{"uses", RefKind::uses}, {"contains", RefKind::contains}});
}

// ---- Readers, one per mapping. ----

void read_ref(Document& d, const Node& n, RefDraft& out) {
  out.where = where_of(d, n);
  yamlread::read_map<RefDraft>(d, n, "ref",
                               {
                                   field("to", &RefDraft::to, as_target, Need::required),
                                   field("kind", &RefDraft::kind, as_ref_kind),
                               },
                               out);
}

/// `file` keeps its spelling (the caller's key for the descriptor it hands over)
/// and is also resolved against the object file's folder.
Key<AttachmentSource> attachment_file_key() {
  return {"file",
          [](Document& d, const Node& n, AttachmentSource& out) {
            auto file = yamlread::as_name(d, n);
            auto resolved = file ? yamlread::as_path(d, n) : std::nullopt;
            if (!resolved) return;
            out.file = *file;
            out.resolved = *resolved;
          },
          Need::required};
}

void read_attachment(Document& d, const Node& n, AttachmentSource& out) {
  out.where = where_of(d, n);
  yamlread::read_map<AttachmentSource>(d, n, "attachment",
                                       {
                                           field("name", &AttachmentSource::name, as_object_name),
                                           attachment_file_key(),
                                       },
                                       out);
  if (!out.name.empty() || out.file.empty() || n["name"].IsDefined()) return;
  out.name = std::filesystem::path(out.file).filename().string();
  if (auto ok = check_name(out.name); !ok) {
    d.push("file");
    d.error(n["file"], "cannot take an attachment name from '" + out.file + "' (" + ok.error().message +
                           "); give the attachment a name");
    d.pop();
  }
}

/// Two attachments of one object cannot share a name: the second is reported.
void check_attachment_names(Document& d, const Node& n, const std::vector<AttachmentSource>& attachments) {
  std::map<std::string, size_t> first;
  for (size_t i = 0; i < attachments.size(); ++i) {
    if (attachments[i].name.empty()) continue;  // already reported
    auto [it, inserted] = first.emplace(attachments[i].name, i);
    if (inserted) continue;
    Node item = n["attachments"][i];
    d.push("attachments");
    d.push("[" + std::to_string(i) + "]");
    d.error(item, "duplicate attachment name '" + attachments[i].name + "'; attachments[" + std::to_string(it->second) +
                      "] of this object already uses it");
    d.pop();
    d.pop();
  }
}

/// The owner is never taken from the file; say why instead of only "unknown key".
void reject_owner(Document& d, const Node& n) {
  if (!n.IsMap()) return;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == "owner") {
      d.error(it->first, "unknown key 'owner' in object: an object's owner is the user who applies the file");
    }
  }
}

std::vector<Key<ParsedObject>> object_keys(const Node& n) {
  std::vector<Key<ParsedObject>> keys = {
      draft_field("guid", &ObjectDraft::guid, as_guid),
      draft_field("type", &ObjectDraft::type, yamlread::as_name, Need::required),
      draft_field("name", &ObjectDraft::name, as_object_name, Need::required),
      draft_field("folder", &ObjectDraft::folder, as_folder),
      draft_field("spec", &ObjectDraft::spec, as_spec),
      {"refs", [](Document& d, const Node& v,
                  ParsedObject& out) { yamlread::read_list<RefDraft>(d, v, read_ref, out.draft.refs); }},
      {"attachments",
       [](Document& d, const Node& v, ParsedObject& out) {
         yamlread::read_list<AttachmentSource>(d, v, read_attachment, out.attachments);
       }},
  };
  // reject_owner has reported it; a silent row keeps read_map from saying it twice.
  if (n.IsMap() && n["owner"].IsDefined()) keys.push_back({"owner", [](Document&, const Node&, ParsedObject&) {}});
  return keys;
}

void read_object(Document& d, const Node& n, ParsedObject& out) {
  out.draft.where = where_of(d, n);
  reject_owner(d, n);
  auto keys = object_keys(n);
  yamlread::read_map<ParsedObject>(d, n, "object", std::span<const Key<ParsedObject>>(keys), out);
  if (n.IsMap()) check_attachment_names(d, n, out.attachments);
}

void read_objects(Document& d, const Node& n, std::vector<ParsedObject>& out) {
  yamlread::read_list<ParsedObject>(d, n, read_object, out);
}

}  // namespace

Expected<std::vector<ParsedObject>> parse_object_file(const std::string& file_name, std::string_view text) {
  Document doc(file_name, text);
  std::vector<ParsedObject> objects;
  if (doc.ok() && doc.root().IsNull()) {
    // Empty or comments only: say what is missing rather than "got nothing".
    doc.error(YAML::Mark(), "missing required key 'objects' in object file");
  } else if (doc.ok()) {
    yamlread::read_map<std::vector<ParsedObject>>(doc, doc.root(), "object file",
                                                  {{"objects", read_objects, Need::required}}, objects);
  }
  if (!doc.ok()) return std::unexpected(doc.to_error());
  return objects;
}

}  // namespace ferry::objectfile
