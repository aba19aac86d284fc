#include "types/types.h"

namespace ferry::types {

TypeRegistry::TypeRegistry(std::vector<TypeDef> defs) : defs_(std::move(defs)) {}

const TypeDef* TypeRegistry::find(std::string_view name) const {
  for (const auto& d : defs_)
    if (d.name == name) return &d;
  return nullptr;
}

std::string TypeRegistry::names() const {
  std::string out;
  for (const auto& d : defs_) out += (out.empty() ? "" : ", ") + d.name;
  return out;
}

}  // namespace ferry::types
