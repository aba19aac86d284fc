#include "cli/submit_commands.h"

#include <iostream>
#include <sstream>

#include "cli/import_commands.h"
#include "cli/output.h"

namespace ferry::cli {

namespace {

int64_t count_of(const nlohmann::json& submissions, const char* state) {
  const auto& n = member(submissions, state);
  return n.is_number_integer() ? n.get<int64_t>() : 0;
}

}  // namespace

std::string submit_summary(const nlohmann::json& submissions) {
  std::string out;
  auto add = [&](const char* state, const char* word) {
    if (auto n = count_of(submissions, state); n > 0) out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + word;
  };
  add("submitted", "submitted");
  add("submission_failed", "failed");
  add("submitting", "running");
  return out.empty() ? "-" : out;
}

bool has_submissions(const nlohmann::json& record) {
  const auto& objects = member(record, "objects");
  if (!objects.is_array()) return false;
  for (const auto& o : objects)
    if (member(o, "submission").is_object()) return true;
  return false;
}

std::string submit_cell(const nlohmann::json& object) {
  const auto& s = member(object, "submission");
  if (!s.is_object()) return "-";
  auto state = cell(s, "state");
  if (state == "submission_failed") state = "failed";
  const auto& attempts = member(s, "attempts");
  if (attempts.is_number_integer() && attempts.get<int64_t>() > 1) state += " (" + cell(attempts) + ")";
  return state;
}

std::vector<std::string> submit_notes(const nlohmann::json& object) {
  std::vector<std::string> notes;
  const auto& s = member(object, "submission");
  if (!s.is_object()) return notes;
  if (auto reason = cell(s, "reason"); !reason.empty() && reason != "-") notes.push_back("submit: " + reason);
  std::istringstream tail(cell(s, "stderr_tail") == "-" ? "" : cell(s, "stderr_tail"));
  for (std::string line; std::getline(tail, line);) notes.push_back("stderr: " + line);
  return notes;
}

std::string submit_queued_line(const nlohmann::json& record) {
  auto n = count_of(member(record, "submissions"), "submitting");
  if (n == 0) return "";
  auto id = short_id(member(record, "id"));
  return "submit hooks queued for " + std::to_string(n) + " objects; follow them with: ferryctl import show " + id;
}

int import_resubmit(const Globals& g, const std::string& id, bool wait) {
  nlohmann::json r;
  if (int rc = call(g, "import.resubmit", {{"id", id}, {"wait", wait}}, r)) return rc;
  const auto& counts = member(r, "submissions");
  const bool failed = wait && count_of(counts, "submission_failed") > 0;
  if (!print_json(g, r)) {
    print_import_objects(std::cout, r);
    if (!wait) std::cout << submit_queued_line(r) << '\n';
    if (wait && !failed) std::cout << "submit: " << submit_summary(counts) << '\n';
  }
  std::cout.flush();
  if (failed) std::cerr << "ferryctl: submit: " << submit_summary(counts) << " (reasons above)\n";
  return static_cast<int>(failed ? Exit::failed : Exit::ok);
}

}  // namespace ferry::cli
