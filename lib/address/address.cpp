#include "address/address.h"

namespace ferry {

std::string Address::to_string() const {
  return type + ":" + (folder == "/" ? "" : folder) + "/" + name;
}

Expected<std::string> normalize_folder(std::string_view folder) {
  std::string out;
  std::string_view rest = folder;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (seg.empty()) continue;
    if (seg == "." || seg == "..") {
      return fail(Errc::invalid_argument, "folder '" + std::string(folder) + "' contains '" + std::string(seg) +
                                              "'; folders are absolute paths like /finance/daily");
    }
    if (auto st = check_name(seg); !st) {
      return fail(Errc::invalid_argument, "folder '" + std::string(folder) + "': " + st.error().message);
    }
    out += "/";
    out += seg;
  }
  return out.empty() ? std::string("/") : out;
}

Status check_name(std::string_view name) {
  if (name.empty()) return fail(Errc::invalid_argument, "a name must not be empty");
  if (name.size() > 255) return fail(Errc::invalid_argument, "name longer than 255 bytes");
  for (unsigned char c : name) {
    if (c == '/') return fail(Errc::invalid_argument, "name '" + std::string(name) + "' must not contain '/'");
    if (c < 0x20 || c == 0x7f) {
      return fail(Errc::invalid_argument, "name '" + std::string(name) + "' must not contain control characters");
    }
  }
  return {};
}

Expected<Address> parse_address(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument, "'" + std::string(text) + "' is not an object address (" + std::string(why) +
                                            "); expected TYPE:/FOLDER/NAME such as dataset:/finance/orders");
  };
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return bad("no type");
  std::string_view path = text.substr(colon + 1);
  if (path.empty() || path.front() != '/') return bad("the path must start with '/'");
  if (path.back() == '/') return bad("no name");
  size_t last = path.rfind('/');
  std::string_view name = path.substr(last + 1);
  if (!check_name(name)) return bad("bad name");
  auto folder = normalize_folder(path.substr(0, last));
  if (!folder) return bad(folder.error().message);
  return Address{std::string(text.substr(0, colon)), *folder, std::string(name)};
}

bool folder_matches(std::string_view folder, std::string_view pattern) {
  if (pattern.ends_with("/**")) {
    std::string_view base = pattern.substr(0, pattern.size() - 3);
    if (base.empty()) return true;  // "/**" is everything
    return folder == base || (folder.starts_with(base) && folder.size() > base.size() && folder[base.size()] == '/');
  }
  return folder == pattern;
}

}  // namespace ferry
