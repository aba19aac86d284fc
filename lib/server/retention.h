// Retention (PRODUCT.md section 3): package files and records older than
// `retention.days` go, except the newest `retention.keep_last` and any package that
// is running, being forwarded or being deleted. Runs at start, after every export,
// and when the next record outside the newest keep_last ages past the period (one
// timer armed for that moment, no polling). Event loop only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/context.h"

namespace ferry::server {

class Retention {
 public:
  explicit Retention(Context& ctx);
  /// Prunes now (or right after the prune in progress); re-arms the timer.
  void kick();
  /// Cancels the timer; a prune in progress finishes.
  void stop();

 private:
  boost::asio::awaitable<void> prune_loop();
  boost::asio::awaitable<void> prune_once();
  boost::asio::awaitable<void> arm();

  Context& ctx_;
  boost::asio::steady_timer timer_;
  bool running_ = false;
  bool again_ = false;
  bool stopped_ = false;
};

}  // namespace ferry::server
