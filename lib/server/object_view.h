// How an object is shown to operators (`object get`, `object list`): secret
// values are never included, only whether each secret field is set.
#pragma once

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "types/types.h"

namespace ferry::server {

/// Full view: guid, type, name, folder, address, owner, times, revision, spec
/// without secret fields, "secrets" {pointer: "set"|"unset"}, refs {guid, address,
/// kind} (address resolved through `addresses`), attachments {name, size, sha256}.
nlohmann::json object_view(const catalog::Object& object, const types::TypeRegistry& types,
                           const std::function<std::string(const std::string& guid)>& address_of);

/// One row of `object list`.
nlohmann::json object_summary(const catalog::Object& object);

/// Removes the type's secret fields from spec and reports which were set.
nlohmann::json strip_secrets(nlohmann::json& spec, const types::TypeDef* type);

}  // namespace ferry::server
