// The destination's value files (secrets and overrides), read through one key
// table like ferryd.yaml: unknown keys refused, every error with its position.
#include "import/values.h"

#include <map>
#include <optional>
#include <tuple>

#include "address/address.h"
#include "util/fd.h"
#include "util/guid.h"
#include "yamlread/yamlread.h"

namespace ferry::importer {

namespace detail {
namespace {

using yamlread::Document;
using yamlread::field;
using yamlread::Key;
using yamlread::Need;
using Node = yamlread::Node;

/// One entry as read, before the cross-checks.
struct Entry {
  std::optional<std::string> address;
  std::optional<std::string> guid;
  std::optional<std::string> type;
  std::string pointer;
  nlohmann::json value;
};

struct Root {
  std::vector<Entry> entries;
  std::vector<bool> clean;  ///< by entry: read without error (the cross-checks skip the others)
};

std::optional<std::string> as_address(Document& d, const Node& n) {
  auto s = yamlread::as_name(d, n);
  if (!s) return std::nullopt;
  auto address = parse_address(*s);
  if (!address) {
    d.error(n, address.error().message);
    return std::nullopt;
  }
  return address->to_string();
}

Key<Entry> value_key() {
  return {"value", [](Document&, const Node& n, Entry& out) { out.value = yamlread::to_json(n); }, Need::required};
}

void read_entry(const ValueFileKind& kind, Document& d, const Node& n, Entry& out) {
  std::string what(kind.entry);
  if (kind.allow_type) {
    yamlread::read_map<Entry>(d, n, what,
                              {
                                  field("address", &Entry::address, as_address),
                                  field("guid", &Entry::guid, yamlread::as_guid),
                                  field("type", &Entry::type, yamlread::as_name),
                                  field("pointer", &Entry::pointer, yamlread::as_spec_pointer, Need::required),
                                  value_key(),
                              },
                              out);
  } else {
    yamlread::read_map<Entry>(d, n, what,
                              {
                                  field("address", &Entry::address, as_address),
                                  field("guid", &Entry::guid, yamlread::as_guid),
                                  field("pointer", &Entry::pointer, yamlread::as_spec_pointer, Need::required),
                                  value_key(),
                              },
                              out);
  }
}

std::string targets(const ValueFileKind& kind) { return kind.allow_type ? "address, guid or type" : "address or guid"; }

/// The entry's one target, or nullopt with the problem recorded (none, or several).
std::optional<std::pair<TargetKind, std::string>> target_of(const ValueFileKind& kind, Document& d, const Node& n,
                                                            const Entry& e) {
  std::vector<std::pair<TargetKind, std::string>> given;
  if (e.address) given.emplace_back(TargetKind::address, *e.address);
  if (e.guid) given.emplace_back(TargetKind::guid, *e.guid);
  if (e.type) given.emplace_back(TargetKind::type, *e.type);
  if (given.size() == 1) return given.front();
  bool bad_value = (n["address"] && !e.address) || (n["guid"] && !e.guid) || (n["type"] && !e.type);
  if (bad_value) return std::nullopt;  // already reported
  if (given.empty()) {
    d.error(n, "a " + std::string(kind.entry) + " names its object with one of " + targets(kind));
  } else {
    d.error(n, "give only one of " + targets(kind) + " per " + std::string(kind.entry));
  }
  return std::nullopt;
}

/// Turns the entries read into values, checking targets and duplicates.
std::vector<PointerValue> finish(const ValueFileKind& kind, Document& d, const Node& list, Root& root) {
  std::vector<PointerValue> out;
  std::map<std::tuple<TargetKind, std::string, std::string>, std::string> first;
  std::vector<Entry>& read = root.entries;
  for (size_t i = 0; i < read.size(); ++i) {
    if (!root.clean[i]) continue;
    const Node n = list[i];
    d.push(std::string(kind.list_key));
    d.push("[" + std::to_string(i) + "]");
    auto target = target_of(kind, d, n, read[i]);
    if (target && !read[i].pointer.empty()) {
      PointerValue v{target->first, target->second, read[i].pointer, std::move(read[i].value), where_of(d, n)};
      auto [it, fresh] = first.try_emplace({v.target, v.key, v.pointer}, v.where);
      if (fresh) {
        out.push_back(std::move(v));
      } else {
        d.error(n, v.key + " " + v.pointer + " is already given at " + it->second + "; give each " +
                       std::string(kind.entry) + " once");
      }
    }
    d.pop();
    d.pop();
  }
  return out;
}

}  // namespace

Expected<std::vector<PointerValue>> parse_value_file(const ValueFileKind& kind, const std::string& file_name,
                                                     std::string_view text) {
  Document doc(file_name, text);
  std::vector<PointerValue> values;
  if (doc.ok() && !doc.root().IsNull()) {
    Root root;
    auto read_list = [&kind, &root](Document& d, const Node& n, std::vector<Entry>& out) {
      auto one = [&kind, &root](Document& dd, const Node& item, Entry& e) {
        size_t before = dd.errors().size();
        read_entry(kind, dd, item, e);
        root.clean.push_back(dd.errors().size() == before);
      };
      yamlread::read_list<Entry>(d, n, one, out);
    };
    yamlread::read_map<Root>(doc, doc.root(), std::string(kind.list_key) + " file",
                             {yamlread::nested(kind.list_key, &Root::entries, read_list)}, root);
    const Node list = doc.root().IsMap() ? doc.root()[std::string(kind.list_key)] : Node();
    if (list && list.IsSequence()) values = finish(kind, doc, list, root);
  }
  if (!doc.ok()) return std::unexpected(doc.to_error());
  return values;
}

}  // namespace detail

const PointerValue* Secrets::find(std::string_view guid, std::string_view address, std::string_view pointer) const {
  const PointerValue* by_address = nullptr;
  for (const auto& e : entries_) {
    if (e.pointer != pointer) continue;
    if (e.target == TargetKind::guid && e.key == guid) return &e;
    if (e.target == TargetKind::address && e.key == address && !by_address) by_address = &e;
  }
  return by_address;
}

Expected<Secrets> parse_secrets(const std::string& file_name, std::string_view text) {
  auto values = detail::parse_value_file(detail::kSecretsFile, file_name, text);
  if (!values) return std::unexpected(values.error());
  return Secrets(std::move(*values));
}

Expected<Secrets> load_secrets(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) return Secrets();
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  return parse_secrets(path.string(), *text);
}

