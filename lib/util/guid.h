// GUIDs: random (version 4) UUIDs in canonical lower-case form (Boost.UUID).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ferry {

std::string new_guid();

/// The canonical lower-case form if text is a UUID, else nullopt.
std::optional<std::string> parse_guid(std::string_view text);

}  // namespace ferry
