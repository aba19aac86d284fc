// Reading YAML files through key tables, the way ccache reads its config:
// every key goes through one table to a typed parser, unknown keys are errors,
// and every error in the file is collected as "file:line:col: key.path: message"
// (1-based positions) rather than stopping at the first.
//
// Used by ferryd.yaml, types.yaml, object files, jobs.d and the secrets and
// overrides files. Does no I/O: callers hand in the text.
//
// yaml-cpp stays the parser, but the Document keeps its own compact, read-only tree
// (yamlread::Node) built from yaml-cpp's parser events instead of YAML::Load's node
// graph: building and freeing that graph of shared_ptrs cost about a third of loading
// a 10,000-job file (docs/bench.md, jobs_bench). The tree mirrors what yaml-cpp's
// NodeBuilder makes: duplicate keys kept in order, nulls for empty values and plain
// ~/null, tag "!" on quoted scalars and "?" on plain ones, aliases sharing the
// anchored node, first document only.
#pragma once

#include <yaml-cpp/mark.h>
#include <yaml-cpp/node/type.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/clock.h"
#include "util/error.h"

namespace ferry::yamlread {

class Document;

/// A node of a Document's tree: a cheap handle (document and index), valid while the
/// Document lives. Mirrors the part of YAML::Node the readers use; a lookup that
/// finds nothing gives an undefined Node (IsDefined() false, Type() Undefined). Unlike
/// YAML::Node, nothing throws: a lookup by key in a scalar is undefined (yaml-cpp threw
/// BadSubscript), and an undefined node answers every question (yaml-cpp threw
/// InvalidNode for all but IsDefined).
class Node {
 public:
  class const_iterator;
  Node() = default;

  bool IsDefined() const { return doc_ != nullptr; }
  explicit operator bool() const { return IsDefined(); }
  YAML::NodeType::value Type() const;
  bool IsNull() const { return Type() == YAML::NodeType::Null; }
  bool IsScalar() const { return Type() == YAML::NodeType::Scalar; }
  bool IsSequence() const { return Type() == YAML::NodeType::Sequence; }
  bool IsMap() const { return Type() == YAML::NodeType::Map; }
  /// The text of a scalar; empty for anything else.
  const std::string& Scalar() const;
  /// "!" for a quoted scalar, "?" for a plain scalar or a collection, the tag when one
  /// is written, "" for null and undefined.
  const std::string& Tag() const;
  /// Where the node starts (0-based); Mark::null_mark() for undefined.
  YAML::Mark Mark() const;
  /// Items of a list, pairs of a mapping, 0 for anything else.
  size_t size() const;
  /// The i-th item of a list; undefined when out of range or not a list.
  Node operator[](size_t i) const;
  /// The value of the first key equal to `key` in a mapping; undefined when absent
  /// or not a mapping.
  Node operator[](std::string_view key) const;
  /// Over a list: the items (each an Entry that is the item). Over a mapping: the
  /// pairs in file order, duplicates included (Entry::first and Entry::second).
  const_iterator begin() const;
  const_iterator end() const;

 private:
  friend class Document;
  Node(const Document* doc, uint32_t index) : doc_(doc), index_(index) {}
  const Document* doc_ = nullptr;
  uint32_t index_ = 0;
};

/// What iterating a Node gives: for a list the item itself, for a mapping the pair.
struct Entry : Node {
  Node first;
  Node second;
};

class Node::const_iterator {
 public:
  using value_type = Entry;
  using difference_type = std::ptrdiff_t;
  Entry operator*() const;
  struct Arrow {
    Entry entry;
    const Entry* operator->() const { return &entry; }
  };
  Arrow operator->() const { return {**this}; }
  const_iterator& operator++() {
    at_ += map_ ? 2 : 1;
    return *this;
  }
  bool operator==(const const_iterator& other) const { return at_ == other.at_; }

 private:
  friend class Node;
  const_iterator(const Document* doc, const uint32_t* at, bool map) : doc_(doc), at_(at), map_(map) {}
  const Document* doc_ = nullptr;
  const uint32_t* at_ = nullptr;
  bool map_ = false;
};

/// One parsed YAML document and the errors found in it so far.
/// Not thread-safe; one reader at a time. Not copyable or movable: Nodes point to it.
class Document {
 public:
  /// Parses text. A syntax error is recorded with its position and root() is null.
  /// file_name is used in messages and to resolve relative paths.
  Document(std::string file_name, std::string_view text);
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  Node root() const { return Node(this, root_); }
  const std::string& file() const { return file_; }
  /// The folder that relative paths in this file are relative to.
  std::filesystem::path base_dir() const;

