#include "server/package_name.h"

namespace ferry::server {

namespace {

bool allowed(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

Status check_result(std::string_view name_template, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return fail(Errc::invalid_argument,
                "package name '" + name + "' (from template '" + std::string(name_template) + "') " + why);
  };
  if (name.empty()) return bad("is empty");
  if (name.size() > kMaxNameLength) return bad("is longer than 64 characters; shorten the template");
  if (name.front() == '.') return bad("must not start with '.'");
  for (char c : name)
    if (!allowed(c)) return bad("may hold only letters, digits, '.', '_' and '-' (it becomes a file name)");
  return {};
}

}  // namespace

Expected<std::string> expand_name(std::string_view name_template, const std::map<std::string, std::string>& values) {
  std::string out;
  for (size_t i = 0; i < name_template.size(); ++i) {
    if (name_template[i] != '{') {
      out += name_template[i];
      continue;
    }
    size_t close = name_template.find('}', i);
    std::string key(name_template.substr(i + 1, close == std::string_view::npos ? 0 : close - i - 1));
    auto it = values.find(key);
    if (close == std::string_view::npos || it == values.end()) {
      return fail(Errc::invalid_argument, "unknown placeholder in package name template '" +
                                              std::string(name_template) +
                                              "'; use {env}, {mode}, {date}, {time}, {seq} or {job}");
    }
    out += it->second;
    i = close;
  }
  FERRY_TRY(check_result(name_template, out));
  return out;
}

}  // namespace ferry::server
