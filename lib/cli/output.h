// Human and JSON output for ferryctl: aligned tables on stdout, errors on stderr.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cli/cli.h"
#include "util/error.h"

namespace ferry::cli {

/// Columns separated by two spaces, each as wide as its widest cell; a header row
/// in capitals. Prints nothing but the header for no rows.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

/// "key  value" lines with keys aligned, for single-object views.
void print_fields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields);

/// The exit code an error maps to (permission 4, unreachable 3, else 1).
Exit exit_code(const Error& error);

/// Prints "ferryctl: message" (each line of a multi-line message) to stderr and
/// returns the matching exit code.
int report(const Error& error);

/// A JSON value as a table cell: strings bare, null "-", others dumped.
std::string cell(const nlohmann::json& value);

/// object[key], or null when object is not an object or has no such member; for
/// reading results whose optional members a daemon may leave out.
const nlohmann::json& member(const nlohmann::json& object, std::string_view key);

/// member(object, key) as a cell; "-" when absent.
std::string cell(const nlohmann::json& object, std::string_view key);

/// A byte count for people: "512 B", "1.5 KiB", "12.0 MiB", "3.2 GiB".
std::string human_size(uint64_t bytes);

/// A size member (bytes) as human_size, "-" when absent or not a number.
std::string size_cell(const nlohmann::json& object, std::string_view key);

/// The first 8 characters of an id: enough to name it to ferryctl (ids may be abbreviated).
std::string short_id(const nlohmann::json& id);

}  // namespace ferry::cli
