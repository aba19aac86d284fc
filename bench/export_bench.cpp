// export_bench: a full export of a gen_catalog catalog, timed, beside Info-ZIP `zip`
// on the same payload. What each figure means: docs/bench.md.
//
//  1. (not timed) writes the payload zip compresses: WORK/payload/objects/<guid>.json
//     with the exact bytes ferry puts in the package, and WORK/payload/attachments/
//     <sha256>, hard links to the blob store (copies where links fail);
//  2. (timed) ferry: snapshot, object_table, plan (full), exporter::write() with a
//     throwaway key, like ferryd's export job but on one thread; peak RSS is reset
//     just before and read just after;
//  3. (timed) `zip -r -q -LEVEL` on the payload (LEVEL 6: what ferry uses for
//     deflated entries), its peak RSS from wait4().
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "catalog/catalog.h"
#include "export/export.h"
#include "package/package.h"
#include "signing/signing.h"
#include "util/guid.h"
#include "util/time.h"

namespace ferry::bench {
namespace {

namespace fs = std::filesystem;

struct Payload {
  uint64_t object_bytes = 0;
  uint64_t attachment_bytes = 0;
  uint64_t attachments = 0;
};

Payload write_payload(catalog::Catalog& catalog, const types::TypeRegistry& types, const fs::path& dir) {
  fs::create_directories(dir / "objects");
  fs::create_directories(dir / "attachments");
  auto snap = catalog.snapshot();
  if (!snap) die(snap.error().message);
  auto objects = (*snap)->objects();
  if (!objects) die(objects.error().message);
  Payload p;
  for (const auto& o : *objects) {
    auto spec = (*snap)->spec(o.guid);
    if (!spec) die(spec.error().message);
    auto text = exporter::object_document(o, std::move(*spec), *types.find(o.type));
    if (!text) die(text.error().message);
    std::ofstream(dir / "objects" / (o.guid + ".json"), std::ios::binary) << *text;
    p.object_bytes += text->size();
    for (const auto& a : o.attachments) {
      auto to = dir / "attachments" / a.sha256;
      if (fs::exists(to)) continue;
      std::error_code ec;
      fs::create_hard_link(catalog.blob_path(a.sha256), to, ec);
      if (ec) fs::copy_file(catalog.blob_path(a.sha256), to);
      p.attachment_bytes += a.size;
      ++p.attachments;
    }
  }
  return p;
}

// In a child process, so the export below starts from a process that has done
// nothing but open the catalog; the child's reads warm the page cache for both sides.
Payload write_payload_in_child(const fs::path& cat_dir, const fs::path& dir) {
  int fds[2];
  if (::pipe(fds) != 0) die("pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    auto types = bench_types();
    auto catalog = catalog::Catalog::open(cat_dir, types, system_clock());
    if (!catalog) die(catalog.error().message);
    Payload p = write_payload(**catalog, types, dir);
    if (::write(fds[1], &p, sizeof p) != static_cast<ssize_t>(sizeof p)) _exit(1);
    _exit(0);
  }
  ::close(fds[1]);
  Payload p;
  bool got = ::read(fds[0], &p, sizeof p) == static_cast<ssize_t>(sizeof p);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die("writing the payload failed");
  return p;
}

struct Ferry {
  double read_seconds = 0;  ///< snapshot + object_table() + tombstones()
  double plan_seconds = 0;
  double write_seconds = 0;  ///< exporter::write(): specs, zip, manifest, signature, fsync, package SHA-256
  double total_seconds = 0;
  double cpu_seconds = 0;  ///< user + system, all threads
  uint64_t rss_before = 0;
  uint64_t peak_rss = 0;
  uint64_t rss_sampled = 0;  ///< largest VmRSS sampled while the package is written
  exporter::WriteResult result;
  std::optional<signing::PublicKey> key;
};

Ferry run_ferry(catalog::Catalog& catalog, const types::TypeRegistry& types, const fs::path& out) {
  auto key = signing::SecretKey::generate();
  Ferry f;
  if (!reset_peak_rss()) std::fprintf(stderr, "warning: cannot reset VmHWM; peak RSS includes earlier work\n");
  f.rss_before = current_rss();
  double cpu_before = self_cpu_seconds();
  Stopwatch total;
  Stopwatch phase;
  auto snap = catalog.snapshot();
  if (!snap) die(snap.error().message);
  auto objects = (*snap)->object_table();
  if (!objects) die(objects.error().message);
  auto tombstones = (*snap)->tombstones(0);
  if (!tombstones) die(tombstones.error().message);
  f.read_seconds = phase.seconds();

  phase = Stopwatch();
  exporter::Request request;
  auto plan = exporter::plan(std::move(*objects), *tombstones, (*snap)->revision(), types, request);
  if (!plan) die(plan.error().message);
  f.plan_seconds = phase.seconds();

  phase = Stopwatch();
  exporter::WriteInput input;
  input.package_id = new_guid();
  input.name = "bench";
  input.description = "export_bench";
  input.export_settings = exporter::settings_json(request);
  input.source = {"bench", "single", FERRY_VERSION};
  input.created_at = system_clock().now();
  auto& s = **snap;
  exporter::LoadSpec load_spec = [&s](const std::string& guid) { return s.spec(guid); };
  exporter::BlobPath blob_path = [&catalog](const std::string& sha) { return catalog.blob_path(sha); };
  // VmRSS sampled every 1/256 of the way: shows whether memory grows with the package.
  package::WriterOptions options;
  uint64_t next_sample = 0;
  options.progress = [&f, &next_sample](uint64_t done, uint64_t all) {
    if (done < next_sample) return;
    next_sample = done + std::max<uint64_t>(all / 256, 1);
    f.rss_sampled = std::max(f.rss_sampled, current_rss());
  };
  auto written = exporter::write(*plan, input, types, load_spec, blob_path, out, key, std::move(options));
  if (!written) die(written.error().message);
  f.write_seconds = phase.seconds();
  f.total_seconds = total.seconds();
  f.cpu_seconds = self_cpu_seconds() - cpu_before;
  f.peak_rss = peak_rss();
  f.result = std::move(*written);
  f.key = key.public_key();
  return f;
}

struct Zip {
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t peak_rss = 0;
  uint64_t size = 0;
};

Zip run_zip(const fs::path& payload, const fs::path& out, const std::string& level) {
  Stopwatch clock;
  pid_t pid = ::fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    if (::chdir(payload.c_str()) != 0) _exit(126);
    std::string lvl = "-" + level;
    execlp("zip", "zip", "-r", "-q", lvl.c_str(), out.c_str(), "objects", "attachments", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (::wait4(pid, &status, 0, &usage) != pid) die("wait4 failed");
  Zip z;
  z.seconds = clock.seconds();
  z.cpu_seconds = cpu_seconds(usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    die("zip failed (exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
        "); is Info-ZIP zip installed?");
  }
  z.peak_rss = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  z.size = fs::file_size(out);
  return z;
}

// The importer's side, for information (not a target here): open_package() verifies
// everything and holds the parsed manifest.
void verify(const fs::path& package, const signing::PublicKey& key) {
  signing::TrustStore trust;
  trust.add(key, std::nullopt, "bench");
  package::ReadOptions options;
  options.trust = &trust;
  options.expected_engine = "single";
  reset_peak_rss();
  uint64_t before = current_rss();
  Stopwatch clock;
  auto opened = package::open_package(package, options);
  if (!opened) die(opened.error().message);
  std::printf("  verify      open_package %.2f s, peak RSS %s (%s before; the manifest is parsed whole)\n",
              clock.seconds(), human_bytes(peak_rss()).c_str(), human_bytes(before).c_str());
}

double mb_per_s(uint64_t bytes, double seconds) { return static_cast<double>(bytes) / 1e6 / seconds; }

int run(int argc, char** argv) {
  auto flags = parse_flags(argc, argv,
                           {{"catalog", "bench-data/catalog"},
                            {"work", "bench-data/work"},
                            {"zip", "yes"},
                            {"zip-level", "6"},
                            {"keep", "no"},
                            {"verify", "no"}},
                           "export_bench: full export of a gen_catalog catalog vs Info-ZIP zip (docs/bench.md)");
  fs::path cat_dir = flags["catalog"];
  fs::path work = fs::absolute(flags["work"]);
  if (!fs::exists(cat_dir / "catalog.db")) die(cat_dir.string() + " has no catalog.db; run gen_catalog first");
  fs::remove_all(work);
  fs::create_directories(work);

  auto types = bench_types();
  auto catalog_or = catalog::Catalog::open(cat_dir, types, system_clock());
  if (!catalog_or) die(catalog_or.error().message);
  auto& catalog = **catalog_or;

  bool with_zip = flags["zip"] == "yes";
  Stopwatch prep;
  Payload payload;
  if (with_zip) payload = write_payload_in_child(cat_dir, work / "payload");
  double prep_seconds = prep.seconds();

  auto package = work / ".bench.zip.partial";
  auto f = run_ferry(catalog, types, package);
  uint64_t input = payload.object_bytes + payload.attachment_bytes;

  std::printf("payload       %llu objects (%s JSON), %llu attachments (%s); written in %.1f s (not timed)\n",
              static_cast<unsigned long long>(f.result.object_count), human_bytes(payload.object_bytes).c_str(),
              static_cast<unsigned long long>(payload.attachments), human_bytes(payload.attachment_bytes).c_str(),
              prep_seconds);
  std::printf("\nferry export (deflate level 6 or stored by probe, on %u cores)\n",
              std::thread::hardware_concurrency());
  std::printf("  wall        %.2f s  (read snapshot %.2f, plan %.2f, write %.2f)\n", f.total_seconds, f.read_seconds,
              f.plan_seconds, f.write_seconds);
  std::printf("  CPU         %.2f s  (user + system, all threads)\n", f.cpu_seconds);
  std::printf("  objects/s   %.0f\n", static_cast<double>(f.result.object_count) / f.total_seconds);
  if (with_zip)
    std::printf("  input MB/s  %.1f  (object JSON + attachments, 1 MB = 10^6 B)\n", mb_per_s(input, f.total_seconds));
  std::printf("  package     %s (%llu bytes), %llu attachments carried\n", human_bytes(f.result.size).c_str(),
              static_cast<unsigned long long>(f.result.size),
              static_cast<unsigned long long>(f.result.attachment_count));
  std::printf("  peak RSS    %s (VmHWM; %s resident before the export)\n", human_bytes(f.peak_rss).c_str(),
              human_bytes(f.rss_before).c_str());
  std::printf("              %s largest VmRSS sampled while writing\n", human_bytes(f.rss_sampled).c_str());
  if (flags["verify"] == "yes") verify(package, *f.key);

  if (with_zip) {
    auto z = run_zip(work / "payload", work / "zip.zip", flags["zip-level"]);
    std::printf("\nInfo-ZIP zip -r -q -%s (same payload, no fsync, no hashing, no signature)\n",
                flags["zip-level"].c_str());
    std::printf("  wall        %.2f s\n", z.seconds);
    std::printf("  CPU         %.2f s\n", z.cpu_seconds);
    std::printf("  objects/s   %.0f\n", static_cast<double>(f.result.object_count) / z.seconds);
    std::printf("  input MB/s  %.1f\n", mb_per_s(input, z.seconds));
    std::printf("  archive     %s (%llu bytes)\n", human_bytes(z.size).c_str(),
                static_cast<unsigned long long>(z.size));
    std::printf("  peak RSS    %s (ru_maxrss)\n", human_bytes(z.peak_rss).c_str());
    std::printf("\nferry / zip wall time: %.2f (target: <= 1.00); CPU time: %.2f\n", f.total_seconds / z.seconds,
                f.cpu_seconds / z.cpu_seconds);
  }
  if (flags["keep"] != "yes") fs::remove_all(work);
  return 0;
}

}  // namespace
}  // namespace ferry::bench

int main(int argc, char** argv) {
  ferry::pin_local_time_zone();  // as ferryd does
  return ferry::bench::run(argc, argv);
}
