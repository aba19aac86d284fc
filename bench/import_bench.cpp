// import_bench: a full import of a package, timed phase by phase, beside the time the
// `sqlite3` shell takes to bulk-insert the same rows in one transaction. What each
// figure means: docs/bench.md.
//
//  1. (not timed) WORK/package.zip and WORK/bench.pub: made once from a gen_catalog
//     catalog (a full export signed with a throwaway key), reused by later runs;
//  2. (timed) ferry: open_package() (every check and hash), importer::plan() against
//     an empty destination catalog, importer::deploy() (one transaction), as ferryd's
//     import job does them on a worker; peak RSS is reset just before and read after;
//  3. (timed) the same package again over the imported catalog (all unchanged), and
//     again after every 10th object was changed here (updates);
//  4. (timed) `sqlite3 FRESH.db < WORK/rows.sql`: the objects, refs and attachments
//     rows the import wrote (read back from the destination catalog, not timed), as
//     INSERT statements between BEGIN and COMMIT, into the same tables, indexes and
//     pragmas (WAL, synchronous FULL, foreign keys, cache size) as ferry's catalog.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "catalog/catalog.h"
#include "export/export.h"
#include "import/import.h"
#include "package/package.h"
#include "signing/signing.h"
#include "sqlitedb/sqlitedb.h"
#include "util/guid.h"
#include "util/time.h"

