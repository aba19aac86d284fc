// Manifest <-> JSON. Reading is strict: every field the format lists must be present
// with its type, and values that name entries or GUIDs are validated, because the
// manifest decides which bytes of the package are trusted.
#include "package/package.h"

#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "package/package_impl.h"
#include "util/guid.h"
#include "util/sha256.h"
#include "util/time.h"

namespace ferry::package {

using nlohmann::json;

std::string_view to_string(RefKind kind) { return kind == RefKind::uses ? "uses" : "contains"; }

std::string object_entry_name(std::string_view guid) { return "objects/" + std::string(guid) + ".json"; }
std::string attachment_entry_name(std::string_view sha256) { return "attachments/" + std::string(sha256); }

namespace {

json refs_to_json(const std::vector<Ref>& refs) {
  json out = json::array();
  for (const auto& r : refs) {
    json ref = {{"guid", r.guid}, {"kind", to_string(r.kind)}};
    if (!r.address.empty()) ref["address"] = r.address;
    out.push_back(std::move(ref));
  }
  return out;
}

json attachments_to_json(const std::vector<AttachmentRef>& atts) {
  json out = json::array();
  for (const auto& a : atts) out.push_back({{"name", a.name}, {"sha256", a.sha256}, {"size", a.size}});
  return out;
}

json object_to_json(const ObjectEntry& o) {
  return {{"guid", o.guid},         {"type", o.type},
          {"name", o.name},         {"folder", o.folder},
          {"revision", o.revision}, {"refs", refs_to_json(o.refs)},
          {"sha256", o.sha256},     {"attachments", attachments_to_json(o.attachments)}};
}

json lists_to_json(const Manifest& m, json out) {
  out["objects"] = json::array();
  for (const auto& o : m.objects) out["objects"].push_back(object_to_json(o));
  out["deleted"] = json::array();
  for (const auto& t : m.deleted) {
    out["deleted"].push_back(
        {{"guid", t.guid}, {"type", t.type}, {"folder", t.folder}, {"name", t.name}, {"revision", t.revision}});
  }
  out["required_secrets"] = json::array();
  for (const auto& s : m.required_secrets)
    out["required_secrets"].push_back({{"guid", s.guid}, {"pointer", s.pointer}});
  out["order"] = m.order;
  out["entries"] = json::object();
  for (const auto& [path, d] : m.entries) out["entries"][path] = {{"sha256", d.sha256}, {"size", d.size}};
  return out;
}

// Every field but the five lists and key_id: what the streamed writer puts first.
json header_to_json(const Manifest& m) {
  json out = {
      {"format", m.format},
      {"package_id", m.package_id},
      {"name", m.name},
      {"description", m.description},
      {"created_at", format_rfc3339(m.created_at)},
      {"source",
       {{"environment", m.source.environment}, {"engine", m.source.engine}, {"ferry_version", m.source.ferry_version}}},
      {"export", m.export_settings}};
  if (m.revisions) out["revisions"] = {{"from", m.revisions->from}, {"to", m.revisions->to}};
  if (m.previous_package_id) out["previous_package_id"] = *m.previous_package_id;
  return out;
}

// nlohmann refuses invalid UTF-8 by throwing; a manifest must be valid JSON.
Expected<std::string> dump(const json& j) {
  try {
    return j.dump();
  } catch (const json::exception& e) {
    return fail(Errc::invalid_argument, std::string("manifest: ") + e.what());
  }
}

}  // namespace

json to_json(const Manifest& m) {
  json out = header_to_json(m);
  out["key_id"] = m.key_id;
  return lists_to_json(m, std::move(out));
}

Expected<std::string> manifest_head_text(const Manifest& m) {
  auto text = FERRY_TRY(dump(header_to_json(m)));
  text.back() = ',';  // the object continues with the lists
  return text;
}

Expected<std::string> object_text(const ObjectEntry& o) { return dump(object_to_json(o)); }

Expected<std::string> tombstone_text(const Tombstone& t) {
  return dump({{"guid", t.guid}, {"type", t.type}, {"folder", t.folder}, {"name", t.name}, {"revision", t.revision}});
}

Expected<std::string> secret_text(const RequiredSecret& s) { return dump({{"guid", s.guid}, {"pointer", s.pointer}}); }

std::string entry_text(std::string_view name, const EntryDigest& d) {
  return "\"" + std::string(name) + "\":{\"sha256\":\"" + d.sha256 + "\",\"size\":" + std::to_string(d.size) + "}";
}

std::optional<std::string> object_entry_error(const ObjectEntry& o) {
  auto bad_guid = [](const std::string& g) { return parse_guid(g) != g; };
  if (bad_guid(o.guid)) return "object GUID \"" + o.guid + "\" is not a lower-case GUID";
  for (const auto& r : o.refs) {
    if (bad_guid(r.guid)) return "object " + o.guid + ": reference \"" + r.guid + "\" is not a lower-case GUID";
  }
  for (const auto& a : o.attachments) {
    if (!is_sha256_hex(a.sha256))
      return "object " + o.guid + ": attachment " + a.name + ": SHA-256 is not 64 hex digits";
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------
// Strict reading. Field reports the first problem with its JSON path; parsing stops
// there because later fields of a corrupt manifest are meaningless.

namespace {

class Reader {
 public:
  std::optional<std::string> error;

  const json* member(const json& obj, const std::string& path, const char* key) {
    if (error) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end()) return fail_at(path + key, "missing");
    return &*it;
  }
  std::string str(const json& obj, const std::string& path, const char* key) {
    const json* v = member(obj, path, key);
    if (!v) return {};
    if (!v->is_string()) return fail_at(path + key, "expected a string"), std::string();
    return v->get<std::string>();
  }
  int64_t int64(const json& obj, const std::string& path, const char* key) {
    const json* v = member(obj, path, key);
    if (!v) return 0;
    if (!v->is_number_integer()) return fail_at(path + key, "expected an integer"), 0;
    return v->get<int64_t>();
  }
  uint64_t uint64(const json& obj, const std::string& path, const char* key) {
    const json* v = member(obj, path, key);
    if (!v) return 0;
    if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0)) {
      return fail_at(path + key, "expected a non-negative integer"), 0;
    }
    return v->get<uint64_t>();
  }
  const json* array(const json& obj, const std::string& path, const char* key) {
    const json* v = member(obj, path, key);
    if (v && !v->is_array()) return fail_at(path + key, "expected an array");
    return v;
  }
  const json* object(const json& obj, const std::string& path, const char* key) {
    const json* v = member(obj, path, key);
    if (v && !v->is_object()) return fail_at(path + key, "expected an object");
    return v;
  }
  std::nullptr_t fail_at(const std::string& where, const std::string& what) {
    if (!error) error = where + ": " + what;
    return nullptr;
  }
  std::string guid(const json& obj, const std::string& path, const char* key) {
    auto g = str(obj, path, key);
    if (!error && parse_guid(g) != g) fail_at(path + key, "\"" + g + "\" is not a lower-case GUID");
    return g;
  }
  std::string sha(const json& obj, const std::string& path, const char* key) {
    auto s = str(obj, path, key);
    if (!error && !is_sha256_hex(s)) fail_at(path + key, "expected 64 lower-case hex digits");
    return s;
  }
};

std::string at(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]."; }

std::vector<Ref> read_refs(Reader& r, const json& arr, const std::string& path) {
  std::vector<Ref> out;
  for (size_t i = 0; i < arr.size() && !r.error; ++i) {
    if (!arr[i].is_object()) return r.fail_at(path + "[" + std::to_string(i) + "]", "expected an object"), out;
    Ref ref{r.guid(arr[i], at(path, i), "guid"), RefKind::uses, {}};
    if (auto a = arr[i].find("address"); a != arr[i].end()) {
      if (a->is_string())
        ref.address = a->get<std::string>();
      else
        r.fail_at(at(path, i) + "address", "expected a string");
    }
    auto kind = r.str(arr[i], at(path, i), "kind");
    if (kind == "contains")
      ref.kind = RefKind::contains;
    else if (kind != "uses" && !r.error)
      r.fail_at(at(path, i) + "kind", "expected \"uses\" or \"contains\"");
    out.push_back(std::move(ref));
  }
  return out;
}

std::vector<AttachmentRef> read_attachments(Reader& r, const json& arr, const std::string& path) {
  std::vector<AttachmentRef> out;
  for (size_t i = 0; i < arr.size() && !r.error; ++i) {
    if (!arr[i].is_object()) return r.fail_at(path + "[" + std::to_string(i) + "]", "expected an object"), out;
    auto p = at(path, i);
    out.push_back({r.str(arr[i], p, "name"), r.sha(arr[i], p, "sha256"), r.uint64(arr[i], p, "size")});
  }
  return out;
}

ObjectEntry read_object(Reader& r, const json& o, const std::string& p) {
  ObjectEntry e;
  e.guid = r.guid(o, p, "guid");
  e.type = r.str(o, p, "type");
  e.name = r.str(o, p, "name");
  e.folder = r.str(o, p, "folder");
  e.revision = r.int64(o, p, "revision");
  if (const json* refs = r.array(o, p, "refs")) e.refs = read_refs(r, *refs, p + "refs");
  e.sha256 = r.sha(o, p, "sha256");
  if (const json* atts = r.array(o, p, "attachments")) e.attachments = read_attachments(r, *atts, p + "attachments");
  return e;
}

// Calls f(element, "path[i].") for each element of the named array, which must hold objects.
template <typename F>
void each(Reader& r, const json& obj, const char* key, F&& f) {
  const json* arr = r.array(obj, "", key);
  for (size_t i = 0; arr && i < arr->size() && !r.error; ++i) {
    if (!(*arr)[i].is_object()) {
      return (void)r.fail_at(std::string(key) + "[" + std::to_string(i) + "]", "expected an object");
    }
    f((*arr)[i], at(key, i));
  }
}

/// Objects read while the text was parsed (ManifestParse): their JSON elements were
/// dropped from the tree, so its "objects" array is empty. The members of "entries"
/// were moved out of the tree too (into a map of their own, with the same
/// last-one-wins rule for a repeated name): nlohmann's callback parser scans a
/// parent object's members after each child object ends, which made a tree of
/// 100k entries quadratic.
struct Streamed {
  std::vector<ObjectEntry> objects;
  std::optional<std::string> objects_error;  ///< the first, in array order
  json::object_t entries;
};

void read_lists(Reader& r, const json& j, Manifest& m, Streamed* streamed = nullptr) {
  each(r, j, "objects", [&](const json& o, const std::string& p) { m.objects.push_back(read_object(r, o, p)); });
  if (streamed && !r.error && r.array(j, "", "objects")) {
    if (streamed->objects_error) r.error = streamed->objects_error;
    m.objects = std::move(streamed->objects);
  }
  each(r, j, "deleted", [&](const json& o, const std::string& p) {
    m.deleted.push_back({r.guid(o, p, "guid"), r.str(o, p, "type"), r.str(o, p, "folder"), r.str(o, p, "name"),
                         r.int64(o, p, "revision")});
  });
  each(r, j, "required_secrets", [&](const json& o, const std::string& p) {
    m.required_secrets.push_back({r.guid(o, p, "guid"), r.str(o, p, "pointer")});
  });
  if (const json* order = r.array(j, "", "order")) {
    for (size_t i = 0; i < order->size() && !r.error; ++i) {
      if (!(*order)[i].is_string())
        r.fail_at("order[" + std::to_string(i) + "]", "expected a GUID string");
      else
        m.order.push_back((*order)[i].get<std::string>());
    }
  }
}

/// One member of "entries"; r.error is set when it is wrong.
void read_entry(Reader& r, const std::string& path, const json& value, std::map<std::string, EntryDigest>& out) {
  std::string p = "entries[\"" + path + "\"]";
  if (auto why = entry_layout_error(path)) return (void)r.fail_at(p, *why);
  if (!value.is_object()) return (void)r.fail_at(p, "expected an object");
  EntryDigest d{r.sha(value, p + ".", "sha256"), r.uint64(value, p + ".", "size")};
  if (!r.error && path.starts_with("attachments/") && path.substr(12) != d.sha256) {
    return (void)r.fail_at(p + ".sha256", "differs from the hash in the entry's name");
  }
  if (!r.error) out[path] = std::move(d);
}

void read_entries(Reader& r, const json& j, Manifest& m, const Streamed* streamed = nullptr) {
  const json* entries = r.object(j, "", "entries");
  if (!entries) return;
  // Streamed, every member was moved out; the tree may still hold a discarded
  // placeholder for a scalar member (nlohmann leaves those).
  for (const auto& [path, value] : streamed ? streamed->entries : entries->get_ref<const json::object_t&>()) {
    if (r.error) return;
    read_entry(r, path, value, m.entries);
  }
}

void read_optional(Reader& r, const json& j, Manifest& m) {
  if (j.contains("revisions")) {
    const json* rev = r.object(j, "", "revisions");
    if (rev) m.revisions = RevisionRange{r.int64(*rev, "revisions.", "from"), r.int64(*rev, "revisions.", "to")};
  }
  if (j.contains("previous_package_id")) m.previous_package_id = r.str(j, "", "previous_package_id");
}

void read_header(Reader& r, const json& j, Manifest& m) {
  m.format = r.str(j, "", "format");
  m.package_id = r.str(j, "", "package_id");
  m.name = r.str(j, "", "name");
  m.description = r.str(j, "", "description");
  auto created = r.str(j, "", "created_at");
  if (!r.error) {
    auto t = parse_rfc3339(created);
    if (!t)
      r.fail_at("created_at", "expected an RFC 3339 time, got \"" + created + "\"");
    else
      m.created_at = *t;
  }
  if (const json* src = r.object(j, "", "source")) {
    m.source = {r.str(*src, "source.", "environment"), r.str(*src, "source.", "engine"),
                r.str(*src, "source.", "ferry_version")};
  }
  if (const json* ex = r.object(j, "", "export")) m.export_settings = *ex;
  m.key_id = r.str(j, "", "key_id");
}

// Cross-field rules: each object has its entry with the same hash; order names every
// object once and nothing but objects and tombstones.
void check_consistency(Reader& r, const Manifest& m) {
  // Hashed: a manifest lists up to hundreds of thousands of GUIDs.
  std::unordered_map<std::string, int> seen;  // guid -> 1 object, 2 tombstone
  seen.reserve(m.objects.size() + m.deleted.size());
  for (size_t i = 0; i < m.objects.size() && !r.error; ++i) {
    const auto& o = m.objects[i];
    auto p = "objects[" + std::to_string(i) + "]";
    if (!seen.emplace(o.guid, 1).second) return (void)r.fail_at(p + ".guid", "GUID " + o.guid + " appears twice");
    auto it = m.entries.find(object_entry_name(o.guid));
    if (it == m.entries.end()) return (void)r.fail_at(p, "no entry " + object_entry_name(o.guid) + " under entries");
    if (it->second.sha256 != o.sha256) return (void)r.fail_at(p + ".sha256", "differs from its entry's sha256");
  }
  for (const auto& t : m.deleted) seen.emplace(t.guid, 2);
  std::unordered_set<std::string> ordered;
  ordered.reserve(m.order.size());
  for (size_t i = 0; i < m.order.size() && !r.error; ++i) {
    auto p = "order[" + std::to_string(i) + "]";
    if (!seen.contains(m.order[i])) return (void)r.fail_at(p, m.order[i] + " is neither an object nor deleted");
    if (!ordered.insert(m.order[i]).second) return (void)r.fail_at(p, m.order[i] + " appears twice");
  }
  for (const auto& o : m.objects) {
    if (!r.error && !ordered.contains(o.guid)) r.fail_at("order", "object " + o.guid + " is missing");
  }
}

}  // namespace