std::vector<const PointerValue*> Overrides::find(std::string_view guid, std::string_view address,
                                                 std::string_view type) const {
  auto rank = [](TargetKind k) { return k == TargetKind::guid ? 0 : k == TargetKind::address ? 1 : 2; };
  std::map<std::string, const PointerValue*> best;  // pointer -> winning entry
  for (const auto& e : entries_) {
    bool applies = (e.target == TargetKind::guid && e.key == guid) ||
                   (e.target == TargetKind::address && e.key == address) ||
                   (e.target == TargetKind::type && e.key == type);
    if (!applies) continue;
    auto [it, fresh] = best.try_emplace(e.pointer, &e);
    if (!fresh && rank(e.target) < rank(it->second->target)) it->second = &e;
  }
  std::vector<const PointerValue*> out;
  for (const auto& e : entries_) {
    auto it = best.find(e.pointer);
    if (it != best.end() && it->second == &e) out.push_back(&e);
  }
  return out;
}

Expected<Overrides> parse_overrides(const std::string& file_name, std::string_view text) {
  auto values = detail::parse_value_file(detail::kOverridesFile, file_name, text);
  if (!values) return std::unexpected(values.error());
  return Overrides(std::move(*values));
}

Expected<Overrides> load_overrides(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) return Overrides();
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  return parse_overrides(path.string(), *text);
}

}  // namespace ferry::importer