namespace ferry::bench {
namespace {

namespace fs = std::filesystem;

/// A full export of the catalog at cat_dir into package, signed with a new key whose
/// .pub is written to work (not timed: export_bench measures this).
void make_package(const fs::path& cat_dir, const fs::path& work, const fs::path& package) {
  auto types = bench_types();
  auto catalog = catalog::Catalog::open(cat_dir, types, system_clock());
  if (!catalog) die(catalog.error().message);
  if (auto st = signing::keygen(work, "bench"); !st) die(st.error().message);
  auto key = signing::load_secret_key(work / "bench.key");
  if (!key) die(key.error().message);
  auto snap = (*catalog)->snapshot();
  if (!snap) die(snap.error().message);
  auto objects = (*snap)->objects();
  if (!objects) die(objects.error().message);
  auto tombstones = (*snap)->tombstones(0);
  if (!tombstones) die(tombstones.error().message);
  exporter::Request request;
  auto plan = exporter::plan(*objects, *tombstones, (*snap)->revision(), types, request);
  if (!plan) die(plan.error().message);
  exporter::WriteInput input;
  input.package_id = new_guid();
  input.name = "bench";
  input.description = "import_bench";
  input.export_settings = exporter::settings_json(request);
  input.source = {"bench", "single", FERRY_VERSION};
  input.created_at = system_clock().now();
  auto& s = **snap;
  auto& c = **catalog;
  exporter::LoadSpec load_spec = [&s](const std::string& guid) { return s.spec(guid); };
  exporter::BlobPath blob_path = [&c](const std::string& sha) { return c.blob_path(sha); };
  auto written = exporter::write(*plan, input, types, load_spec, blob_path, package, *key, {});
  if (!written) die(written.error().message);
}

struct Import {
  double open_seconds = 0, open_cpu = 0;
  double plan_seconds = 0, plan_cpu = 0;
  double deploy_seconds = 0, deploy_cpu = 0;
  double total_seconds = 0, total_cpu = 0;
  uint64_t rss_before = 0;
  uint64_t peak_rss = 0;
  size_t objects = 0;
  size_t creates = 0, updates = 0, unchanged = 0;
};

/// What ferryd's import job does on its worker: open_package, plan, deploy.
Import run_import(const fs::path& package, const signing::TrustStore& trust, catalog::Catalog& catalog,
                  const types::TypeRegistry& types) {
  Import r;
  if (!reset_peak_rss()) std::fprintf(stderr, "warning: cannot reset VmHWM; peak RSS includes earlier work\n");
  r.rss_before = current_rss();
  Stopwatch total;
  Stopwatch phase;
  const double cpu_start = self_cpu_seconds();
  double cpu = cpu_start;
  auto lap = [&cpu] {
    double now = self_cpu_seconds(), used = now - cpu;
    cpu = now;
    return used;
  };
  package::ReadOptions options;
  options.trust = &trust;
  options.expected_engine = "single";
  auto pkg = package::open_package(package, options);
  if (!pkg) die(pkg.error().message);
  r.open_seconds = phase.seconds();
  r.open_cpu = lap();

  phase = Stopwatch();
  auto plan = importer::plan(*pkg, catalog, types, importer::Secrets(), importer::Policy());
  if (!plan) die(plan.error().message);
  if (!plan->ok()) die("the plan is not ok: " + plan->problems().front());
  r.plan_seconds = phase.seconds();
  r.plan_cpu = lap();

  phase = Stopwatch();
  auto result = importer::deploy(*pkg, *plan, catalog, new_guid(), "bench");
  if (!result) die(result.error().message);
  if (result->state == importer::ImportState::failed) die("the deploy failed: " + result->error);
  r.deploy_seconds = phase.seconds();
  r.deploy_cpu = lap();
  r.total_seconds = total.seconds();
  r.total_cpu = cpu - cpu_start;
  r.peak_rss = peak_rss();
  r.objects = pkg->manifest().objects.size();
  r.creates = plan->count(importer::Action::create);
  r.updates = plan->count(importer::Action::update);
  r.unchanged = plan->count(importer::Action::unchanged);
  return r;
}

void print_import(const char* title, const Import& r) {
  std::printf("\n%s\n", title);
  std::printf("  wall        %.2f s  (open_package %.2f, plan %.2f, deploy %.2f)\n", r.total_seconds, r.open_seconds,
              r.plan_seconds, r.deploy_seconds);
  std::printf("  CPU         %.2f s  (open_package %.2f, plan %.2f, deploy %.2f; user + system)\n", r.total_cpu,
              r.open_cpu, r.plan_cpu, r.deploy_cpu);
  std::printf("  objects/s   %.0f  (%zu objects: %zu create, %zu update, %zu unchanged)\n",
              static_cast<double>(r.objects) / r.total_seconds, r.objects, r.creates, r.updates, r.unchanged);
  std::printf("  peak RSS    %s (VmHWM; %s resident before the import)\n", human_bytes(r.peak_rss).c_str(),
              human_bytes(r.rss_before).c_str());
}

/// Changes the spec of every 10th object (by GUID order) here, so that importing the
/// package again updates them back.
size_t change_every_tenth(catalog::Catalog& catalog) {
  auto all = catalog.list({});
  if (!all) die(all.error().message);
  std::vector<catalog::ObjectDraft> drafts;
  for (size_t i = 0; i < all->size(); i += 10) {
    const auto& o = (*all)[i];
    catalog::ObjectDraft d;
    d.guid = o.guid;
    d.type = o.type;
    d.name = o.name;
    d.folder = o.folder;
    d.spec = o.spec;
    d.spec["bench_changed"] = true;
    for (const auto& r : o.refs) d.refs.push_back({r.to_guid, r.kind, ""});
    d.attachments = o.attachments;
    drafts.push_back(std::move(d));
  }
  for (size_t from = 0; from < drafts.size(); from += 1000) {
    std::vector<catalog::ObjectDraft> batch(
        drafts.begin() + static_cast<ptrdiff_t>(from),
        drafts.begin() + static_cast<ptrdiff_t>(std::min(from + 1000, drafts.size())));
    if (auto st = catalog.apply(batch, "bench"); !st) die(st.error().message);
  }
  return drafts.size();
}

/// WORK/rows.sql: pragmas and schema as in catalog.db, then every objects, refs and
/// attachments row of the imported catalog as an INSERT, between BEGIN and COMMIT.
uint64_t write_rows_sql(const fs::path& db_path, const fs::path& out) {
  SQLite::Database db(db_path.string(), SQLite::OPEN_READONLY);
  std::ofstream sql(out, std::ios::binary);
  sql << "PRAGMA journal_mode = WAL;\nPRAGMA foreign_keys = ON;\nPRAGMA synchronous = FULL;\n"
      << sqlitedb::kCacheSizePragma << ";\n";
  const char* tables[] = {"objects", "refs", "attachments"};
  for (const char* table : tables) {
    SQLite::Statement schema(db,
                             "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
                             "ORDER BY type = 'index', rowid");
    schema.bind(1, table);
    while (schema.executeStep()) sql << schema.getColumn(0).getString() << ";\n";
  }
  sql << "BEGIN;\n";
  uint64_t rows = 0;
  for (const char* table : tables) {
    SQLite::Statement columns(db, std::string("SELECT name FROM pragma_table_info('") + table + "') ORDER BY cid");
    std::string values;
    while (columns.executeStep()) {
      values += (values.empty() ? "" : " || ',' || ") + std::string("quote(") + columns.getColumn(0).getString() + ")";
    }
    SQLite::Statement q(db, "SELECT 'INSERT INTO " + std::string(table) + " VALUES(' || " + values + " || ');' FROM " +
                                table + " ORDER BY rowid");
    while (q.executeStep()) {
      sql << q.getColumn(0).getString() << "\n";
      ++rows;
    }
  }
  sql << "COMMIT;\n";
  if (!sql.flush()) die("cannot write " + out.string());
  return rows;
}

struct Shell {
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t peak_rss = 0;
};

/// `sqlite3 -bail db < sql > /dev/null`, timed from spawn to exit. posix_spawn, not
/// fork: a forked copy of this process would count in the child's ru_maxrss.
Shell run_sqlite3(const fs::path& db, const fs::path& sql) {
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 0, sql.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0);
  std::string file = db.string();
  char* args[] = {const_cast<char*>("sqlite3"), const_cast<char*>("-bail"), file.data(), nullptr};
  Stopwatch clock;
  pid_t pid = 0;
  int spawned = posix_spawnp(&pid, "sqlite3", &files, nullptr, args, environ);
  posix_spawn_file_actions_destroy(&files);
  if (spawned != 0) die("cannot run sqlite3; is the sqlite3 shell installed (apt-get install sqlite3)?");
  // VmHWM of the running shell, sampled: ru_maxrss would include this process's
  // pages, which the child shared until its exec.
  const std::string status_path = "/proc/" + std::to_string(pid) + "/status";
  uint64_t hwm = 0;
  int status = 0;
  struct rusage usage {};
  for (;;) {
    pid_t done = ::wait4(pid, &status, WNOHANG, &usage);
    if (done == pid) break;
    if (done < 0) die("wait4 failed");
    std::ifstream in(status_path);
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("VmHWM:")) hwm = std::max<uint64_t>(hwm, std::stoull(line.substr(6)) * 1024);
    }
    ::usleep(10000);
  }
  Shell s;
  s.seconds = clock.seconds();
  s.cpu_seconds = cpu_seconds(usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    die("sqlite3 failed (exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
        "); is the sqlite3 shell installed (apt-get install sqlite3)?");
  }
  s.peak_rss = hwm;
  return s;
}

