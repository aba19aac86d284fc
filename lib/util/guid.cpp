#include "util/guid.h"

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <mutex>

namespace ferry {

std::string new_guid() {
  // random_generator is not thread-safe; GUIDs are made on worker threads.
  static std::mutex mutex;
  static boost::uuids::random_generator gen;
  std::lock_guard lock(mutex);
  return boost::uuids::to_string(gen());
}

std::optional<std::string> parse_guid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;  // canonical form only, no braces
  try {
    return boost::uuids::to_string(boost::uuids::string_generator()(std::string(text)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace ferry