  /// Records "file:line:col: path: message" at the node (or at the enclosing map
  /// when the node is missing).
  void error(const Node& at, std::string_view message);
  void error(const YAML::Mark& at, std::string_view message);

  bool ok() const { return errors_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }
  /// All errors, one per line, as an invalid_argument Error.
  Error to_error() const;

  /// The key path being read ("watch[0].id_policy"); maintained by read_map/read_list.
  /// Built only when an error is recorded; the stack holds views and numbers.
  std::string path() const;
  void push(std::string segment) { path_.push_back({std::move(segment), {}, kNoIndex}); }
  /// A key; the text must outlive the pop (a key of this document or a table's name).
  void push_key(std::string_view key) { path_.push_back({{}, key, kNoIndex}); }
  /// A list item, shown as "[i]".
  void push_index(size_t i) { path_.push_back({{}, {}, i}); }
  void pop() { path_.pop_back(); }

  /// Position of the innermost map being read, used for "missing key" errors.
  YAML::Mark current_map_mark() const;
  void push_map_mark(const YAML::Mark& m) { map_marks_.push_back(m); }
  void pop_map_mark() { map_marks_.pop_back(); }

 private:
  friend class Node;
  friend class Node::const_iterator;
  friend class TreeBuilder;

  /// One node of the tree. Children of a collection are kids_[first, first + count):
  /// the items of a list, or key and value alternating for a mapping.
  struct TreeNode {
    std::string scalar;
    YAML::Mark mark;
    uint32_t first = 0;
    uint32_t count = 0;
    YAML::NodeType::value type = YAML::NodeType::Null;
    uint32_t tag = 0;  // index into tags_
  };
  static constexpr size_t kNoIndex = static_cast<size_t>(-1);
  struct Segment {
    std::string owned;
    std::string_view key;
    size_t index;
  };

