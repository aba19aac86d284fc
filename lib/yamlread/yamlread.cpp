#include "yamlread/yamlread.h"

#include <date/tz.h>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <charconv>
#include <cmath>
#include <spanstream>

#include "address/address.h"
#include "util/guid.h"
#include "util/time.h"

namespace ferry::yamlread {

/// Builds a Document's tree from yaml-cpp's parser events, the way yaml-cpp's
/// NodeBuilder builds its node graph (src/nodebuilder.cpp), but into three vectors.
class TreeBuilder : public YAML::EventHandler {
 public:
  explicit TreeBuilder(Document& doc) : doc_(doc) {}

  /// Index of the root node, once the document has ended.
  std::optional<uint32_t> root() const { return root_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    attach(add(YAML::NodeType::Null, mark, anchor, {}));
  }

  void OnAlias(const YAML::Mark&, YAML::anchor_t anchor) override { attach(anchors_.at(anchor)); }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    uint32_t index = add(YAML::NodeType::Scalar, mark, anchor, tag);
    doc_.nodes_[index].scalar = value;
    attach(index);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(add(YAML::NodeType::Sequence, mark, anchor, tag));
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(add(YAML::NodeType::Map, mark, anchor, tag));
  }
  void OnMapEnd() override { close(); }

 private:
  uint32_t add(YAML::NodeType::value type, const YAML::Mark& mark, YAML::anchor_t anchor, std::string_view tag) {
    auto index = static_cast<uint32_t>(doc_.nodes_.size());
    auto& node = doc_.nodes_.emplace_back();
    node.type = type;
    node.mark = mark;
    node.tag = tag_index(tag);
    if (anchor != YAML::NullAnchor) {
      if (anchors_.size() <= anchor) anchors_.resize(anchor + 1);
      anchors_[anchor] = index;
    }
    return index;
  }

  /// Tags are few ("?", "!" and any written ones): each is kept once.
  uint32_t tag_index(std::string_view tag) {
    auto& tags = doc_.tags_;
    for (size_t i = 0; i < tags.size(); ++i)
      if (tags[i] == tag) return static_cast<uint32_t>(i);
    tags.emplace_back(tag);
    return static_cast<uint32_t>(tags.size() - 1);
  }

  /// Adds a finished node to the open collection, or makes it the root.
  void attach(uint32_t index) {
    if (open_.empty())
      root_ = index;
    else
      pending_.push_back(index);
  }

  /// A collection's children gather at the end of pending_ until it closes.
  void open(uint32_t index) {
    attach(index);
    open_.push_back({index, pending_.size()});
  }

  void close() {
    auto [index, start] = open_.back();
    open_.pop_back();
    auto& node = doc_.nodes_[index];
    node.first = static_cast<uint32_t>(doc_.kids_.size());
    node.count = static_cast<uint32_t>(pending_.size() - start);
    doc_.kids_.insert(doc_.kids_.end(), pending_.begin() + static_cast<std::ptrdiff_t>(start), pending_.end());
    pending_.resize(start);
  }

  struct Open {
    uint32_t index;
    size_t start;  // where its children begin in pending_
  };

  Document& doc_;
  std::optional<uint32_t> root_;
  std::vector<uint32_t> anchors_;
  std::vector<Open> open_;
  std::vector<uint32_t> pending_;
};

Document::Document(std::string file_name, std::string_view text) : file_(std::move(file_name)) {
  tags_ = {"", "?", "!"};
  nodes_.reserve(text.size() / 24 + 1);
  std::optional<uint32_t> root;
  try {
    std::ispanstream in(std::span<const char>(text.data(), text.size()));
    YAML::Parser parser(in);
    TreeBuilder builder(*this);
    // Only the first document, as YAML::Load.
    if (parser.HandleNextDocument(builder)) root = builder.root();
  } catch (const YAML::Exception& e) {
    root.reset();
    error(e.mark, e.msg);
  }
  if (!root) {
    // Nothing, comments only or a syntax error: a null root, as YAML::Load's Node().
    nodes_.clear();
    kids_.clear();
    nodes_.push_back({.scalar = {}, .mark = YAML::Mark::null_mark()});
    root = 0;
  }
  root_ = *root;
}

const std::string& Node::Scalar() const {
  static const std::string kEmpty;
  return doc_ == nullptr ? kEmpty : doc_->nodes_[index_].scalar;
}

const std::string& Node::Tag() const {
  static const std::string kEmpty;
  return doc_ == nullptr ? kEmpty : doc_->tags_[doc_->nodes_[index_].tag];
}

