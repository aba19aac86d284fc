// The object type registry (types.yaml): which types exist and how each behaves.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace ferry::types {

/// Where a name must be unique: inside its folder, or across the whole type.
enum class NameScope { folder, type };

struct TypeDef {
  std::string name;
  bool global = false;  ///< deployed before everything else (data sources, calendars)
  NameScope unique_name = NameScope::folder;
  std::vector<std::string> secret_fields;    ///< JSON pointers into spec; never exported or printed
  bool exportable = true;                    ///< false: never exported (ad-hoc queries)
  bool importable = true;                    ///< false: the destination refuses this type
  std::optional<uint64_t> max_objects;       ///< quota; absent = unlimited
  std::optional<std::string> submit;         ///< post-deploy command with {guid}, {address}, {type}
  std::chrono::seconds submit_timeout{300};  ///< default 5m
};

/// Immutable after loading; safe to share between threads.
class TypeRegistry {
 public:
  TypeRegistry() = default;
  explicit TypeRegistry(std::vector<TypeDef> defs);

  /// nullptr when the type is unknown.
  const TypeDef* find(std::string_view name) const;
  const std::vector<TypeDef>& all() const { return defs_; }
  /// "datasource, dataset, task" for messages that list the known types.
  std::string names() const;

 private:
  std::vector<TypeDef> defs_;
};

/// What a `submit:` command's placeholders stand for (docs/configuration.md, "Submit
/// commands"). Values are put into words as they are: never split, never interpreted.
struct CommandValues {
  std::string guid, address, type, import_id;
};

/// The argv words of a `submit:` template, before substitution. Words are separated by
/// spaces and tabs; '...' keeps everything literal; "..." keeps everything but `\"` and
/// `\\`; outside quotes a backslash takes the next character literally. No shell runs
/// the command. Errors: an unterminated quote or trailing backslash, no words at all.
Expected<std::vector<std::string>> split_command(std::string_view text);

/// split_command, then `{guid}`, `{address}`, `{type}` and `{import_id}` replaced inside
/// each word. Another `{name}` (lower-case letters and '_') is an error; other braces
/// are literal. The first word is the program (searched in PATH when it has no '/').
Expected<std::vector<std::string>> expand_command(std::string_view text, const CommandValues& values);

/// Parses types.yaml text; every error is reported as "file:line:col: message".
Expected<TypeRegistry> parse_types(const std::string& file_name, std::string_view text);
Expected<TypeRegistry> load_types(const std::filesystem::path& path);

}  // namespace ferry::types
