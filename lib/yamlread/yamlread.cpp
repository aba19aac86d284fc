#include "yamlread/yamlread.h"

#include <date/tz.h>

#include <charconv>
#include <cmath>

#include "address/address.h"
#include "util/guid.h"
#include "util/time.h"

namespace ferry::yamlread {

Document::Document(std::string file_name, std::string_view text) : file_(std::move(file_name)) {
  try {
    root_ = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    root_ = YAML::Node();
    error(e.mark, e.msg);
  }
}

std::filesystem::path Document::base_dir() const {
  auto dir = std::filesystem::path(file_).parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

std::string Document::path() const {
  std::string out;
  for (const auto& seg : path_) {
    if (!out.empty() && seg.front() != '[') out += '.';
    out += seg;
  }
  return out;
}

YAML::Mark Document::current_map_mark() const {
  return map_marks_.empty() ? YAML::Mark() : map_marks_.back();
}

void Document::error(const YAML::Node& at, std::string_view message) {
  YAML::Mark mark = at.IsDefined() ? at.Mark() : current_map_mark();
  error(mark, message);
}

void Document::error(const YAML::Mark& at, std::string_view message) {
  std::string where = file_;
  if (!at.is_null()) where += ":" + std::to_string(at.line + 1) + ":" + std::to_string(at.column + 1);
  std::string p = path();
  errors_.push_back(where + ": " + (p.empty() ? "" : p + ": ") + std::string(message));
}

Error Document::to_error() const {
  std::string msg;
  for (const auto& e : errors_) msg += (msg.empty() ? "" : "\n") + e;
  return Error{Errc::invalid_argument, msg};
}

std::string where_of(const Document& doc, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  return doc.file() + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::string_view describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  return "a scalar";
}

namespace detail {
std::string known_keys(std::span<const std::string_view> names) {
  std::string out;
  for (auto n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

std::string_view yaml_key(Document& doc, const YAML::Node& key) {
  if (!key.IsScalar()) {
    doc.error(key, "expected a plain key, got " + std::string(describe(key)));
    return {};
  }
  return key.Scalar();
}
}  // namespace detail

std::optional<std::string> as_string(Document& doc, const YAML::Node& node) {
  if (!node.IsScalar()) {
    doc.error(node, "expected a string, got " + std::string(describe(node)));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::string> as_name(Document& doc, const YAML::Node& node) {
  auto s = as_string(doc, node);
  if (s && s->empty()) {
    doc.error(node, "expected a non-empty string");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> as_bool(Document& doc, const YAML::Node& node) {
  auto s = as_string(doc, node);
  if (!s) return std::nullopt;
  if (*s == "true") return true;
  if (*s == "false") return false;
  doc.error(node, "expected true or false; got '" + *s + "'");
  return std::nullopt;
}

std::optional<int64_t> as_int(Document& doc, const YAML::Node& node, int64_t min, int64_t max) {
  auto s = as_string(doc, node);
  if (!s) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || p != s->data() + s->size()) {
    doc.error(node, "expected a whole number; got '" + *s + "'");
    return std::nullopt;
  }
  if (v < min || v > max) {
    doc.error(node, "expected a number from " + std::to_string(min) + " to " + std::to_string(max) + "; got " + *s);
    return std::nullopt;
  }
  return v;
}

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text == "0") return std::chrono::seconds(0);
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  while (!text.empty()) {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || p == text.data() + text.size() || n < 0) return std::nullopt;
    int64_t unit = 0;
    switch (*p) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: return std::nullopt;
    }
    if (n > INT64_MAX / unit / 2) return std::nullopt;
    total += n * unit;
    text.remove_prefix(static_cast<size_t>(p - text.data()) + 1);
  }
  return std::chrono::seconds(total);
}

std::optional<uint64_t> parse_size(std::string_view text) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || text.empty()) return std::nullopt;
  std::string_view unit(p, static_cast<size_t>(text.data() + text.size() - p));
  int shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "KiB") shift = 10;
  else if (unit == "MiB") shift = 20;
  else if (unit == "GiB") shift = 30;
  else if (unit == "TiB") shift = 40;
  else return std::nullopt;
  if (shift > 0 && n > (UINT64_MAX >> shift)) return std::nullopt;
  return n << shift;
}

