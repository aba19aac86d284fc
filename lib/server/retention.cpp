#include "server/retention.h"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <chrono>

#include "util/time.h"

namespace ferry::server {

namespace {

using namespace std::chrono_literals;

// A package past its time that is still held (running, being forwarded) is looked
// at again this much later rather than at once.
constexpr auto kRetryHeld = 60s;

std::chrono::seconds period(const config::Retention& r) { return std::chrono::days(r.days); }

// Worker: removes each package's record, then its file. In that order, a file that is
// gone implies its record is; a file left by a failed removal is found by
// remove_orphans() on the next start.
size_t remove_packages(Context& ctx, const std::vector<records::PackageRecord>& packages) {
  size_t removed = 0;
  for (const auto& r : packages) {
    if (auto st = ctx.records.delete_package(r.id); !st) {
      spdlog::warn("retention: package {} ({}): {}", r.name, r.id, st.error().message);
      continue;
    }
    std::error_code ec;
    if (r.file) std::filesystem::remove(*r.file, ec);
    if (ec) spdlog::warn("retention: package {} ({}): cannot remove {}: {}", r.name, r.id, *r.file, ec.message());
    spdlog::info("retention: removed package {} ({}), created {}", r.name, r.id, format_rfc3339(r.created_at));
    ++removed;
  }
  return removed;
}

}  // namespace

Retention::Retention(Context& ctx) : ctx_(ctx), timer_(ctx.loop) {}

void Retention::kick() {
  if (stopped_) return;
  if (running_) {
    again_ = true;
    return;
  }
  running_ = true;
  auto task = prune_loop();
  boost::asio::co_spawn(ctx_.loop, std::move(task), boost::asio::detached);
}

void Retention::stop() {
  stopped_ = true;
  timer_.cancel();
}

boost::asio::awaitable<void> Retention::prune_loop() {
  do {
    again_ = false;
    co_await prune_once();
  } while (again_ && !stopped_);
  if (!stopped_) co_await arm();
  running_ = false;
}

boost::asio::awaitable<void> Retention::prune_once() {
  const auto& config = ctx_.config.retention;
  auto cutoff = ctx_.clock.now() - period(config);
  auto list = [&ctx = ctx_, cutoff, keep = config.keep_last] { return ctx.records.expired_packages(cutoff, keep); };
  auto expired = co_await ctx_.workers.run(std::move(list));
  if (!expired) {
    spdlog::warn("retention: {}", expired.error().message);
    co_return;
  }
  std::vector<records::PackageRecord> held;
  for (auto& r : *expired)
    if (ctx_.exports.hold(r.id, "pruned")) held.push_back(std::move(r));
  if (held.empty()) co_return;
  auto remove = [&ctx = ctx_, held] { return remove_packages(ctx, held); };
  size_t removed = co_await ctx_.workers.run(std::move(remove));
  for (const auto& r : held) ctx_.exports.release(r.id);
  if (removed > 0) spdlog::info("retention: removed {} packages", removed);
}

boost::asio::awaitable<void> Retention::arm() {
  const auto& config = ctx_.config.retention;
  auto find = [&ctx = ctx_, keep = config.keep_last] { return ctx.records.oldest_beyond(keep); };
  auto oldest = co_await ctx_.workers.run(std::move(find));
  if (!oldest || !*oldest || stopped_) co_return;
  auto wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(**oldest + period(config) + 1s -
                                                                              ctx_.clock.now());
  timer_.expires_after(wait > wait.zero() ? wait : std::chrono::steady_clock::duration(kRetryHeld));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) kick();
  });
}

}  // namespace ferry::server
