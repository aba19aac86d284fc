// Object addresses: "TYPE:/FOLDER/NAME" (root folder: "TYPE:/NAME").
// Folders are "/"-separated absolute paths without trailing "/", "." or "..".
#pragma once

#include <string>
#include <string_view>

#include "util/error.h"

namespace ferry {

struct Address {
  std::string type;
  std::string folder;  ///< "/" or "/a/b"
  std::string name;

  std::string to_string() const;
  friend bool operator==(const Address&, const Address&) = default;
};

/// Parses "dataset:/finance/orders". Errors say what a valid address looks like.
Expected<Address> parse_address(std::string_view text);

/// Checks and normalises a folder ("/finance/", "finance" -> "/finance"); rejects "..", ".", "//".
Expected<std::string> normalize_folder(std::string_view folder);

/// A name is non-empty, has no "/" and no control characters, at most 255 bytes.
Status check_name(std::string_view name);

/// True if folder matches a selection pattern: "/x" is exactly that folder, "/x/**" the subtree.
bool folder_matches(std::string_view folder, std::string_view pattern);

}  // namespace ferry
