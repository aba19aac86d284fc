// Reading YAML files through key tables, the way ccache reads its config:
// every key goes through one table to a typed parser, unknown keys are errors,
// and every error in the file is collected as "file:line:col: key.path: message"
// (1-based positions) rather than stopping at the first.
//
// Used by ferryd.yaml, types.yaml, object files, jobs.d and the secrets and
// overrides files. Does no I/O: callers hand in the text.
#pragma once

#include <yaml-cpp/yaml.h>

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

/// One parsed YAML document and the errors found in it so far.
/// Not thread-safe; one reader at a time.
class Document {
 public:
  /// Parses text. A syntax error is recorded with its position and root() is null.
  /// file_name is used in messages and to resolve relative paths.
  Document(std::string file_name, std::string_view text);

  const YAML::Node& root() const { return root_; }
  const std::string& file() const { return file_; }
  /// The folder that relative paths in this file are relative to.
  std::filesystem::path base_dir() const;

  /// Records "file:line:col: path: message" at the node (or at the enclosing map
  /// when the node is missing).
  void error(const YAML::Node& at, std::string_view message);
  void error(const YAML::Mark& at, std::string_view message);

  bool ok() const { return errors_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }
  /// All errors, one per line, as an invalid_argument Error.
  Error to_error() const;

  /// The key path being read ("watch[0].id_policy"); maintained by read_map/read_list.
  std::string path() const;
  void push(std::string segment) { path_.push_back(std::move(segment)); }
  void pop() { path_.pop_back(); }

 private:
  std::string file_;
  YAML::Node root_;
  std::vector<std::string> path_;
  std::vector<YAML::Mark> map_marks_;
  std::vector<std::string> errors_;
  friend class MapScope;
  friend class MarkScope;
 public:
  /// Position of the innermost map being read, used for "missing key" errors.
  YAML::Mark current_map_mark() const;
  void push_map_mark(const YAML::Mark& m) { map_marks_.push_back(m); }
  void pop_map_mark() { map_marks_.pop_back(); }
};

enum class Need { optional, required };

/// One row of a key table: the key, its parser, and whether it must be present.
/// The parser reads node into out and records errors in doc; it is not called for
/// absent keys, so defaults are whatever `out` was constructed with.
template <typename T>
struct Key {
  std::string_view name;
  std::function<void(Document& doc, const YAML::Node& node, T& out)> parse;
  Need need = Need::optional;
};

/// A key whose value one typed parser (returning optional) reads into one member:
///   field("engine", &Environment::engine, as_identifier)
template <typename T, typename V, typename Parse>
Key<T> field(std::string_view name, V T::*member, Parse parse, Need need = Need::optional) {
  return {name,
          [member, parse](Document& d, const YAML::Node& n, T& out) {
            if (auto v = parse(d, n)) out.*member = std::move(*v);
          },
          need};
}

/// A key whose value (a mapping or a list) `read(doc, node, member)` fills in place.
template <typename T, typename V, typename Read>
Key<T> nested(std::string_view name, V T::*member, Read read, Need need = Need::optional) {
  return {name, [member, read](Document& d, const YAML::Node& n, T& out) { read(d, n, out.*member); }, need};
}

/// "file:line:col" (1-based) of a node, for values that outlive the document.
std::string where_of(const Document& doc, const YAML::Node& node);

/// Describes a node for messages: "a string", "a mapping", "a list", "nothing".
std::string_view describe(const YAML::Node& node);

/// Checks node is a mapping, rejects unknown and duplicate keys (listing the
/// known ones), reports missing required keys, and calls each key's parser.
/// `what` names the mapping in messages ("environment", "watch rule").
template <typename T>
void read_map(Document& doc, const YAML::Node& node, std::string_view what, std::span<const Key<T>> keys, T& out);

template <typename T>
void read_map(Document& doc, const YAML::Node& node, std::string_view what, std::initializer_list<Key<T>> keys,
              T& out) {
  read_map(doc, node, what, std::span<const Key<T>>(keys.begin(), keys.size()), out);
}

/// Checks node is a list and parses each item with parse_item into out.
template <typename T>
void read_list(Document& doc, const YAML::Node& node,
               const std::function<void(Document&, const YAML::Node&, T&)>& parse_item, std::vector<T>& out);

// Typed scalar parsers. Each records an error and returns nullopt on bad input.
std::optional<std::string> as_string(Document& doc, const YAML::Node& node);
/// A non-empty string.
std::optional<std::string> as_name(Document& doc, const YAML::Node& node);
std::optional<bool> as_bool(Document& doc, const YAML::Node& node);
std::optional<int64_t> as_int(Document& doc, const YAML::Node& node, int64_t min, int64_t max);
/// "30s", "5m", "4h", "30d", "1h30m", "0s" (a bare 0 too). Units: s, m, h, d.
std::optional<std::chrono::seconds> as_duration(Document& doc, const YAML::Node& node);
/// Bytes: "200", "512KiB", "64MiB", "64GiB", "1TiB".
std::optional<uint64_t> as_size(Document& doc, const YAML::Node& node);
/// An RFC 3339 time with offset.
std::optional<TimePoint> as_time(Document& doc, const YAML::Node& node);
/// An IANA time zone name known to the system tz database.
std::optional<std::string> as_timezone(Document& doc, const YAML::Node& node);
/// A path, resolved against the file's folder when relative.
std::optional<std::filesystem::path> as_path(Document& doc, const YAML::Node& node);
/// A list of strings; a single string is taken as a one-item list.
std::optional<std::vector<std::string>> as_string_list(Document& doc, const YAML::Node& node);
/// A GUID, returned in canonical lower-case form.
std::optional<std::string> as_guid(Document& doc, const YAML::Node& node);
/// A catalog folder ("/finance/daily"), normalised.
std::optional<std::string> as_folder(Document& doc, const YAML::Node& node);
/// A JSON pointer into an object's spec ("/password"); the empty pointer (the whole
/// spec) is refused.
std::optional<std::string> as_spec_pointer(Document& doc, const YAML::Node& node);
/// Whether text is a JSON pointer as_spec_pointer accepts.
bool is_spec_pointer(const std::string& text);
/// One of the given words: "expected one of keep, new; got 'x'".
template <typename E>
std::optional<E> as_enum(Document& doc, const YAML::Node& node,
                         std::initializer_list<std::pair<std::string_view, E>> values);

/// Converts a YAML tree to JSON: quoted scalars are strings; plain scalars become
/// null, booleans, integers or floats when they read as such, else strings.
nlohmann::json to_json(const YAML::Node& node);

// Pure text parsers shared with command lines.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace ferry::yamlread

#include "yamlread/yamlread_impl.h"
