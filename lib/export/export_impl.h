// Private to the export module: the pieces plan() is built from, each pure.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "export/export.h"

namespace ferry::exporter::detail {

/// Every problem plan() finds, split by kind so the code can follow the catalog's
/// rule: invalid_argument if any is bad input, else conflict.
class Problems {
 public:
  void bad_input(std::string message) { input_.push_back(std::move(message)); }
  void conflict(std::string message) { conflict_.push_back(std::move(message)); }
  bool any() const { return !input_.empty() || !conflict_.empty(); }
  /// All problems, one per line, input problems first.
  Error error() const;

 private:
  std::vector<std::string> input_;
  std::vector<std::string> conflict_;
};

/// "dataset:/x/d (GUID)": how messages name an object.
std::string describe(const catalog::Object& object);
std::string describe(const catalog::ObjectTable& table, size_t row);

/// The snapshot's lookups plan() needs.
struct Index {
  explicit Index(const catalog::ObjectTable& table) : objects(table) {}
  std::optional<size_t> by_guid(std::string_view guid) const { return objects.find(guid); }
  std::optional<size_t> by_address(const std::string& address) const;

  const catalog::ObjectTable& objects;

 private:
  /// Built on the first by_address(): only selections by address need it, and for
  /// 100k objects it is ~12 MB of address strings.
  mutable std::optional<std::unordered_map<std::string, size_t>> addresses_;
};

/// A Selection checked and normalised. Matching applies to objects and tombstones alike.
class Matcher {
 public:
  /// Malformed values (not a GUID, not an address, bad folder pattern) go to problems.
  Matcher(const Selection& selection, Problems& problems);
  bool matches(std::string_view guid, const Address& address) const;
  /// Which guid/address value (or, with by_type, which type value) names this object
  /// explicitly, as "guid G" or "address A" or "type T"; nullopt when none does.
  std::optional<std::string> named_by(std::string_view guid, const Address& address, bool by_type) const;
  /// The GUIDs and addresses of the selection, each for the existence check.
  const std::set<std::string>& guids() const { return guids_; }
  const std::set<std::string>& addresses() const { return addresses_; }

 private:
  bool match_identity(std::string_view guid, const std::string& address) const;

  Selection raw_;                    ///< which fields were given (emptiness decides AND)
  std::set<std::string> guids_;      ///< canonical lower-case
  std::set<std::string> addresses_;  ///< canonical "type:/folder/name" or a GUID
  std::set<std::string> types_;
  std::vector<std::string> folders_;  ///< normalised patterns
};

/// Deployment order of the chosen objects (positions in index.objects): dependencies
/// (refs inside the set) first, globals and what they need as early as possible, ties
/// by address then GUID. Cycles go to problems, one line each.
std::vector<size_t> deployment_order(const Index& index, const std::vector<size_t>& chosen,
                                     const types::TypeRegistry& types, Problems& problems);

/// The type's secret fields present in spec, in the type's order. A secret field
/// that is not a valid JSON pointer is an error (it could not be removed).
Expected<std::vector<std::string>> present_secrets(const nlohmann::json& spec, const types::TypeDef& type);

}  // namespace ferry::exporter::detail
