// A Clock for tests: stands still until the test sets or advances it. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>

#include "util/clock.h"

namespace ferry::test {

class FakeClock : public ferry::Clock {
 public:
  /// Starts at 2026-01-01T00:00:00Z unless told otherwise.
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::sys_days(std::chrono::year(2026) / 1 / 1)))
      : now_(start) {}

  TimePoint now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void set(TimePoint t) {
    std::lock_guard lock(mutex_);
    now_ = t;
  }
  void advance(std::chrono::microseconds d) {
    std::lock_guard lock(mutex_);
    now_ += d;
  }

 private:
  mutable std::mutex mutex_;
  TimePoint now_;
};

}  // namespace ferry::test
