// `submit:` command templates: the quoting rule, placeholders inside words, and that
// values (object names with shell metacharacters) are never split or interpreted.
#include <gtest/gtest.h>

#include "types/types.h"

namespace ferry::types {
namespace {

using Words = std::vector<std::string>;

Words split(std::string_view text) {
  auto words = split_command(text);
  EXPECT_TRUE(words) << words.error().message;
  return words ? *words : Words{};
}

std::string split_error(std::string_view text) {
  auto words = split_command(text);
  return words ? "" : words.error().message;
}

TEST(SubmitCommand, SplitsOnBlanksAndHonoursQuotes) {
  EXPECT_EQ(split("/bin/publish  {guid}\t--to prod"), (Words{"/bin/publish", "{guid}", "--to", "prod"}));
  EXPECT_EQ(split(R"(run 'a b' "c d" e\ f)"), (Words{"run", "a b", "c d", "e f"}));
  EXPECT_EQ(split(R"(run '$HOME \n' "say \"hi\" \\ \n")"), (Words{"run", R"($HOME \n)", R"(say "hi" \ \n)"}));
  EXPECT_EQ(split(R"(run a'b'"c"d '')"), (Words{"run", "abcd", ""}));
  EXPECT_EQ(split("run ; rm -rf / | cat"), (Words{"run", ";", "rm", "-rf", "/", "|", "cat"}));
}

TEST(SubmitCommand, SplitErrors) {
  EXPECT_EQ(split_error("run 'open"), "unterminated ' quote");
  EXPECT_EQ(split_error("run \"open"), "unterminated \" quote");
  EXPECT_EQ(split_error("run \\"), "a backslash at the end of the command");
  EXPECT_EQ(split_error("  \t "), "the command has no words");
}

TEST(SubmitCommand, PlaceholdersAreSubstitutedInsideWords) {
  CommandValues v{"0000-guid", "task:/f/load", "task", "imp-1"};
  auto words = expand_command("/bin/p --guid={guid} '{address}' x{type}y {import_id} {} {GUID} {{guid}}", v);
  ASSERT_TRUE(words) << words.error().message;
  EXPECT_EQ(*words,
            (Words{"/bin/p", "--guid=0000-guid", "task:/f/load", "xtasky", "imp-1", "{}", "{GUID}", "{0000-guid}"}));
}

TEST(SubmitCommand, ValuesAreNeverSplitOrInterpreted) {
  CommandValues v{"g", "task:/f/a b; touch pwned $(id) `id` 'q' \"d\"", "task", "i"};
  auto words = expand_command("/bin/p {address}", v);
  ASSERT_TRUE(words) << words.error().message;
  EXPECT_EQ(*words, (Words{"/bin/p", v.address}));
}

TEST(SubmitCommand, UnknownPlaceholderIsAnError) {
  auto words = expand_command("/bin/p {name}", CommandValues{});
  ASSERT_FALSE(words);
  EXPECT_EQ(words.error().message, "unknown placeholder {name}; known: {guid}, {address}, {type}, {import_id}");
}

TEST(SubmitCommand, TypesYamlRefusesABadTemplate) {
  auto types = parse_types("t.yaml", "types:\n  t: {submit: \"/bin/p {nmae}\"}\n  u: {submit: \"/bin/p 'x\"}\n");
  ASSERT_FALSE(types);
  EXPECT_EQ(types.error().message,
            "t.yaml:2:15: types.t.submit: unknown placeholder {nmae}; known: {guid}, {address}, {type}, {import_id} in "
            "'/bin/p {nmae}'\n"
            "t.yaml:3:15: types.u.submit: unterminated ' quote in '/bin/p 'x'");
}

}  // namespace
}  // namespace ferry::types
