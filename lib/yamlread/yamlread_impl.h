// Template bodies for yamlread.h. Not a public header.
#pragma once

#include <memory>

namespace ferry::yamlread {

namespace detail {
std::string known_keys(std::span<const std::string_view> names);
std::string_view yaml_key(Document& doc, const Node& key);

/// Index of the last key named `name` (as the table is searched), or keys.size().
template <typename T>
size_t find_key(std::span<const Key<T>> keys, std::string_view name) {
  size_t found = keys.size();
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i].name == name) found = i;
  return found;
}
}  // namespace detail

template <typename T>
void read_map(Document& doc, const Node& node, std::string_view what, std::span<const Key<T>> keys, T& out) {
  if (!node.IsMap()) {
    doc.error(node, "expected a mapping (" + std::string(what) + "), got " + std::string(describe(node)));
    return;
  }
  doc.push_map_mark(node.Mark());
  // Which table rows were seen: on the stack for any table we have (at most 64 rows).
  constexpr size_t kLocal = 64;
  bool local[kLocal] = {};
  std::unique_ptr<bool[]> heap;
  bool* seen = local;
  if (keys.size() > kLocal) {
    heap = std::make_unique<bool[]>(keys.size());
    seen = heap.get();
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string_view name = detail::yaml_key(doc, it->first);
    if (name.empty()) continue;
    size_t index = detail::find_key(keys, name);
    if (index == keys.size()) {
      std::vector<std::string_view> names;
      for (const auto& k : keys) names.push_back(k.name);
      doc.error(it->first, "unknown key '" + std::string(name) + "' in " + std::string(what) +
                               "; expected one of: " + detail::known_keys(names));
      continue;
    }
    if (seen[index]) {
      doc.error(it->first, "duplicate key '" + std::string(name) + "' in " + std::string(what));
      continue;
    }
    seen[index] = true;
    doc.push_key(name);
    keys[index].parse(doc, it->second, out);
    doc.pop();
  }
  for (const auto& k : keys) {
    if (k.need == Need::required && !seen[detail::find_key(keys, k.name)]) {
      doc.error(node.Mark(), "missing required key '" + std::string(k.name) + "' in " + std::string(what));
    }
  }
  doc.pop_map_mark();
}

template <typename T>
void read_list(Document& doc, const Node& node, const std::function<void(Document&, const Node&, T&)>& parse_item,
               std::vector<T>& out) {
  if (!node.IsSequence()) {
    doc.error(node, "expected a list, got " + std::string(describe(node)));
    return;
  }
  out.reserve(out.size() + node.size());
  for (size_t i = 0; i < node.size(); ++i) {
    doc.push_index(i);
    T item{};
    parse_item(doc, node[i], item);
    out.push_back(std::move(item));
    doc.pop();
  }
}

template <typename E>
std::optional<E> as_enum(Document& doc, const Node& node,
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
