// The worker pool: where SQLite, zip, hashing and file copying run, so the event
// loop never blocks. A coroutine on the loop writes
//   auto result = co_await workers.run([&] { return catalog.apply(...); });
// and resumes on its own executor with the function's result.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace ferry::server {

class Workers {
 public:
  explicit Workers(std::size_t threads) : pool_(threads) {}

  /// Runs f on a worker thread and resumes the caller on its executor with f's
  /// result. f must not throw, and must not touch loop-owned state.
  template <typename F>
  boost::asio::awaitable<std::invoke_result_t<F>> run(F f) {
    using R = std::invoke_result_t<F>;
    // g++ 12 destroys some temporaries inside co_await expressions twice, which
    // would release the tracked work below twice: every object used across a
    // co_await here is a named local.
    auto caller = co_await boost::asio::this_coro::executor;
    // A tracked executor counts as outstanding work, so the loop does not run out
    // of work (and return) while a job is on a worker thread.
    auto loop = boost::asio::prefer(caller, boost::asio::execution::outstanding_work.tracked);
    auto initiation = [this, loop](auto handler, F fn) {
      boost::asio::post(pool_, [loop, fn = std::move(fn), handler = std::move(handler)]() mutable {
        R value = fn();
        boost::asio::post(loop, [handler = std::move(handler), value = std::move(value)]() mutable {
          std::move(handler)(std::move(value));
        });
      });
    };
    auto token = boost::asio::use_awaitable;
    R result = co_await boost::asio::async_initiate<decltype(token), void(R)>(initiation, token, std::move(f));
    co_return result;
  }

  /// Waits for queued work to finish; call after the loop has stopped.
  void join() { pool_.join(); }

 private:
  boost::asio::thread_pool pool_;
};

}  // namespace ferry::server