  std::string file_;
  std::vector<TreeNode> nodes_;
  std::vector<uint32_t> kids_;
  std::vector<std::string> tags_;
  uint32_t root_ = 0;
  std::vector<Segment> path_;
  std::vector<YAML::Mark> map_marks_;
  std::vector<std::string> errors_;
};

inline YAML::NodeType::value Node::Type() const {
  return doc_ == nullptr ? YAML::NodeType::Undefined : doc_->nodes_[index_].type;
}

inline YAML::Mark Node::Mark() const { return doc_ == nullptr ? YAML::Mark::null_mark() : doc_->nodes_[index_].mark; }

inline size_t Node::size() const {
  if (doc_ == nullptr) return 0;
  const auto& n = doc_->nodes_[index_];
  return n.type == YAML::NodeType::Map ? n.count / 2 : n.count;
}

inline Node Node::operator[](size_t i) const {
  if (!IsSequence() || i >= size()) return {};
  return Node(doc_, doc_->kids_[doc_->nodes_[index_].first + i]);
}

inline Node::const_iterator Node::begin() const {
  if (doc_ == nullptr) return {nullptr, nullptr, false};
  const auto& n = doc_->nodes_[index_];
  return {doc_, doc_->kids_.data() + n.first, n.type == YAML::NodeType::Map};
}

inline Node::const_iterator Node::end() const {
  if (doc_ == nullptr) return {nullptr, nullptr, false};
  const auto& n = doc_->nodes_[index_];
  return {doc_, doc_->kids_.data() + n.first + n.count, n.type == YAML::NodeType::Map};
}

inline Entry Node::const_iterator::operator*() const {
  if (map_) return {Node(), Node(doc_, at_[0]), Node(doc_, at_[1])};
  return {Node(doc_, at_[0]), Node(), Node()};
}

enum class Need { optional, required };

/// One row of a key table: the key, its parser, and whether it must be present.
/// The parser reads node into out and records errors in doc; it is not called for
/// absent keys, so defaults are whatever `out` was constructed with.
template <typename T>
struct Key {
  std::string_view name;
  std::function<void(Document& doc, const Node& node, T& out)> parse;
  Need need = Need::optional;
};

/// A key whose value one typed parser (returning optional) reads into one member:
///   field("engine", &Environment::engine, as_identifier)
template <typename T, typename V, typename Parse>
Key<T> field(std::string_view name, V T::*member, Parse parse, Need need = Need::optional) {
  return {name,
          [member, parse](Document& d, const Node& n, T& out) {
            if (auto v = parse(d, n)) out.*member = std::move(*v);
          },
          need};
}

/// A key whose value (a mapping or a list) `read(doc, node, member)` fills in place.
template <typename T, typename V, typename Read>
Key<T> nested(std::string_view name, V T::*member, Read read, Need need = Need::optional) {
  return {name, [member, read](Document& d, const Node& n, T& out) { read(d, n, out.*member); }, need};
}

/// "file:line:col" (1-based) of a node, for values that outlive the document.
std::string where_of(const Document& doc, const Node& node);

/// Describes a node for messages: "a string", "a mapping", "a list", "nothing".
std::string_view describe(const Node& node);

/// Checks node is a mapping, rejects unknown and duplicate keys (listing the
/// known ones), reports missing required keys, and calls each key's parser.
/// `what` names the mapping in messages ("environment", "watch rule").
template <typename T>
void read_map(Document& doc, const Node& node, std::string_view what, std::span<const Key<T>> keys, T& out);

template <typename T>
void read_map(Document& doc, const Node& node, std::string_view what, std::initializer_list<Key<T>> keys, T& out) {
  read_map(doc, node, what, std::span<const Key<T>>(keys.begin(), keys.size()), out);
}

/// Checks node is a list and parses each item with parse_item into out.
template <typename T>
void read_list(Document& doc, const Node& node, const std::function<void(Document&, const Node&, T&)>& parse_item,
               std::vector<T>& out);

// Typed scalar parsers. Each records an error and returns nullopt on bad input.
std::optional<std::string> as_string(Document& doc, const Node& node);
/// A non-empty string.
std::optional<std::string> as_name(Document& doc, const Node& node);
std::optional<bool> as_bool(Document& doc, const Node& node);
std::optional<int64_t> as_int(Document& doc, const Node& node, int64_t min, int64_t max);
/// "30s", "5m", "4h", "30d", "1h30m", "0s" (a bare 0 too). Units: s, m, h, d.
std::optional<std::chrono::seconds> as_duration(Document& doc, const Node& node);
/// Bytes: "200", "512KiB", "64MiB", "64GiB", "1TiB".
std::optional<uint64_t> as_size(Document& doc, const Node& node);
/// An RFC 3339 time with offset.
std::optional<TimePoint> as_time(Document& doc, const Node& node);
/// An IANA time zone name known to the system tz database.
std::optional<std::string> as_timezone(Document& doc, const Node& node);
/// A path, resolved against the file's folder when relative.
std::optional<std::filesystem::path> as_path(Document& doc, const Node& node);
/// A list of strings; a single string is taken as a one-item list.
std::optional<std::vector<std::string>> as_string_list(Document& doc, const Node& node);
/// A GUID, returned in canonical lower-case form.
std::optional<std::string> as_guid(Document& doc, const Node& node);
/// A catalog folder ("/finance/daily"), normalised.
std::optional<std::string> as_folder(Document& doc, const Node& node);
/// A JSON pointer into an object's spec ("/password"); the empty pointer (the whole
/// spec) is refused.
std::optional<std::string> as_spec_pointer(Document& doc, const Node& node);
/// Whether text is a JSON pointer as_spec_pointer accepts.
bool is_spec_pointer(const std::string& text);
/// One of the given words: "expected one of keep, new; got 'x'".
template <typename E>
std::optional<E> as_enum(Document& doc, const Node& node, std::initializer_list<std::pair<std::string_view, E>> values);

/// Converts a YAML tree to JSON: quoted scalars are strings; plain scalars become
/// null, booleans, integers or floats when they read as such, else strings.
nlohmann::json to_json(const Node& node);

// Pure text parsers shared with command lines.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace ferry::yamlread

#include "yamlread/yamlread_impl.h"
