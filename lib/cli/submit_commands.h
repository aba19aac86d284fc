// Submit hooks in ferryctl: `import resubmit ID [--wait]`, and what `import FILE`,
// `import show` and `import list` print about each object's submit hook.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace ferry::cli {

/// An import's submissions ({"submitted": 3, "submission_failed": 1, "submitting": 2})
/// as "3 submitted, 1 failed, 2 running"; "-" when no hook ran.
std::string submit_summary(const nlohmann::json& submissions);

/// Whether any object of the record has a submission (the objects table then has a
/// SUBMIT column).
bool has_submissions(const nlohmann::json& record);

/// An object's submission state for the SUBMIT column: "submitted", "failed (2)"
/// with the number of attempts when more than one, "-" when no hook ran.
std::string submit_cell(const nlohmann::json& object);

/// Notes for the REASON column: "submit: REASON" and each stderr line "stderr: LINE".
std::vector<std::string> submit_notes(const nlohmann::json& object);

/// After `import FILE` deployed: "submit hooks queued for N objects; follow them with:
/// ferryctl import show ID"; "" when none were queued.
std::string submit_queued_line(const nlohmann::json& record);

/// `import resubmit ID [--wait]`: exit 0 when the hooks were started (without --wait)
/// or all ran well (with --wait); 1 when it was refused or a hook failed again.
int import_resubmit(const Globals& g, const std::string& id, bool wait);

}  // namespace ferry::cli