namespace {

Expected<Manifest> from_json(const json& j, Streamed* streamed) {
  if (!j.is_object()) return fail(Errc::corrupt, "manifest: expected a JSON object");
  Reader r;
  Manifest m;
  read_header(r, j, m);
  read_lists(r, j, m, streamed);
  read_entries(r, j, m, streamed);
  read_optional(r, j, m);
  if (!r.error) check_consistency(r, m);
  if (r.error) return fail(Errc::corrupt, "manifest: " + *r.error);
  return m;
}

}  // namespace

Expected<Manifest> manifest_from_json(const json& j) { return from_json(j, nullptr); }

// The parser calls back at the end of every value; each element of the top-level
// "objects" array is read into its ObjectEntry there and dropped from the tree
// (returning false), so the objects of a large manifest never exist as one JSON
// tree. What remains is read by from_json as before; errors keep manifest_from_json's
// wording and precedence (the first bad object in array order, after the header's).
struct ManifestParse::Rep {
  json rest;
  Streamed streamed;
};

ManifestParse::ManifestParse(const std::string& text) : rep_(std::make_unique<Rep>()) {
  Streamed& st = rep_->streamed;
  std::string top;                   // the root's key being parsed
  size_t index = 0;                  // the "objects" element being parsed
  std::optional<std::string> entry;  // the "entries" member being parsed
  Reader objects_reader;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) -> bool {
    if (event == json::parse_event_t::key) {
      if (depth == 1) top = parsed.get<std::string>(), index = 0;
      if (depth == 2 && top == "entries") entry = parsed.get<std::string>();
      return true;
    }
    const bool ends_value = event == json::parse_event_t::object_end || event == json::parse_event_t::array_end ||
                            event == json::parse_event_t::value;
    if (depth != 2 || !ends_value) return true;
    if (top == "objects") {
      const std::string p = at("objects", index);
      if (!parsed.is_object()) {
        objects_reader.fail_at("objects[" + std::to_string(index) + "]", "expected an object");
      } else if (!objects_reader.error) {
        st.objects.push_back(read_object(objects_reader, parsed, p));
      }
      ++index;
      if (objects_reader.error && !st.objects_error) st.objects_error = objects_reader.error;
      return false;
    }
    if (top == "entries" && entry) {  // a member of an "entries" object (an array has no keys)
      st.entries[*entry] = std::move(parsed);
      entry.reset();
      return false;
    }
    return true;
  };
  rep_->rest = json::parse(text, callback);
}

ManifestParse::~ManifestParse() = default;

const json& ManifestParse::rest() const { return rep_->rest; }

Expected<Manifest> ManifestParse::manifest() { return from_json(rep_->rest, &rep_->streamed); }

}  // namespace ferry::package
