#include "server/package_view.h"

#include "util/time.h"

namespace ferry::server {

namespace {
nlohmann::json optional_time(const std::optional<TimePoint>& t) {
  return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
}
}  // namespace

nlohmann::json package_json(const records::PackageRecord& r, const std::vector<records::DeliveryRecord>& deliveries) {
  auto out = nlohmann::json{
      {"id", r.id},
      {"name", r.name},
      {"description", r.description},
      {"job", r.job ? nlohmann::json(*r.job) : nlohmann::json(nullptr)},
      {"mode", r.mode},
      {"state", records::to_string(r.state)},
      {"user", r.user},
      {"created_at", format_rfc3339(r.created_at)},
      {"started_at", optional_time(r.started_at)},
      {"ended_at", optional_time(r.ended_at)},
      {"object_count", r.object_count},
      {"size", r.size},
      {"sha256", r.sha256},
      {"error", r.error},
      {"file", r.file ? nlohmann::json(*r.file) : nlohmann::json(nullptr)},
      {"revision_from", r.revision_from},
      {"revision_to", r.revision_to},
      {"retry_of", r.retry_of ? nlohmann::json(*r.retry_of) : nlohmann::json(nullptr)},
      {"progress",
       {{"objects_done", r.objects_done},
        {"objects_total", r.objects_total},
        {"bytes_done", r.bytes_done},
        {"bytes_total", r.bytes_total}}},
  };
  auto delivered = nlohmann::json::array();
  auto forwarded = nlohmann::json::array();
  for (const auto& d : deliveries) {
    (d.kind == records::DeliveryKind::forward ? forwarded : delivered).push_back(delivery_json(d));
  }
  out["deliveries"] = std::move(delivered);
  out["forwards"] = std::move(forwarded);
  return out;
}

}  // namespace ferry::server

namespace ferry::server {

nlohmann::json delivery_json(const records::DeliveryRecord& d) {
  auto out = nlohmann::json{{"dir", d.dir},
                            {"file", d.file ? nlohmann::json(*d.file) : nlohmann::json(nullptr)},
                            {"on_exists", d.on_exists},
                            {"state", d.state},
                            {"note", d.note},
                            {"at", format_rfc3339(d.at)}};
  if (d.kind == records::DeliveryKind::forward) out["user"] = d.user;
  return out;
}

}  // namespace ferry::server
