// Package names from templates such as "{job}-{date}" (PRODUCT.md section 3, 11a).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "util/error.h"

namespace ferry::server {

/// The default when neither the command nor the job names the package.
inline constexpr std::string_view kDefaultNameTemplate = "{env}-{mode}-{date}-{time}-{seq}";
inline constexpr size_t kMaxNameLength = 64;

/// Replaces {env}, {mode}, {date}, {time}, {seq}, {job} with their values. The result
/// must be 1-64 characters of A-Z a-z 0-9 . _ - and not start with '.', because it
/// becomes the file name `<name>.zip` in handoff folders. Pure.
Expected<std::string> expand_name(std::string_view name_template, const std::map<std::string, std::string>& values);

}  // namespace ferry::server
