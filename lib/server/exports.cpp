#include "server/exports.h"

#include <algorithm>

namespace ferry::server {

std::shared_ptr<RunningExport> Exports::add(std::string id, std::string name, std::string user, TimePoint started_at) {
  auto e = std::make_shared<RunningExport>();
  e->id = std::move(id);
  e->name = std::move(name);
  e->user = std::move(user);
  e->started_at = started_at;
  running_.push_back(e);
  return e;
}

void Exports::remove(const std::string& id) {
  std::erase_if(running_, [&](const auto& e) { return e->id == id; });
}

std::shared_ptr<RunningExport> Exports::find(const std::string& id) const {
  for (const auto& e : running_)
    if (e->id == id) return e;
  return nullptr;
}

std::shared_ptr<RunningExport> Exports::oldest() const { return running_.empty() ? nullptr : running_.front(); }

void Exports::cancel_all() {
  for (const auto& e : running_) e->cancel("ferryd shutting down");
}

}  // namespace ferry::server
