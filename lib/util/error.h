// Error values for everything under lib/: functions return Expected<T> or Status.
// An Error's message is written for an operator: it names the file and position,
// the object address or the package it concerns, and what to do where that helps.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace ferry {

/// What kind of failure; chooses ferryctl's exit code and the log level.
enum class Errc {
  invalid_argument,   ///< bad input from a file or a command line (exit 2 for config/usage)
  not_found,          ///< a named object, package, file or key does not exist
  conflict,           ///< a name clash, a quota, a reference still in use, a busy resource
  permission_denied,  ///< the caller's role is not enough (exit 4)
  io,                 ///< the operating system refused (open, write, rename, fsync...)
  corrupt,            ///< stored or received data fails its checks
  unavailable,        ///< the daemon or a resource cannot be reached now (exit 3)
  cancelled,          ///< cooperative cancellation
  internal,           ///< a bug: an invariant did not hold
};

std::string_view to_string(Errc code);

struct Error {
  Errc code = Errc::internal;
  std::string message;

  /// Returns "context: message" so callers can add where the error happened.
  Error with_context(std::string_view context) const;
};

template <typename T>
using Expected = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}

/// "strerror(errno)" as a string, for io messages.
std::string errno_text(int err);

/// io error naming the path and the system's reason: "PATH: what: reason".
std::unexpected<Error> fail_errno(std::string_view what, std::string_view path, int err);

}  // namespace ferry

/// Propagates an error from an Expected/Status expression, else yields its value.
#define FERRY_TRY(expr)                                      \
  __extension__({                                                       \
    auto&& ferry_try_result_ = (expr);                       \
    if (!ferry_try_result_) {                                \
      return std::unexpected(std::move(ferry_try_result_).error()); \
    }                                                        \
    std::move(ferry_try_result_).value();                    \
  })
