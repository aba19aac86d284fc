#include "cli/export_commands.h"

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include <sstream>

#include "cli/package_commands.h"

namespace ferry::cli {
namespace {

/// Parses `ferryctl ARGS...` with only the export command added.
ExportArgs parse(std::vector<std::string> args) {
  CLI::App app;
  ExportArgs a;
  add_export_command(app, a);
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector last-first
  app.parse(args);
  return a;
}

TEST(CliExport, RequestCarriesEverySelectionFlagAndMakesToAbsolute) {
  auto a = parse({"export",     "--mode", "selected", "--guid",        "g1",    "--guid",        "g2",   "--address",
                  "dataset:/a", "--type", "dataset",  "--folder",      "/x/**", "--object-name", "ord*", "--upstream",
                  "--no-data",  "--name", "n",        "--description", "d",     "--to",          "out/", "--to",
                  "/srv/b",     "--to",   "../c/./d", "--on-exists",   "skip",  "--wait"});
  auto r = export_request(a, "/home/alice/work");
  EXPECT_EQ(r, nlohmann::json::parse(R"({
    "mode": "selected",
    "select": {"guids": ["g1", "g2"], "addresses": ["dataset:/a"], "types": ["dataset"],
               "folders": ["/x/**"], "names": ["ord*"]},
    "upstream": true, "data": false, "name": "n", "description": "d",
    "to": ["/home/alice/work/out", "/srv/b", "/home/alice/c/d"],
    "on_exists": "skip", "wait": true})"));
}

TEST(CliExport, OptionalMembersAreLeftOut) {
  auto r = export_request(parse({"export", "--mode", "incremental", "--since", "0f8c2b6e"}), "/");
  EXPECT_EQ(r, nlohmann::json::parse(R"({
    "mode": "incremental", "since": "0f8c2b6e",
    "select": {"guids": [], "addresses": [], "types": [], "folders": [], "names": []},
    "upstream": false, "data": true, "to": [], "wait": false})"));
}

TEST(CliExport, UsageErrors) {
  EXPECT_THROW(parse({"export"}), CLI::RequiredError);
  EXPECT_THROW(parse({"export", "--mode", "partial"}), CLI::ValidationError);
  EXPECT_THROW(parse({"export", "--mode", "full", "--on-exists", "replace"}), CLI::ValidationError);
  EXPECT_THROW(parse({"export", "--mode", "full", "stray"}), CLI::ExtrasError);
}

nlohmann::json sample_package() {
  return nlohmann::json::parse(R"({
    "id": "0f8c2b6e-1d2a-4c3b-9e4f-5a6b7c8d9e0f", "name": "prod-full-1", "description": "nightly",
    "job": null, "mode": "full", "state": "succeeded", "user": "alice",
    "created_at": "2026-01-01T10:15:00Z", "started_at": "2026-01-01T10:15:01Z", "ended_at": "2026-01-01T10:15:09Z",
    "object_count": 12, "size": 1572864, "sha256": "ab12", "error": "", "file": "/var/lib/ferry/packages/prod-full-1.zip",
    "progress": {"objects_done": 12, "objects_total": 12, "bytes_done": 1572864, "bytes_total": 1572864},
    "deliveries": [
      {"dir": "/srv/out", "file": "/srv/out/prod-full-1.zip", "state": "delivered", "note": ""},
      {"dir": "/srv/b", "file": null, "state": "skipped", "note": "skipped: /srv/b/prod-full-1.zip exists"}],
    "revision_from": 0, "revision_to": 42})");
}

TEST(CliExport, SummaryShowsTheRecordAndWhereItWent) {
  std::ostringstream out;
  print_package_summary(out, sample_package());
  EXPECT_EQ(out.str(),
            "id       0f8c2b6e-1d2a-4c3b-9e4f-5a6b7c8d9e0f\n"
            "name     prod-full-1\n"
            "state    succeeded\n"
            "objects  12\n"
            "size     1.5 MiB\n"
            "sha256   ab12\n"
            "file     /var/lib/ferry/packages/prod-full-1.zip\n"
            "\n"
            "DELIVERED-TO  FILE                      STATE      NOTE\n"
            "/srv/out      /srv/out/prod-full-1.zip  delivered  \n"
            "/srv/b        -                         skipped    skipped: /srv/b/prod-full-1.zip exists\n");
}

TEST(CliExport, SummaryNamesTheErrorOrTheReasonForSkipping) {
  auto p = sample_package();
  p["deliveries"] = nlohmann::json::array();
  p["state"] = "skipped";
  p["error"] = "no changes";
  std::ostringstream out;
  print_package_summary(out, p);
  EXPECT_NE(out.str().find("\nreason   no changes\n"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("DELIVERED-TO"), std::string::npos);
  p["state"] = "failed";
  p["error"] = "dependency cycle: a -> b -> a";
  out.str("");
  print_package_summary(out, p);
  EXPECT_NE(out.str().find("\nerror    dependency cycle: a -> b -> a\n"), std::string::npos) << out.str();
}

TEST(CliPackage, ListShowsShortIdsAndHumanSizes) {
  auto p = sample_package();
  nlohmann::json result = {{"packages", {p}}};
  std::ostringstream out;
  print_package_list(out, result);
  EXPECT_EQ(out.str(),
            "ID        NAME         STATE      OBJECTS  SIZE     CREATED               USER\n"
            "0f8c2b6e  prod-full-1  succeeded  12       1.5 MiB  2026-01-01T10:15:00Z  alice\n");
}

TEST(CliPackage, ShowHasSettingsObjectsAndDeliveries) {
  auto p = sample_package();
  p["settings"] = {{"mode", "full"}};
  p["objects"] = {{{"guid", "g1"}, {"type", "dataset"}, {"address", "dataset:/a"}}};
  std::ostringstream out;
  print_package_details(out, p);
  auto text = out.str();
  EXPECT_NE(text.find("revisions    0..42\n"), std::string::npos) << text;
  EXPECT_NE(text.find("progress     12/12 objects, 1.5 MiB/1.5 MiB\n"), std::string::npos) << text;
  EXPECT_NE(text.find("job          -\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nsettings\n{\n  \"mode\": \"full\"\n}\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nTYPE     ADDRESS     GUID\ndataset  dataset:/a  g1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nDELIVERED-TO"), std::string::npos) << text;
}

}  // namespace
}  // namespace ferry::cli
