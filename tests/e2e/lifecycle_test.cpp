// End-to-end export side (issue 6): incremental exports across create, update and
// delete; metadata-only packages; package retry, delete and forward; progress
// events; manual maintenance; retention. Real ferryd, real ferryctl, real zips.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <set>

#include "control/control.h"
#include "e2e/e2e_fixture.h"
#include "support/dir_watch.h"

namespace ferry {
namespace {

namespace fs = std::filesystem;
using test::Environment;

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json manifest_of(const fs::path& package) {
  auto r = test::run({"unzip", "-p", package.string(), "manifest.json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

std::set<std::string> addresses(const nlohmann::json& entries) {
  std::set<std::string> out;
  for (const auto& o : entries) {
    std::string folder = o["folder"];
    out.insert(o["type"].get<std::string>() + ":" + (folder == "/" ? "" : folder) + "/" + o["name"].get<std::string>());
  }
  return out;
}

class Lifecycle : public ::testing::Test {
 protected:
  void SetUp() override { SetUpWith(""); }
  void SetUpWith(const std::string& extra) {
    env_.configure(Environment::Key::yes, extra);
    fs::create_directories(out_);
    env_.start();
    env_.ctl_json({"object", "apply", "-f", test::source_path("etc/examples/objects.yaml").string()});
  }
  nlohmann::json export_to(std::vector<std::string> extra) {
    std::vector<std::string> args{"export", "--to", out_.string(), "--wait"};
    args.insert(args.end(), extra.begin(), extra.end());
    return env_.ctl_json(args);
  }
  void apply(const std::string& yaml) {
    auto file = test::write_text(env_.dir() / "change.yaml", yaml);
    env_.ctl_json({"object", "apply", "-f", file.string()});
  }
  std::string id(const nlohmann::json& record) { return record["id"].get<std::string>(); }

  Environment env_{"test"};
  fs::path out_ = env_.dir() / "outbox";
};

const char* kCustomers = R"(objects:
  - {type: dataset, name: customers, folder: /finance, spec: {query: "%s"},
     refs: [{to: "datasource:/shared/warehouse"}]}
)";

std::string customers(const std::string& query) {
  std::string text = kCustomers;
  return text.replace(text.find("%s"), 2, query);
}

TEST_F(Lifecycle, IncrementalCarriesExactlyTheChangesAndDeletionsSinceItsBaseline) {
  apply("objects:\n  - {type: dataset, name: tmp, folder: /marketing, refs: [{to: \"datasource:/shared/events\"}]}\n");
  auto base = export_to({"--mode", "full", "--name", "base"});
  ASSERT_EQ(base["state"], "succeeded") << base.dump(2);
  EXPECT_EQ(base["object_count"], 11);

  // Update one, create one, delete one.
  apply(customers("select id from customers") +
        "  - {type: dataset, name: views, folder: /marketing, refs: [{to: \"datasource:/shared/events\"}]}\n");
  auto tmp = env_.ctl_json({"object", "get", "dataset:/marketing/tmp"});
  env_.ctl_json({"object", "delete", "dataset:/marketing/tmp"});

  auto inc1 = export_to({"--mode", "incremental", "--since", id(base), "--name", "inc1"});
  ASSERT_EQ(inc1["state"], "succeeded") << inc1.dump(2);
  auto m1 = manifest_of(out_ / "inc1.zip");
  EXPECT_EQ(addresses(m1["objects"]),
            (std::set<std::string>{"dataset:/finance/customers", "dataset:/marketing/views"}));
  ASSERT_EQ(m1["deleted"].size(), 1u);
  EXPECT_EQ(m1["deleted"][0]["guid"], tmp["guid"]);
  EXPECT_EQ(addresses(m1["deleted"]), (std::set<std::string>{"dataset:/marketing/tmp"}));
  EXPECT_EQ(m1["previous_package_id"], id(base));
  EXPECT_EQ(m1["revisions"]["from"], base["revision_to"]);
  EXPECT_EQ(m1["revisions"]["to"], inc1["revision_to"]);

  // Nothing changed since inc1: no package, recorded as skipped.
  auto before = names_in(out_);
  auto none = export_to({"--mode", "incremental", "--since", id(inc1), "--name", "none"});
  EXPECT_EQ(none["state"], "skipped");
  EXPECT_EQ(none["error"], "no changes");
  EXPECT_TRUE(none["file"].is_null());
  EXPECT_EQ(names_in(out_), before);

  // Selection flags filter changes and deletions alike.
  apply(customers("select name from customers"));
  env_.ctl_json({"object", "delete", "dataset:/marketing/views"});
  auto marketing = export_to({"--mode", "incremental", "--since", id(inc1), "--folder", "/marketing", "--name", "mk"});
  ASSERT_EQ(marketing["state"], "succeeded") << marketing.dump(2);
  auto mk = manifest_of(out_ / "mk.zip");
  EXPECT_TRUE(mk["objects"].empty());
  EXPECT_EQ(addresses(mk["deleted"]), (std::set<std::string>{"dataset:/marketing/views"}));
  auto finance = export_to({"--mode", "incremental", "--since", id(inc1), "--folder", "/finance", "--name", "fi"});
  auto fi = manifest_of(out_ / "fi.zip");
  EXPECT_EQ(addresses(fi["objects"]), (std::set<std::string>{"dataset:/finance/customers"}));
  EXPECT_TRUE(fi["deleted"].empty());
}

TEST_F(Lifecycle, NoDataListsAttachmentsByHashWithoutCarryingThem) {
  auto p = export_to({"--mode", "full", "--no-data", "--name", "meta"});
  ASSERT_EQ(p["state"], "succeeded") << p.dump(2);
  auto listing = test::run({"unzip", "-Z1", (out_ / "meta.zip").string()});
  EXPECT_EQ(listing.out.find("attachments/"), std::string::npos) << listing.out;
  auto m = manifest_of(out_ / "meta.zip");
  EXPECT_EQ(m["export"]["include_data"], false);
  auto orders = env_.ctl_json({"object", "get", "dataset:/finance/orders"});
  bool listed = false;
  for (const auto& o : m["objects"]) {
    if (o["name"] == "orders") listed = o["attachments"][0]["sha256"] == orders["attachments"][0]["sha256"];
  }
  EXPECT_TRUE(listed) << m["objects"].dump(2);
}

TEST_F(Lifecycle, RetryReExportsAFailedPackageWithTheSameSettings) {
  auto missing = env_.dir() / "later";
  auto r = env_.ctl({"--json", "export", "--mode", "selected", "--folder", "/finance", "--name", "rel", "--to",
                     missing.string(), "--wait"});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  auto failed = nlohmann::json::parse(r.out);
  EXPECT_EQ(failed["state"], "failed");

  fs::create_directories(missing);
  auto retried = env_.ctl_json({"package", "retry", id(failed), "--wait"});
  ASSERT_EQ(retried["state"], "succeeded") << retried.dump(2);
  EXPECT_NE(id(retried), id(failed));
  EXPECT_EQ(retried["name"], "rel");
  EXPECT_EQ(retried["retry_of"], id(failed));
  EXPECT_EQ(retried["object_count"], 2);  // the same selection: the two /finance datasets
  EXPECT_EQ(names_in(missing), (std::vector<std::string>{"rel.zip", "rel.zip.sha256"}));

  auto again = env_.ctl({"package", "retry", id(retried)});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("is succeeded; only a failed or cancelled package can be retried"), std::string::npos)
      << again.err;
}

TEST_F(Lifecycle, ForwardHonoursEachOnExistsPolicyAndIsRecorded) {
  auto p = export_to({"--mode", "full", "--name", "fw"});
  ASSERT_EQ(p["state"], "succeeded");
  auto there = env_.dir() / "there";
  fs::create_directories(there);
  auto first = env_.ctl_json({"package", "forward", id(p), "--to", there.string(), "--wait"});
  EXPECT_EQ(first["state"], "delivered");
  auto renamed = env_.ctl_json({"package", "forward", id(p), "--to", there.string(), "--wait"});
  EXPECT_EQ(renamed["file"], (there / "fw-2.zip").string());
  auto skipped = env_.ctl_json({"package", "forward", id(p), "--to", there.string(), "--on-exists", "skip", "--wait"});
  EXPECT_EQ(skipped["state"], "skipped");
  test::write_text(there / "fw.zip", "stale");
  auto over =
      env_.ctl_json({"package", "forward", id(p), "--to", there.string(), "--on-exists", "overwrite", "--wait"});
  EXPECT_EQ(over["state"], "delivered");
  EXPECT_EQ(fs::file_size(there / "fw.zip"), p["size"].get<uint64_t>());
  EXPECT_EQ(names_in(there), (std::vector<std::string>{"fw-2.zip", "fw-2.zip.sha256", "fw.zip", "fw.zip.sha256"}));
  test::RunOptions in_there;
  in_there.cwd = there;
  EXPECT_EQ(test::run({"sha256sum", "-c", "fw.zip.sha256", "fw-2.zip.sha256"}, in_there).exit_code, 0);

  auto forwards = env_.ctl_json({"package", "forwards", id(p)})["forwards"];
  ASSERT_EQ(forwards.size(), 4u);
  std::vector<std::string> states;
  for (const auto& f : forwards) states.push_back(f["state"]);
  EXPECT_EQ(states, (std::vector<std::string>{"delivered", "delivered", "skipped", "delivered"}));
  EXPECT_EQ(forwards[3]["on_exists"], "overwrite");
  EXPECT_FALSE(forwards[0]["user"].get<std::string>().empty());
  auto shown = env_.ctl_json({"package", "show", id(p)});
  EXPECT_EQ(shown["deliveries"].size(), 1u);
  EXPECT_EQ(shown["forwards"].size(), 4u);
}

TEST_F(Lifecycle, DeleteRemovesFileAndRecordButNotDeliveredCopies) {
  auto p = export_to({"--mode", "full", "--name", "gone"});
  ASSERT_EQ(p["state"], "succeeded");
  auto stored = fs::path(p["file"].get<std::string>());
  ASSERT_TRUE(fs::exists(stored));
  auto deleted = env_.ctl_json({"package", "delete", id(p)});
  EXPECT_EQ(deleted["deleted"], true);
  EXPECT_FALSE(fs::exists(stored));
  auto shown = env_.ctl({"package", "show", id(p)});
  EXPECT_EQ(shown.exit_code, 1);
  EXPECT_NE(shown.err.find("no package " + id(p)), std::string::npos) << shown.err;
  EXPECT_TRUE(fs::exists(out_ / "gone.zip"));
}

// Progress events reach a `--wait` caller: bytes only grow, and the last event has
// all of them.
TEST_F(Lifecycle, WaitingCallerGetsProgressEvents) {
  std::ofstream big(env_.dir() / "big.bin", std::ios::binary);
  std::mt19937_64 rng(7);
  std::vector<uint64_t> chunk(1 << 17);
  for (int i = 0; i < 16; ++i) {  // 16 MiB, incompressible
    for (auto& v : chunk) v = rng();
    big.write(reinterpret_cast<const char*>(chunk.data()), static_cast<std::streamsize>(chunk.size() * 8));
  }
  big.close();
  apply("objects:\n  - {type: dataset, name: big, folder: /x, attachments: [{file: big.bin}]}\n");
  auto client = control::Client::connect(env_.socket());
  ASSERT_TRUE(client) << client.error().message;
  std::vector<nlohmann::json> events;
  auto done = client->call("export", {{"mode", "full"}, {"wait", true}}, {},
                           [&](const nlohmann::json& e) { events.push_back(e); });
  ASSERT_TRUE(done) << done.error().message;
  ASSERT_EQ((*done)["state"], "succeeded");
  ASSERT_FALSE(events.empty());
  uint64_t last = 0;
  for (const auto& e : events) {
    EXPECT_EQ(e["event"], "progress");
    EXPECT_EQ(e["package"], (*done)["id"]);
    EXPECT_EQ(e["objects_total"], (*done)["object_count"]);
    EXPECT_GE(e["bytes_done"].get<uint64_t>(), last);
    last = e["bytes_done"];
  }
  EXPECT_EQ(events.back()["bytes_done"], events.back()["bytes_total"]);
  EXPECT_GT(events.back()["bytes_total"].get<uint64_t>(), uint64_t{16} << 20);
  auto shown = env_.ctl_json({"package", "show", (*done)["id"].get<std::string>()});
  EXPECT_EQ(shown["progress"]["bytes_done"], shown["progress"]["bytes_total"]);
  EXPECT_EQ(shown["progress"]["objects_done"], shown["object_count"]);

  // On a terminal ferryctl draws them as a bar on stderr.
  auto tty = test::run(
      {"script", "-qec",
       std::string(FERRYCTL_PATH) + " --socket " + env_.socket().string() + " export --mode full --wait --name bar",
       "/dev/null"});
  EXPECT_EQ(tty.exit_code, 0) << tty.out;
  EXPECT_NE(tty.out.find("[####################] 100%"), std::string::npos) << tty.out;
}

class Retained : public Lifecycle {
 protected:
  void SetUp() override { SetUpWith("retention: {days: 0, keep_last: 2}\n"); }
};

TEST_F(Retained, OldPackagesBeyondKeepLastArePruned) {
  test::DirWatch store(env_.store());
  std::vector<std::string> ids;
  for (const char* name : {"r1", "r2", "r3", "r4"}) {
    auto p = env_.ctl_json({"export", "--mode", "full", "--name", name, "--wait"});
    ASSERT_EQ(p["state"], "succeeded");
    ids.push_back(id(p));
  }
  // The record goes before the file, so once the files are gone so are the records.
  ASSERT_TRUE(store.wait_gone([&](const std::string& n) { return n == ids[0] + ".zip" || n == ids[1] + ".zip"; }));
  std::vector<std::string> left;
  auto listed = env_.ctl_json({"package", "list"});
  for (const auto& p : listed["packages"]) left.push_back(p["name"]);
  EXPECT_EQ(left, (std::vector<std::string>{"r4", "r3"}));
  auto kept = std::vector<std::string>{ids[2] + ".zip", ids[3] + ".zip"};
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(names_in(env_.store()), kept);
}

// Editors are refused while an admin holds maintenance on, with the reason, who and
// since when; it survives a restart and ends with `maintenance off`.
class Maintenance : public Lifecycle {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for setpriv";
    SetUpWith(extra_ + "socket_group: nogroup\nroles: {editor: [nogroup]}\n");
    fs::permissions(env_.dir(), fs::perms(0755));
    small_ = test::write_text(env_.dir() / "small.yaml", "objects:\n  - {type: dataset, name: s, folder: /x}\n");
    fs::permissions(small_, fs::perms(0644));
    editor_.prefix = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  }
  test::RunResult editor_apply() { return env_.ctl({"object", "apply", "-f", small_.string()}, editor_); }

  std::string extra_;
  fs::path small_;
  test::RunOptions editor_;
};

TEST_F(Maintenance, AdminHoldsItOnAcrossRestartsUntilOff) {
  auto refused_role = env_.ctl({"maintenance", "on"}, editor_);
  EXPECT_EQ(refused_role.exit_code, 4) << refused_role.err;
  auto on = env_.ctl_json({"maintenance", "on", "--reason", "release 42"});
  EXPECT_EQ(on["on"], true);
  auto refused = editor_apply();
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("object apply refused: the environment is in maintenance since "), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find(", turned on by root: release 42"), std::string::npos) << refused.err;
  EXPECT_EQ(env_.ctl({"object", "apply", "-f", small_.string()}).exit_code, 0);  // admins are not frozen

