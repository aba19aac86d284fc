#include "util/error.h"

#include <cstring>

namespace ferry {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::not_found: return "not_found";
    case Errc::conflict: return "conflict";
    case Errc::permission_denied: return "permission_denied";
    case Errc::io: return "io";
    case Errc::corrupt: return "corrupt";
    case Errc::unavailable: return "unavailable";
    case Errc::cancelled: return "cancelled";
    case Errc::internal: return "internal";
  }
  return "internal";
}

Error Error::with_context(std::string_view context) const {
  return Error{code, std::string(context) + ": " + message};
}

std::string errno_text(int err) { return std::strerror(err); }

std::unexpected<Error> fail_errno(std::string_view what, std::string_view path, int err) {
  return fail(Errc::io, std::string(path) + ": " + std::string(what) + ": " + errno_text(err));
}

}  // namespace ferry
