// The one seam for time. Scheduler, windows and records take a Clock&, never
// std::chrono::system_clock::now(), so tests can run a DST day in microseconds.
#pragma once

#include <chrono>

namespace ferry {

using TimePoint = std::chrono::sys_time<std::chrono::microseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

/// The real wall clock. Thread-safe.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
};

/// A process-wide SystemClock for production wiring.
Clock& system_clock();

}  // namespace ferry
