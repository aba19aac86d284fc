// `submit:` command templates: split into argv words by a small quoting rule, then
// placeholders substituted inside words, so an object's name never reaches a shell.
#include <optional>
#include <utility>

#include "types/types.h"

namespace ferry::types {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

/// The value of {name}; nullopt for a name no placeholder has.
std::optional<std::string> placeholder(std::string_view name, const CommandValues& v) {
  if (name == "guid") return v.guid;
  if (name == "address") return v.address;
  if (name == "type") return v.type;
  if (name == "import_id") return v.import_id;
  return std::nullopt;
}

/// Length of the placeholder name starting at word[at] when "{name}" stands there, else 0.
size_t placeholder_length(std::string_view word, size_t at) {
  size_t end = at + 1;
  while (end < word.size() && ((word[end] >= 'a' && word[end] <= 'z') || word[end] == '_')) ++end;
  if (end == at + 1 || end >= word.size() || word[end] != '}') return 0;
  return end - at - 1;
}

Expected<std::string> substitute(std::string_view word, const CommandValues& values) {
  std::string out;
  for (size_t i = 0; i < word.size(); ++i) {
    size_t n = word[i] == '{' ? placeholder_length(word, i) : 0;
    if (n == 0) {
      out += word[i];
      continue;
    }
    auto name = word.substr(i + 1, n);
    auto value = placeholder(name, values);
    if (!value) {
      return fail(Errc::invalid_argument,
                  "unknown placeholder {" + std::string(name) + "}; known: {guid}, {address}, {type}, {import_id}");
    }
    out += *value;
    i += n + 1;
  }
  return out;
}

}  // namespace

Expected<std::vector<std::string>> split_command(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (is_blank(c)) {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\') {
      if (++i == text.size()) return fail(Errc::invalid_argument, "a backslash at the end of the command");
      word += text[i];
    } else if (c == '\'' || c == '"') {
      const char quote = c;
      for (++i;; ++i) {
        if (i == text.size()) return fail(Errc::invalid_argument, std::string("unterminated ") + quote + " quote");
        if (text[i] == quote) break;
        if (quote == '"' && text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\')) ++i;
        word += text[i];
      }
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return fail(Errc::invalid_argument, "the command has no words");
  return words;
}

Expected<std::vector<std::string>> expand_command(std::string_view text, const CommandValues& values) {
  auto words = FERRY_TRY(split_command(text));
  for (auto& w : words) w = FERRY_TRY(substitute(w, values));
  return words;
}

}  // namespace ferry::types
