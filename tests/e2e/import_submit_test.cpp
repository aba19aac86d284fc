// End-to-end submit hooks (issue 8): real ferryd processes and real shell scripts
// (written here) as each type's `submit:` command; outcomes are awaited by polling
// `ferryctl import show`.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "e2e/e2e_fixture.h"
#include "support/dir_watch.h"

namespace ferry {
namespace {

namespace fs = std::filesystem;
using test::Environment;

// Shell metacharacters a shell would act on; the hook must get them as one argument.
constexpr const char* kOddName = "odd; touch pwned $(touch pwned2) `id` 'q' \\\"d\\\" * && |";
constexpr const char* kOddAddress = "task:/etl/odd; touch pwned $(touch pwned2) `id` 'q' \"d\" * && |";

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// An executable script, replaced atomically (a hook may be starting it).
void write_script(const fs::path& path, const std::string& body) {
  auto tmp = path.string() + ".tmp";
  test::write_text(tmp, "#!/bin/sh\n" + body);
  fs::permissions(tmp, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  fs::rename(tmp, path);
}

/// Alive and not a zombie (a killed child the container's init does not reap).
bool process_alive(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

class ImportSubmit : public ::testing::Test {
 protected:
  void SetUp() override {
    source_.configure(Environment::Key::yes);
    fs::create_directories(out_);
    fs::create_directories(hooks_);
    source_.start();
    test::write_text(source_.dir() / "objects.yaml", std::string(R"(objects:
  - {type: datasource, name: warehouse, folder: /shared, spec: {host: db}}
  - {type: dataset, name: orders, folder: /finance, spec: {q: 1}, refs: [{to: "datasource:/shared/warehouse"}]}
  - {type: task, name: load, folder: /etl, spec: {s: 1}, refs: [{to: "dataset:/finance/orders"}]}
  - {type: task, name: will-fail, folder: /etl, spec: {s: 2}}
  - {type: task, name: ")") + kOddName + R"(", folder: /etl, spec: {s: 3}}
)");
    source_.ctl_json({"object", "apply", "-f", (source_.dir() / "objects.yaml").string()});
    auto exported = source_.ctl_json({"export", "--mode", "full", "--name", "full", "--to", out_.string(), "--wait"});
    ASSERT_EQ(exported["state"], "succeeded") << exported.dump(2);
    // Every invocation appends one line: FERRY_GUID, FERRY_IMPORT_ID, then its argv, tab-separated.
    log_line_ = "printf '%s\\t' \"$FERRY_GUID\" \"$FERRY_IMPORT_ID\" \"$@\" >> '" + calls().string() +
                "'; printf '\\n' >> '" + calls().string() + "'\n";
  }

  /// Starts the target with `types` as its types.yaml (and extra in ferryd.yaml).
  void start_target(const std::string& types, const std::string& extra = "") {
    test::write_text(target_.dir() / "types.yaml", "types:\n" + types);
    auto config = target_.configure(
        Environment::Key::no, "signing: {trusted: [" + (source_.dir() / "keys/test.pub").string() + "]}\n" + extra);
    auto text = read_text(config);
    auto from = "types: " + test::source_path("etc/types.yaml").string();
    text.replace(text.find(from), from.size(), "types: " + (target_.dir() / "types.yaml").string());
    test::write_text(config, text);
    target_.start();
  }
  /// The types of the package; task runs `hook`, every other type has no submit.
  std::string types_with_task(const std::string& hook, const std::string& timeout = "5m") const {
    return "  datasource: {global: true, unique_name: type}\n  dataset: {}\n  task: {submit: \"'" +
           (hooks_ / hook).string() + "' {guid} {address} {type} --import={import_id}\", submit_timeout: " + timeout +
           "}\n";
  }
  fs::path calls() const { return hooks_ / "calls.log"; }
  /// One row per hook invocation, each a list of its words.
  std::vector<std::vector<std::string>> invocations() const {
    std::vector<std::vector<std::string>> out;
    std::istringstream in(read_text(calls()));
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> words;
      for (size_t at = 0, tab; (tab = line.find('\t', at)) != std::string::npos; at = tab + 1) {
        words.push_back(line.substr(at, tab - at));
      }
      out.push_back(std::move(words));
    }
    return out;
  }
  /// `ferryctl import FILE`, then the import's id.
  std::string import_package() {
    auto r = target_.ctl({"import", (out_ / "full.zip").string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("submit hooks queued for 3 objects; follow them with: ferryctl import show "),
              std::string::npos)
        << r.out;
    auto list = target_.ctl_json({"import", "list"});
    return list["imports"][0]["id"].get<std::string>();
  }
  /// `import show --json` once no object is `submitting`.
  nlohmann::json settled(const std::string& id) {
    nlohmann::json shown;
    bool done = test::poll_until([&] {
      shown = target_.ctl_json({"import", "show", id});
      return shown["submissions"].value("submitting", 0) == 0;
    });
    EXPECT_TRUE(done) << shown.dump(2);
    return shown;
  }
  static std::map<std::string, nlohmann::json> by_address(const nlohmann::json& shown) {
    std::map<std::string, nlohmann::json> out;
    for (const auto& o : shown["objects"]) out[o["address"].get<std::string>()] = o;
    return out;
  }

  Environment source_{"test"};
  Environment target_{"prod"};
  fs::path out_ = source_.dir() / "out";
  fs::path hooks_ = target_.dir() / "hooks";
  std::string log_line_;
};

TEST_F(ImportSubmit, HooksOfCreatedObjectsRunWithPlaceholdersSubstituted) {
  write_script(hooks_ / "hook.sh", log_line_ + "exit 0\n");
  start_target(types_with_task("hook.sh"));
  auto id = import_package();
  auto shown = settled(id);
  EXPECT_EQ(shown["submissions"], (nlohmann::json{{"submitted", 3}})) << shown.dump(2);
  auto objects = by_address(shown);
  for (const auto* address : {"task:/etl/load", "task:/etl/will-fail", kOddAddress}) {
    const auto& s = objects[address]["submission"];
    EXPECT_EQ(s["state"], "submitted") << address << shown.dump(2);
    EXPECT_EQ(s["exit_status"], 0);
    EXPECT_EQ(s["attempts"], 1);
    EXPECT_EQ(s["reason"], "");
  }
  // A type without submit: never runs a hook.
  EXPECT_TRUE(objects["dataset:/finance/orders"]["submission"].is_null());
  EXPECT_TRUE(objects["datasource:/shared/warehouse"]["submission"].is_null());

  auto runs = invocations();
  ASSERT_EQ(runs.size(), 3u) << read_text(calls());
  // In plan order, each with exactly its words: FERRY_GUID, FERRY_IMPORT_ID, then argv.
  std::map<std::string, std::vector<std::string>> by_object;
  for (const auto& c : runs) {
    ASSERT_EQ(c.size(), 6u) << read_text(calls());
    by_object[c[3]] = c;
  }
  for (const auto* address : {"task:/etl/load", "task:/etl/will-fail", kOddAddress}) {
    auto guid = objects[address]["dest_guid"].get<std::string>();
    EXPECT_EQ(by_object[address], (std::vector<std::string>{guid, id, guid, address, "task", "--import=" + id}));
  }
  // Nothing the odd name says was run by a shell.
  EXPECT_FALSE(fs::exists(target_.dir() / "pwned"));
  EXPECT_FALSE(fs::exists(target_.dir() / "pwned2"));
  EXPECT_FALSE(fs::exists(fs::current_path() / "pwned2"));

  auto table = target_.ctl({"import", "show", id});
  EXPECT_NE(table.out.find("SUBMIT"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("submit   3 submitted"), std::string::npos) << table.out;
  auto listed = target_.ctl({"import", "list"});
  EXPECT_NE(listed.out.find("3 submitted"), std::string::npos) << listed.out;
}

TEST_F(ImportSubmit, AFailedHookIsRecordedWithItsStderrAndResubmitRunsOnlyThatOne) {
  std::string failing = log_line_ +
                        "case \"$2\" in *will-fail*)\n"
                        "  i=1; while [ $i -le 25 ]; do echo \"oops line $i\" >&2; i=$((i+1)); done; exit 3;;\n"
                        "esac\nexit 0\n";
  write_script(hooks_ / "hook.sh", failing);
  start_target(types_with_task("hook.sh"));
  auto id = import_package();
  auto shown = settled(id);
  EXPECT_EQ(shown["submissions"], (nlohmann::json{{"submitted", 2}, {"submission_failed", 1}})) << shown.dump(2);
  auto failed = by_address(shown);
  const auto& s = failed["task:/etl/will-fail"]["submission"];
  EXPECT_EQ(s["state"], "submission_failed");
  EXPECT_EQ(s["exit_status"], 3);
  EXPECT_EQ(s["reason"], "exit status 3");
  std::string tail;
  for (int i = 6; i <= 25; ++i) tail += "oops line " + std::to_string(i) + "\n";
  EXPECT_EQ(s["stderr_tail"], tail);
  auto table = target_.ctl({"import", "show", id});
  EXPECT_NE(table.out.find("submit: exit status 3"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("stderr: oops line 25"), std::string::npos) << table.out;
  EXPECT_NE(target_.ctl({"import", "list"}).out.find("2 submitted, 1 failed"), std::string::npos);

  write_script(hooks_ / "hook.sh", log_line_ + "exit 0\n");  // the fix
  auto again = target_.ctl({"import", "resubmit", id.substr(0, 8), "--wait"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("submit: 3 submitted"), std::string::npos) << again.out;
  shown = target_.ctl_json({"import", "show", id});
  EXPECT_EQ(shown["submissions"], (nlohmann::json{{"submitted", 3}})) << shown.dump(2);
  auto objects = by_address(shown);
  EXPECT_EQ(objects["task:/etl/will-fail"]["submission"]["attempts"], 2);
  EXPECT_EQ(objects["task:/etl/will-fail"]["submission"]["stderr_tail"], "");
  EXPECT_EQ(objects["task:/etl/load"]["submission"]["attempts"], 1);
  std::map<std::string, int> runs;
  for (const auto& c : invocations()) runs[c.at(3)]++;
  EXPECT_EQ(runs, (std::map<std::string, int>{{"task:/etl/load", 1}, {"task:/etl/will-fail", 2}, {kOddAddress, 1}}));

  auto nothing = target_.ctl({"import", "resubmit", id});
  EXPECT_EQ(nothing.exit_code, 1);
  EXPECT_NE(nothing.err.find("import " + id + " has no failed submissions; nothing to resubmit"), std::string::npos)
      << nothing.err;
}

TEST_F(ImportSubmit, AHookThatOutlivesSubmitTimeoutIsKilledWithItsProcessGroup) {
  write_script(hooks_ / "slow.sh", log_line_ + "echo $$ > '" + (hooks_ / "hook.pid").string() +
                                       "'\nsleep 300 &\necho $! > '" + (hooks_ / "sleep.pid").string() +
                                       "'\nwait\ntouch '" + (hooks_ / "finished").string() + "'\n");
  start_target(types_with_task("slow.sh", "1s"));
  auto id = import_package();
  auto shown = settled(id);
  EXPECT_EQ(shown["submissions"], (nlohmann::json{{"submission_failed", 3}})) << shown.dump(2);
  for (const auto& [address, o] : by_address(shown)) {
    if (!address.starts_with("task:")) continue;
    EXPECT_EQ(o["submission"]["reason"], "timed out after 1s (submit_timeout); its process group was killed");
    EXPECT_TRUE(o["submission"]["exit_status"].is_null());
  }
  // The script and the sleep it started are gone (when they got as far as saying who they were).
  for (const char* file : {"hook.pid", "sleep.pid"}) {
    if (!fs::exists(hooks_ / file)) continue;
    auto pid = read_text(hooks_ / file);
    pid.erase(pid.find_last_not_of('\n') + 1);
    EXPECT_TRUE(test::poll_until([&] { return !process_alive(pid); })) << file << " " << pid;
  }
  EXPECT_FALSE(fs::exists(hooks_ / "finished"));
}

TEST_F(ImportSubmit, StoppingFerrydKillsRunningHooksAndTheNextStartMarksThemInterrupted) {
  write_script(hooks_ / "slow.sh", log_line_ + "sleep 300 &\necho $! > '" + (hooks_ / "sleep.pid").string() +
                                       ".tmp'\nmv '" + (hooks_ / "sleep.pid").string() + ".tmp' '" +
                                       (hooks_ / "sleep.pid").string() + "'\nwait\n");
  start_target(types_with_task("slow.sh"));
  test::DirWatch watch(hooks_);
  auto id = import_package();
  ASSERT_TRUE(watch.wait_for([](const std::string& n) { return n == "sleep.pid"; }));
  auto pid = read_text(hooks_ / "sleep.pid");
  pid.erase(pid.find_last_not_of('\n') + 1);
  EXPECT_EQ(target_.stop(), 0);
  EXPECT_TRUE(test::poll_until([&] { return !process_alive(pid); })) << pid;
  target_.start();
  auto shown = target_.ctl_json({"import", "show", id});
  EXPECT_EQ(shown["submissions"], (nlohmann::json{{"submission_failed", 3}})) << shown.dump(2);
  EXPECT_EQ(by_address(shown)["task:/etl/load"]["submission"]["reason"], "interrupted: ferryd stopped");
  EXPECT_EQ(invocations().size(), 1u);  // one at a time: the others never started
}

TEST_F(ImportSubmit, TheReportBesideAWatchedPackageIsRewrittenWithTheOutcomes) {
  write_script(hooks_ / "hook.sh", log_line_ + "exit 0\n");
  auto inbox = target_.dir() / "inbox";
  fs::create_directories(inbox);
  start_target(types_with_task("hook.sh"), "watch:\n  - {dir: " + inbox.string() + ", settle: 1s}\n");
  test::DirWatch processed(inbox / "processed");
  fs::copy_file(out_ / "full.zip", inbox / ".full.tmp");
  fs::rename(inbox / ".full.tmp", inbox / "full.zip");
  ASSERT_TRUE(processed.wait_for([](const std::string& n) { return n == "full.report.json"; }));
  nlohmann::json report;
  EXPECT_TRUE(test::poll_until([&] {
    report = nlohmann::json::parse(read_text(inbox / "processed/full.report.json"));
    return report.contains("submissions");
  })) << report.dump(2);
  EXPECT_EQ(report["submissions"], (nlohmann::json{{"submitted", 3}}));
  for (const auto& o : report["objects"]) {
    if (o["type"] == "task") {
      EXPECT_EQ(o["submission"]["state"], "submitted") << o.dump();
    } else {
      EXPECT_TRUE(o["submission"].is_null()) << o.dump();
    }
  }
}

}  // namespace
}  // namespace ferry
