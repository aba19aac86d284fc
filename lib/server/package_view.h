// How package records are shown to operators and scripts.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "records/records.h"

namespace ferry::server {

/// The record with its "deliveries" (made by the export) and "forwards" (made later
/// by `package forward`), each as delivery_json().
nlohmann::json package_json(const records::PackageRecord& record,
                            const std::vector<records::DeliveryRecord>& deliveries);

/// {dir, file, on_exists, state, note, at} plus "user" for a forward.
nlohmann::json delivery_json(const records::DeliveryRecord& delivery);

}  // namespace ferry::server
