#include "cli/selection.h"

#include <CLI/CLI.hpp>

namespace ferry::cli {

void add_selection_flags(CLI::App& command, Selection& s) {
  command.add_option("--guid", s.guids, "select this object GUID (repeatable)");
  command.add_option("--address", s.addresses, "select this address TYPE:/FOLDER/NAME (repeatable)");
  command.add_option("--type", s.types, "select objects of this type (repeatable)");
  command.add_option("--folder", s.folders, "select this folder (/x) or subtree (/x/**) (repeatable)");
  command.add_option("--object-name", s.names, "select objects whose name matches this glob (repeatable)");
}

nlohmann::json selection_json(const Selection& s) {
  return {
      {"guids", s.guids}, {"addresses", s.addresses}, {"types", s.types}, {"folders", s.folders}, {"names", s.names}};
}

}  // namespace ferry::cli