Node Node::operator[](std::string_view key) const {
  if (!IsMap()) return {};
  // As YAML::Node: the first pair whose key is a scalar equal to `key`.
  for (auto it = begin(); it != end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return {};
}

std::filesystem::path Document::base_dir() const {
  auto dir = std::filesystem::path(file_).parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

std::string Document::path() const {
  std::string out;
  for (const auto& seg : path_) {
    if (seg.index != kNoIndex) {
      out += "[" + std::to_string(seg.index) + "]";
      continue;
    }
    std::string_view text = seg.owned.empty() ? seg.key : std::string_view(seg.owned);
    if (!out.empty() && (text.empty() || text.front() != '[')) out += '.';
    out += text;
  }
  return out;
}

YAML::Mark Document::current_map_mark() const { return map_marks_.empty() ? YAML::Mark() : map_marks_.back(); }

void Document::error(const Node& at, std::string_view message) {
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

std::string where_of(const Document& doc, const Node& node) {
  const YAML::Mark m = node.Mark();
  return doc.file() + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::string_view describe(const Node& node) {
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

std::string_view yaml_key(Document& doc, const Node& key) {
  if (!key.IsScalar()) {
    doc.error(key, "expected a plain key, got " + std::string(describe(key)));
    return {};
  }
  return key.Scalar();
}
}  // namespace detail

std::optional<std::string> as_string(Document& doc, const Node& node) {
  if (!node.IsScalar()) {
    doc.error(node, "expected a string, got " + std::string(describe(node)));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::string> as_name(Document& doc, const Node& node) {
  auto s = as_string(doc, node);
  if (s && s->empty()) {
    doc.error(node, "expected a non-empty string");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> as_bool(Document& doc, const Node& node) {
  auto s = as_string(doc, node);
  if (!s) return std::nullopt;
  if (*s == "true") return true;
  if (*s == "false") return false;
  doc.error(node, "expected true or false; got '" + *s + "'");
  return std::nullopt;
}

std::optional<int64_t> as_int(Document& doc, const Node& node, int64_t min, int64_t max) {
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
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return std::nullopt;
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
  if (unit.empty() || unit == "B")
    shift = 0;
  else if (unit == "KiB")
    shift = 10;
  else if (unit == "MiB")
    shift = 20;
  else if (unit == "GiB")
    shift = 30;
  else if (unit == "TiB")
    shift = 40;
  else
    return std::nullopt;
  if (shift > 0 && n > (UINT64_MAX >> shift)) return std::nullopt;
  return n << shift;
}

std::optional<std::chrono::seconds> as_duration(Document& doc, const Node& node) {
  auto s = as_string(doc, node);
  if (!s) return std::nullopt;
  auto d = parse_duration(*s);
  if (!d) doc.error(node, "expected a duration such as 30s, 5m, 4h, 30d or 1h30m; got '" + *s + "'");
  return d;
}

std::optional<uint64_t> as_size(Document& doc, const Node& node) {
  auto s = as_string(doc, node);
  if (!s) return std::nullopt;
  auto v = parse_size(*s);
  if (!v) doc.error(node, "expected a size such as 200, 512KiB, 64MiB or 64GiB; got '" + *s + "'");
  return v;
}

std::optional<TimePoint> as_time(Document& doc, const Node& node) {
  auto s = as_string(doc, node);
  if (!s) return std::nullopt;
  auto t = parse_rfc3339(*s);
  if (!t) {
    doc.error(node, t.error().message);
    return std::nullopt;
  }
  return *t;
}

std::optional<std::string> as_timezone(Document& doc, const Node& node) {
  auto s = as_string(doc, node);
  if (!s) return std::nullopt;
  try {
    (void)date::locate_zone(*s);
  } catch (const std::exception&) {
    doc.error(node,
              "unknown time zone '" + *s + "'; expected a name from the tz database such as Europe/Berlin or UTC");
    return std::nullopt;
  }
  return s;
}

std::optional<std::filesystem::path> as_path(Document& doc, const Node& node) {
  auto s = as_name(doc, node);
  if (!s) return std::nullopt;
  std::filesystem::path p(*s);
  if (p.is_relative()) p = doc.base_dir() / p;
  return p.lexically_normal();
}

std::optional<std::vector<std::string>> as_string_list(Document& doc, const Node& node) {
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
    doc.push_index(i);
    if (auto s = as_string(doc, node[i]))
      out.push_back(*s);
    else
      good = false;
    doc.pop();
  }
  if (!good) return std::nullopt;
  return out;
}

std::optional<std::string> as_guid(Document& d, const Node& n) {
  auto s = as_name(d, n);
  if (!s) return std::nullopt;
  auto guid = parse_guid(*s);
  if (!guid) d.error(n, "expected a GUID such as 6f9619ff-8b86-d011-b42d-00cf4fc964ff; got '" + *s + "'");
  return guid;
}

std::optional<std::string> as_folder(Document& d, const Node& n) {
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

std::optional<std::string> as_spec_pointer(Document& d, const Node& n) {
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

nlohmann::json to_json(const Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
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