std::optional<std::chrono::seconds> as_duration(Document& doc, const YAML::Node& node) {
  auto s = as_string(doc, node);
  if (!s) return std::nullopt;
  auto d = parse_duration(*s);
  if (!d) doc.error(node, "expected a duration such as 30s, 5m, 4h, 30d or 1h30m; got '" + *s + "'");
  return d;
}

std::optional<uint64_t> as_size(Document& doc, const YAML::Node& node) {
  auto s = as_string(doc, node);
  if (!s) return std::nullopt;
  auto v = parse_size(*s);
  if (!v) doc.error(node, "expected a size such as 200, 512KiB, 64MiB or 64GiB; got '" + *s + "'");
  return v;
}

std::optional<TimePoint> as_time(Document& doc, const YAML::Node& node) {
  auto s = as_string(doc, node);
  if (!s) return std::nullopt;
  auto t = parse_rfc3339(*s);
  if (!t) {
    doc.error(node, t.error().message);
    return std::nullopt;
  }
  return *t;
}

std::optional<std::string> as_timezone(Document& doc, const YAML::Node& node) {
  auto s = as_string(doc, node);
  if (!s) return std::nullopt;
  try {
    (void)date::locate_zone(*s);
  } catch (const std::exception&) {
    doc.error(node, "unknown time zone '" + *s + "'; expected a name from the tz database such as Europe/Berlin or UTC");
    return std::nullopt;
  }
  return s;
}

std::optional<std::filesystem::path> as_path(Document& doc, const YAML::Node& node) {
  auto s = as_name(doc, node);
  if (!s) return std::nullopt;
  std::filesystem::path p(*s);
  if (p.is_relative()) p = doc.base_dir() / p;
  return p.lexically_normal();
}

std::optional<std::vector<std::string>> as_string_list(Document& doc, const YAML::Node& node) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence()) {
    doc.error(node, "expected a list of strings, got " + std::string(describe(node)));
    return std::nullopt;
  }
  bool good = true;
  for (size_t i = 0; i < node.size(); ++i) {
    doc.push("[" + std::to_string(i) + "]");
    if (auto s = as_string(doc, node[i])) out.push_back(*s);
    else good = false;
    doc.pop();
  }
  if (!good) return std::nullopt;
  return out;
}

std::optional<std::string> as_guid(Document& d, const YAML::Node& n) {
  auto s = as_name(d, n);
  if (!s) return std::nullopt;
  auto guid = parse_guid(*s);
  if (!guid) d.error(n, "expected a GUID such as 6f9619ff-8b86-d011-b42d-00cf4fc964ff; got '" + *s + "'");
  return guid;
}

std::optional<std::string> as_folder(Document& d, const YAML::Node& n) {
  auto s = as_name(d, n);
  if (!s) return std::nullopt;
  auto folder = normalize_folder(*s);
  if (!folder) {
    d.error(n, folder.error().message);
    return std::nullopt;
  }
  return *folder;
}

bool is_spec_pointer(const std::string& text) {
  if (text.empty()) return false;  // "" would mean the whole spec
  try {
    nlohmann::json::json_pointer pointer(text);
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

std::optional<std::string> as_spec_pointer(Document& d, const YAML::Node& n) {
  auto s = as_string(d, n);
  if (!s) return std::nullopt;
  if (is_spec_pointer(*s)) return s;
  d.error(n, "expected a JSON pointer into spec such as /password or /auth/token; got '" + *s + "'");
  return std::nullopt;
}

namespace {
nlohmann::json plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  int64_t i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size()) return i;
  double d = 0;
  auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec2 == std::errc() && q == s.data() + s.size() && std::isfinite(d)) return d;
  return s;
}
}  // namespace

nlohmann::json to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: return nullptr;
    case YAML::NodeType::Scalar:
      // yaml-cpp tags quoted scalars "!" and plain ones "?".
      if (node.Tag() == "!") return node.Scalar();
      return plain_scalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      auto arr = nlohmann::json::array();
      for (const auto& item : node) arr.push_back(to_json(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      auto obj = nlohmann::json::object();
      for (auto it = node.begin(); it != node.end(); ++it) obj[it->first.Scalar()] = to_json(it->second);
      return obj;
    }
  }
  return nullptr;
}

}  // namespace ferry::yamlread
