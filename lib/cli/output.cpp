#include "cli/output.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <sstream>

namespace ferry::cli {

void Table::print(std::ostream& out) const {
  std::vector<size_t> width(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) width[i] = headers_[i].size();
  for (const auto& row : rows_)
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) text += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    out << text << '\n';
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
}

void print_fields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [k, v] : fields) width = std::max(width, k.size());
  for (const auto& [k, v] : fields) out << k << std::string(width - k.size() + 2, ' ') << v << '\n';
}

Exit exit_code(const Error& error) {
  switch (error.code) {
    case Errc::permission_denied:
      return Exit::denied;
    case Errc::unavailable:
      return Exit::unreachable;
    default:
      return Exit::failed;
  }
}

int report(const Error& error) {
  std::istringstream lines(error.message);
  std::string line;
  while (std::getline(lines, line)) std::cerr << "ferryctl: " << line << '\n';
  return static_cast<int>(exit_code(error));
}

std::string cell(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "-";
  return value.dump();
}

const nlohmann::json& member(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json null;
  if (!object.is_object()) return null;
  auto it = object.find(key);
  return it == object.end() ? null : *it;
}

std::string cell(const nlohmann::json& object, std::string_view key) { return cell(member(object, key)); }

std::string human_size(uint64_t bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string size_cell(const nlohmann::json& object, std::string_view key) {
  const auto& v = member(object, key);
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return human_size(v.get<uint64_t>());
  return cell(v);
}

std::string short_id(const nlohmann::json& id) { return cell(id).substr(0, 8); }

}  // namespace ferry::cli
