// How package records are shown to operators and scripts.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "records/records.h"

namespace ferry::server {

nlohmann::json package_json(const records::PackageRecord& record, const std::vector<records::DeliveryRecord>& deliveries);

}  // namespace ferry::server
