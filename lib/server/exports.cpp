#include "server/exports.h"

#include <algorithm>

namespace ferry::server {

namespace {
// Forwards only read the file, so several may run at once; removal needs it alone.
constexpr std::string_view kShared = "forwarded";
}  // namespace

std::shared_ptr<RunningExport> Exports::add(boost::asio::any_io_executor loop, std::string id, std::string name,
                                            std::string user, TimePoint started_at) {
  auto e = std::make_shared<RunningExport>(std::move(loop));
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

bool Exports::hold(const std::string& id, std::string what) {
  if (find(id)) return false;
  auto [first, last] = held_.equal_range(id);
  for (auto it = first; it != last; ++it) {
    if (it->second != kShared || what != kShared) return false;
  }
  held_.emplace(id, std::move(what));
  return true;
}

void Exports::release(const std::string& id) {
  if (auto it = held_.find(id); it != held_.end()) held_.erase(it);
}

std::optional<std::string> Exports::holder(const std::string& id) const {
  if (find(id)) return "exporting";
  if (auto it = held_.find(id); it != held_.end()) return it->second;
  return std::nullopt;
}

}  // namespace ferry::server