  EXPECT_EQ(env_.stop(), 0);
  env_.start();
  auto status = env_.ctl_json({"maintenance", "status"});
  EXPECT_EQ(status["on"], true);
  EXPECT_EQ(status["manual"]["reason"], "release 42");
  EXPECT_EQ(status["manual"]["since"], on["manual"]["since"]);
  EXPECT_EQ(editor_apply().exit_code, 1);

  EXPECT_EQ(env_.ctl_json({"maintenance", "off"})["on"], false);
  auto allowed = editor_apply();
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
}

class ManualEnd : public Maintenance {
 protected:
  void SetUp() override {
    extra_ = "maintenance: {end: manual}\n";
    Maintenance::SetUp();
  }
};

TEST_F(ManualEnd, ExportLeavesMaintenanceOnUntilAnAdminEndsIt) {
  EXPECT_EQ(editor_apply().exit_code, 0);
  auto p = env_.ctl_json({"export", "--mode", "full", "--name", "m", "--wait"});
  ASSERT_EQ(p["state"], "succeeded");
  auto status = env_.ctl_json({"maintenance", "status"});
  EXPECT_EQ(status["on"], true);
  EXPECT_TRUE(status["exports"].empty());
  EXPECT_NE(status["manual"]["reason"].get<std::string>().find("export m (" + id(p) + ")"), std::string::npos);
  auto refused = editor_apply();
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("maintenance.end is manual"), std::string::npos) << refused.err;
  env_.ctl_json({"maintenance", "off"});
  EXPECT_EQ(editor_apply().exit_code, 0);
}

}  // namespace
}  // namespace ferry
