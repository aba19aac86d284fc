// Private to lib/control: building a sockaddr_un from a path. Any thread.
#pragma once

#include <sys/un.h>

#include <filesystem>

#include "util/error.h"

namespace ferry::control {

/// invalid_argument when the path is empty or longer than sun_path allows.
Expected<sockaddr_un> unix_address(const std::filesystem::path& path);

}  // namespace ferry::control
