// Private to the import module: the shared reader of the destination's value files,
// `LIST: [{address|guid[|type], pointer, value}]` (secrets and overrides).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "import/import.h"

namespace ferry::importer::detail {

/// Which value file is being read: its list key and the targets its entries may use.
struct ValueFileKind {
  std::string_view list_key;  ///< "secrets", "overrides"
  std::string_view entry;     ///< in messages: "secret", "override"
  bool allow_type = false;    ///< overrides may target a whole type
};

inline constexpr ValueFileKind kSecretsFile{"secrets", "secret", false};
inline constexpr ValueFileKind kOverridesFile{"overrides", "override", true};

/// Parses the text of a value file of that kind; every error, one per line, as
/// "file:line:col: key.path: message" (invalid_argument). Empty text: no entries.
Expected<std::vector<PointerValue>> parse_value_file(const ValueFileKind& kind, const std::string& file_name,
                                                     std::string_view text);

}  // namespace ferry::importer::detail
