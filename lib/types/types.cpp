#include "types/types.h"

#include <nlohmann/json.hpp>
#include <set>

#include "util/fd.h"
#include "yamlread/yamlread.h"

namespace ferry::types {

TypeRegistry::TypeRegistry(std::vector<TypeDef> defs) : defs_(std::move(defs)) {}

const TypeDef* TypeRegistry::find(std::string_view name) const {
  for (const auto& d : defs_)
    if (d.name == name) return &d;
  return nullptr;
}

std::string TypeRegistry::names() const {
  std::string out;
  for (const auto& d : defs_) out += (out.empty() ? "" : ", ") + d.name;
  return out;
}

namespace {

using yamlread::Document;
using yamlread::field;
using yamlread::Key;
using yamlread::Need;
using Node = yamlread::Node;

std::optional<NameScope> as_name_scope(Document& d, const Node& n) {
  return yamlread::as_enum<NameScope>(d, n, {{"folder", NameScope::folder}, {"type", NameScope::type}});
}

std::optional<uint64_t> as_count(Document& d, const Node& n) { return yamlread::as_int(d, n, 0, INT64_MAX); }

std::optional<std::chrono::seconds> as_positive_duration(Document& d, const Node& n) {
  auto v = yamlread::as_duration(d, n);
  if (v && v->count() <= 0) {
    d.error(n, "expected a duration greater than 0; got '" + n.Scalar() + "'");
    return std::nullopt;
  }
  return v;
}

/// A `submit:` command: a non-empty string whose words and placeholders are valid.
std::optional<std::string> as_submit_command(Document& d, const Node& n) {
  auto text = yamlread::as_name(d, n);
  if (!text) return std::nullopt;
  if (auto words = expand_command(*text, CommandValues{}); !words) {
    d.error(n, words.error().message + " in '" + *text + "'");
    return std::nullopt;
  }
  return text;
}

/// True for a non-empty JSON pointer such as "/password" or "/auth/token"; nlohmann
/// throws on a malformed one, which is converted here and never escapes.
/// A list of JSON pointers; each bad one is reported at its own position.
std::optional<std::vector<std::string>> as_pointers(Document& d, const Node& n) {
  auto list = yamlread::as_string_list(d, n);
  if (!list) return std::nullopt;
  bool good = true;
  for (size_t i = 0; i < list->size(); ++i) {
    if (yamlread::is_spec_pointer((*list)[i])) continue;
    good = false;
    if (n.IsSequence()) d.push("[" + std::to_string(i) + "]");
    d.error(n.IsSequence() ? n[i] : n,
            "expected a JSON pointer into spec such as /password or /auth/token; got '" + (*list)[i] + "'");
    if (n.IsSequence()) d.pop();
  }
  return good ? list : std::nullopt;
}

void read_type(Document& d, const Node& n, TypeDef& out) {
  if (n.IsNull()) return;  // `dataset:` alone: every default
  yamlread::read_map<TypeDef>(d, n, "type '" + out.name + "'",
                              {
                                  field("global", &TypeDef::global, yamlread::as_bool),
                                  field("unique_name", &TypeDef::unique_name, as_name_scope),
                                  field("secret_fields", &TypeDef::secret_fields, as_pointers),
                                  field("exportable", &TypeDef::exportable, yamlread::as_bool),
                                  field("importable", &TypeDef::importable, yamlread::as_bool),
                                  field("max_objects", &TypeDef::max_objects, as_count),
                                  field("submit", &TypeDef::submit, as_submit_command),
                                  field("submit_timeout", &TypeDef::submit_timeout, as_positive_duration),
                              },
                              out);
}

bool valid_type_name(std::string_view name) {
  if (name.empty() || name.front() < 'a' || name.front() > 'z') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

/// Checks one entry's name; false when the entry must be skipped.
bool check_type_name(Document& d, const Node& key, const std::set<std::string, std::less<>>& seen) {
  if (!key.IsScalar()) {
    d.error(key, "expected a type name, got " + std::string(yamlread::describe(key)));
    return false;
  }
  const std::string& name = key.Scalar();
  if (!valid_type_name(name)) {
    d.error(key, "type name '" + name + "' must be lower-case letters, digits and '_', starting with a letter");
    return false;
  }
  if (seen.contains(name)) {
    d.error(key, "type '" + name + "' is defined twice");
    return false;
  }
  return true;
}

/// The `types:` mapping, in file order.
void read_types(Document& d, const Node& n, std::vector<TypeDef>& out) {
  if (n.IsNull()) return;  // `types:` with nothing under it: an empty registry
  if (!n.IsMap()) {
    d.error(n, "expected a mapping of type names to their settings, got " + std::string(yamlread::describe(n)));
    return;
  }
  std::set<std::string, std::less<>> seen;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!check_type_name(d, it->first, seen)) continue;
    TypeDef def;
    def.name = it->first.Scalar();
    seen.insert(def.name);
    d.push(def.name);
    read_type(d, it->second, def);
    d.pop();
    out.push_back(std::move(def));
  }
}

}  // namespace

Expected<TypeRegistry> parse_types(const std::string& file_name, std::string_view text) {
  Document doc(file_name, text);
  std::vector<TypeDef> defs;
  if (doc.ok() && doc.root().IsNull()) {
    // Empty or comments only: say what is missing rather than "got nothing".
    doc.error(YAML::Mark(), "missing required key 'types' in types file");
  } else if (doc.ok()) {
    yamlread::read_map<std::vector<TypeDef>>(doc, doc.root(), "types file", {{"types", read_types, Need::required}},
                                             defs);
  }
  if (!doc.ok()) return std::unexpected(doc.to_error());
  return TypeRegistry(std::move(defs));
}

Expected<TypeRegistry> load_types(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  return parse_types(path.string(), *text);
}

}  // namespace ferry::types
