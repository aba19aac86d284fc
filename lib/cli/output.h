// Human and JSON output for ferryctl: aligned tables on stdout, errors on stderr.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
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

/// A JSON value as a table cell: strings bare, others dumped.
std::string cell(const nlohmann::json& value);

}  // namespace ferry::cli
