#include "util/clock.h"

namespace ferry {

TimePoint SystemClock::now() const {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

}  // namespace ferry
