// Post-deploy submit hooks (PRODUCT.md section 5, docs/import.md "Submit hooks"): after
// a deploy, each created or updated object whose type has `submit:` in types.yaml has
// that command run, and its outcome recorded apart from the deploy result
// (records::Submission: submitting, submitted, submission_failed).
//
// How a hook runs: the template is split into argv words and placeholders are
// substituted inside words (types::expand_command); the program is started with
// posix_spawnp, no shell, in a process group of its own, stdin and stdout on
// /dev/null, stderr on a pipe whose last 20 lines (at most 2 KiB) are kept, and the
// environment of ferryd plus FERRY_GUID, FERRY_ADDRESS, FERRY_TYPE and
// FERRY_IMPORT_ID. Its exit is awaited through a pidfd on the event loop. After
// `submit_timeout` the whole process group is killed (SIGKILL).
//
// Concurrency: one hook at a time per import, in plan (deploy) order; hooks of
// different imports may run side by side. On stop (SIGTERM) running hooks are killed
// and their objects stay `submitting`; the next start marks them
// `submission_failed` ("interrupted: ferryd stopped").
//
// Threads: queue_submissions() runs on a worker (inside run_import); Submitter lives on
// the event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "records/records.h"
#include "server/context.h"

namespace ferry::server {

/// One object whose hook is to run.
struct SubmitItem {
  size_t seq = 0;  ///< its index in the import's objects (plan order)
  std::string type, address, guid;
  int64_t attempts = 0;  ///< runs before this one
};

/// Which objects of an import get their type's hook: those whose deploy result is
/// `created` or `updated` (not unchanged, skipped, deleted or failed) and whose type
/// has `submit:`, in plan order. Judged per object, so the deployed objects of a
/// partially deployed import get theirs too.
std::vector<SubmitItem> submit_items(const types::TypeRegistry& types, const records::ImportRecord& record);

/// Worker, after run_import stored a deployed (or partially deployed) record: marks
/// the objects of submit_items() `submitting` (in records.db and in record) and hands
/// them to ctx.submitter on the event loop. Does nothing when there are none.
void queue_submissions(Context& ctx, records::ImportRecord& record);

/// `{"state", "reason", "exit_status", "stderr_tail", "attempts", "started_at",
/// "ended_at"}` for the control protocol and the report; null when no hook ran.
nlohmann::json submission_json(const records::Submission& s);

/// The end of a hook's stderr as recorded: the last 20 lines, at most 2 KiB (cut at
/// a line start when one is in reach), invalid UTF-8 replaced.
std::string stderr_tail(std::string_view text);

class HookProcess;

/// Runs the hooks. Owned by the Daemon; event loop only.
class Submitter {
 public:
  explicit Submitter(Context& ctx) : ctx_(ctx) {}
  Submitter(const Submitter&) = delete;
  Submitter& operator=(const Submitter&) = delete;

  /// Claims the import for a run of its hooks; false while its hooks run (or are
  /// claimed) already, or after stop().
  bool claim(const std::string& import_id);
  /// Runs the items of a claimed import one after the other, then releases it.
  void run(const std::string& import_id, std::vector<SubmitItem> items);
  /// Gives up a claim without running anything.
  void release(const std::string& import_id);
  bool running(const std::string& import_id) const { return imports_.contains(import_id); }
  /// Returns when the import's hooks have ended (at once when none run).
  boost::asio::awaitable<void> wait(std::string import_id);
  /// Kills every running hook's process group; outcomes stay `submitting`. Idempotent.
  void stop();

 private:
  boost::asio::awaitable<void> run_all(std::string import_id, std::vector<SubmitItem> items);
  boost::asio::awaitable<records::Submission> run_one(std::string import_id, SubmitItem item);
  boost::asio::awaitable<void> store(std::string import_id, size_t seq, records::Submission s);
  boost::asio::awaitable<void> rewrite_report(std::string import_id);

  struct Running {
    std::vector<std::shared_ptr<boost::asio::steady_timer>> waiters;  ///< cancelled when it ends
  };
  Context& ctx_;
  std::map<std::string, Running> imports_;
  std::set<std::shared_ptr<HookProcess>> processes_;
  bool stopped_ = false;
};

}  // namespace ferry::server