int run(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure as it comes, also into a file
  auto flags = parse_flags(
      argc, argv,
      {{"catalog", "bench-data/catalog"}, {"work", "bench-data/import-work"}, {"again", "yes"}, {"sqlite", "yes"}},
      "import_bench: open, plan and deploy a package vs sqlite3 bulk insert (docs/bench.md)");
  fs::path work = fs::absolute(flags["work"]);
  fs::path package = work / "package.zip";
  fs::create_directories(work);
  if (!fs::exists(package) || !fs::exists(work / "bench.pub")) {
    fs::path cat_dir = flags["catalog"];
    if (!fs::exists(cat_dir / "catalog.db")) die(cat_dir.string() + " has no catalog.db; run gen_catalog first");
    fs::remove(work / "bench.key");
    fs::remove(work / "bench.pub");
    fs::remove(package);
    Stopwatch clock;
    make_package(cat_dir, work, package);
    std::printf("package       %s exported from %s in %.1f s (not timed; kept for later runs)\n", package.c_str(),
                cat_dir.c_str(), clock.seconds());
  } else {
    std::printf("package       %s (reused; remove it to export again)\n", package.c_str());
  }
  std::printf("              %s\n", human_bytes(fs::file_size(package)).c_str());
  auto pub = signing::load_public_key(work / "bench.pub");
  if (!pub) die(pub.error().message);
  signing::TrustStore trust;
  trust.add(*pub, std::nullopt, "bench");

  auto types = bench_types();
  fs::path dest = work / "dest";
  fs::remove_all(dest);
  auto catalog = catalog::Catalog::open(dest, types, system_clock());
  if (!catalog) die(catalog.error().message);
  auto first = run_import(package, trust, **catalog, types);
  print_import("ferry import into an empty catalog", first);

  if (flags["again"] == "yes") {
    print_import("ferry import again (everything unchanged)", run_import(package, trust, **catalog, types));
    size_t changed = change_every_tenth(**catalog);
    std::printf("\n(%zu objects changed here, not timed)\n", changed);
    print_import("ferry import over changes (every 10th object updated)", run_import(package, trust, **catalog, types));
  }

  if (flags["sqlite"] == "yes") {
    // Rows as the first import left them (the later runs only change specs and revisions).
    auto sql = work / "rows.sql";
    uint64_t rows = write_rows_sql(dest / "catalog.db", sql);
    auto fresh = work / "sqlite3.db";
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(fresh.string() + suffix);
    auto s = run_sqlite3(fresh, sql);
    std::printf("\nsqlite3 shell: %llu INSERTs (objects, refs, attachments; %s of SQL) in one transaction\n",
                static_cast<unsigned long long>(rows), human_bytes(fs::file_size(sql)).c_str());
    std::printf("  wall        %.2f s\n", s.seconds);
    std::printf("  CPU         %.2f s\n", s.cpu_seconds);
    std::printf("  objects/s   %.0f\n", static_cast<double>(first.objects) / s.seconds);
    std::printf("  peak RSS    %s (VmHWM sampled every 10 ms)\n", human_bytes(s.peak_rss).c_str());
    std::printf("\nferry import / sqlite3 wall time: %.2f (target: <= 3.00); CPU time: %.2f\n",
                first.total_seconds / s.seconds, first.total_cpu / s.cpu_seconds);
  }
  return 0;
}

}  // namespace
}  // namespace ferry::bench

int main(int argc, char** argv) {
  ferry::pin_local_time_zone();  // as ferryd does
  return ferry::bench::run(argc, argv);
}
