// Template bodies for yamlread.h. Not a public header.
#pragma once

#include <set>

namespace ferry::yamlread {

namespace detail {
std::string known_keys(std::span<const std::string_view> names);
std::string_view yaml_key(Document& doc, const YAML::Node& key);
}  // namespace detail

template <typename T>
void read_map(Document& doc, const YAML::Node& node, std::string_view what, std::span<const Key<T>> keys, T& out) {
  if (!node.IsMap()) {
    doc.error(node, "expected a mapping (" + std::string(what) + "), got " + std::string(describe(node)));
    return;
  }
  std::vector<std::string_view> names;
  for (const auto& k : keys) names.push_back(k.name);
  doc.push_map_mark(node.Mark());
  std::set<std::string, std::less<>> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string_view name = detail::yaml_key(doc, it->first);
    if (name.empty()) continue;
    const Key<T>* key = nullptr;
    for (const auto& k : keys)
      if (k.name == name) key = &k;
    if (key == nullptr) {
      doc.error(it->first, "unknown key '" + std::string(name) + "' in " + std::string(what) +
                               "; expected one of: " + detail::known_keys(names));
      continue;
    }
    if (!seen.insert(std::string(name)).second) {
      doc.error(it->first, "duplicate key '" + std::string(name) + "' in " + std::string(what));
      continue;
    }
    doc.push(std::string(name));
    key->parse(doc, it->second, out);
    doc.pop();
  }
  for (const auto& k : keys) {
    if (k.need == Need::required && !seen.contains(k.name)) {
      doc.error(node.Mark(), "missing required key '" + std::string(k.name) + "' in " + std::string(what));
    }
  }
  doc.pop_map_mark();
}

template <typename T>
void read_list(Document& doc, const YAML::Node& node,
               const std::function<void(Document&, const YAML::Node&, T&)>& parse_item, std::vector<T>& out) {
  if (!node.IsSequence()) {
    doc.error(node, "expected a list, got " + std::string(describe(node)));
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    doc.push("[" + std::to_string(i) + "]");
    T item{};
    parse_item(doc, node[i], item);
    out.push_back(std::move(item));
    doc.pop();
  }
}

template <typename E>
std::optional<E> as_enum(Document& doc, const YAML::Node& node,
                         std::initializer_list<std::pair<std::string_view, E>> values) {
  auto word = as_string(doc, node);
  if (!word) return std::nullopt;
  std::string expected;
  for (const auto& [name, value] : values) {
    if (name == *word) return value;
    expected += (expected.empty() ? "" : ", ") + std::string(name);
  }
  doc.error(node, "expected one of " + expected + "; got '" + *word + "'");
  return std::nullopt;
}

}  // namespace ferry::yamlread
