// The selection flags shared by `export` (and later `job` commands): which catalog
// objects a package carries (PRODUCT.md section 3 and 11a).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace ferry::cli {

/// Values of one flag are OR-ed, different flags AND-ed (the daemon applies them).
struct Selection {
  std::vector<std::string> guids, addresses, types, folders, names;
};

/// Adds the repeatable --guid, --address, --type, --folder and --object-name options
/// to command, storing into s (which must outlive parsing).
void add_selection_flags(CLI::App& command, Selection& s);

/// {"guids":[...], "addresses":[...], "types":[...], "folders":[...], "names":[...]},
/// every key present (empty arrays when a flag was not given).
nlohmann::json selection_json(const Selection& s);

}  // namespace ferry::cli
