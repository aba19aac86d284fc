// gen_catalog: fills a new catalog directory with a synthetic but realistic
// environment for export_bench, through the real Catalog API (open, store_blob,
// apply in batches). Deterministic for a given --seed except for GUIDs.
//
//   datasource  2%   global, secret /password          (folder /sources)
//   dataset    30%   uses 1 datasource                 (/team-NN/datasets)
//   task       30%   uses 1-3 datasets                 (/team-NN/tasks)
//   step       32%   uses 1 task, contained by 1 workflow
//   workflow    6%   contains about 5 steps
//
// Specs are JSON of 0.5-2 KiB made of words, numbers and column lists (deflates about
// 4:1 like real specs). Attachments (on datasets and tasks) add up to --attachments
// distinct bytes: sizes log-uniform from 1 KiB to --max-attachment (4 MiB), --text-share of them CSV-like
// text (compressible), the rest random bytes (like archives and images); a further
// --shared fraction of attachment references reuse a blob another object already has.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "catalog/catalog.h"
#include "util/fd.h"
#include "util/guid.h"

namespace ferry::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kWords[] = {
    "order",   "customer", "invoice", "region", "amount",  "currency", "status",    "created", "updated",  "country",
    "product", "category", "price",   "margin", "channel", "campaign", "session",   "device",  "account",  "ledger",
    "daily",   "weekly",   "monthly", "sales",  "refund",  "shipment", "warehouse", "stock",   "supplier", "contract"};
constexpr size_t kWordCount = std::size(kWords);
constexpr const char* kColumnTypes[] = {"string", "int64", "decimal(18,2)", "timestamp", "date", "bool"};

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}

  uint64_t below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  double unit() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  const char* word() { return kWords[below(kWordCount)]; }
  std::string words(size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += (i ? " " : "") + std::string(word());
    return s;
  }
  std::string ident() { return std::string(word()) + "_" + word(); }
  /// A spec padded with columns or parameters to a random size of 0.5-2 KiB.
  json spec(const std::string& type) {
    size_t target = 512 + below(1536);
    json s = {{"description", words(6 + below(10))},
              {"owner", "team-" + std::to_string(below(40))},
              {"tags", {word(), word()}},
              {"labels", {{"env", "prod"}, {"tier", below(3)}}}};
    if (type == "datasource") {
      s["kind"] = below(2) ? "postgres" : "oracle";
      s["host"] = "db" + std::to_string(below(100)) + ".internal.example";
      s["port"] = 5432;
      s["user"] = ident();
      s["password"] = "s3cret-" + std::to_string(below(1000000));
      s["options"] = {{"sslmode", "require"}, {"pool_size", 4 + below(12)}};
    } else if (type == "task") {
      s["schedule"] = "0 " + std::to_string(below(24)) + " * * *";
      s["retries"] = below(4);
      s["timeout"] = std::to_string(10 + below(50)) + "m";
      s["query"] = "select " + words(4) + " from " + ident() + " where " + ident() + " > ?";
    } else if (type == "step") {
      s["on_failure"] = below(2) ? "stop" : "continue";
      s["priority"] = below(10);
    } else if (type == "workflow") {
      s["calendar"] = "business-days";
      s["window"] = {{"start", "01:00"}, {"end", "05:00"}};
    }
    const char* list = type == "dataset" ? "columns" : "parameters";
    s[list] = json::array();
    while (s.dump().size() < target) {
      if (type == "dataset") {
        s[list].push_back({{"name", ident()},
                           {"type", kColumnTypes[below(std::size(kColumnTypes))]},
                           {"nullable", below(2) == 1},
                           {"comment", words(3)}});
      } else {
        s[list].push_back({{"name", ident()}, {"value", std::to_string(below(100000))}});
      }
    }
    return s;
  }
  /// size bytes of CSV-like text (deflates about 3:1) or of random bytes.
  std::string content(uint64_t size, bool text) {
    std::string out;
    out.reserve(size + 128);
    if (text) {
      char line[160];
      while (out.size() < size) {
        int n = std::snprintf(line, sizeof line, "%llu,%s,%s,%llu.%02llu,%s\n",
                              static_cast<unsigned long long>(below(10000000)), word(), word(),
                              static_cast<unsigned long long>(below(100000)),
                              static_cast<unsigned long long>(below(100)), below(2) ? "EUR" : "USD");
        out.append(line, static_cast<size_t>(n));
      }
      out.resize(size);
    } else {
      out.resize(size);
      size_t i = 0;
      for (; i + 8 <= size; i += 8) {
        uint64_t x = rng_();
        std::memcpy(out.data() + i, &x, 8);
      }
      for (; i < size; ++i) out[i] = static_cast<char>(rng_());
    }
    return out;
  }

 private:
  std::mt19937_64 rng_;
};

struct Planned {
  catalog::ObjectDraft draft;
};

int run(int argc, char** argv) {
  auto flags = parse_flags(argc, argv,
                           {{"dir", "bench-data/catalog"},
                            {"objects", "10000"},
                            {"attachments", "64MiB"},
                            {"batch", "1000"},
                            {"seed", "1"},
                            {"text-share", "0.5"},
                            {"shared", "0.1"},
                            {"max-attachment", "4MiB"}},
                           "gen_catalog: creates a new catalog directory for export_bench (docs/bench.md)");
  fs::path dir = flags["dir"];
  uint64_t n = parse_size(flags["objects"]);
  uint64_t budget = parse_size(flags["attachments"]);
  uint64_t batch = std::max<uint64_t>(1, parse_size(flags["batch"]));
  double text_share = std::stod(flags["text-share"]);
  double shared = std::stod(flags["shared"]);
  uint64_t max_att = std::max<uint64_t>(2048, parse_size(flags["max-attachment"]));
  if (n < 50) die("--objects must be at least 50");
  if (fs::exists(dir) && !fs::is_empty(dir)) die(dir.string() + " exists and is not empty; remove it first");
  fs::create_directories(dir);

  Gen gen(std::stoull(flags["seed"]));
  auto types = bench_types();
  auto catalog_or = catalog::Catalog::open(dir, types, system_clock());
  if (!catalog_or) die(catalog_or.error().message);
  auto& catalog = **catalog_or;

  // Object skeletons, in an order where every reference points backwards.
  uint64_t n_ds = std::max<uint64_t>(1, n * 2 / 100), n_dset = n * 30 / 100, n_task = n * 30 / 100;
  uint64_t n_wf = std::max<uint64_t>(1, n * 6 / 100);
  uint64_t n_step = n - n_ds - n_dset - n_task - n_wf;
  std::vector<catalog::ObjectDraft> drafts;
  drafts.reserve(n);
  auto add = [&](const std::string& type, const std::string& folder, uint64_t i) -> catalog::ObjectDraft& {
    catalog::ObjectDraft d;
    d.guid = new_guid();
    d.type = type;
    char name[64];
    std::snprintf(name, sizeof name, "%s-%06llu", type.c_str(), static_cast<unsigned long long>(i));
    d.name = name;
    d.folder = folder;
    drafts.push_back(std::move(d));
    return drafts.back();
  };
  auto team_folder = [&](uint64_t i, const char* kind) { return "/team-" + std::to_string(i % 40) + "/" + kind; };
  for (uint64_t i = 0; i < n_ds; ++i) add("datasource", "/sources", i);
  for (uint64_t i = 0; i < n_dset; ++i) {
    auto& d = add("dataset", team_folder(i, "datasets"), i);
    d.refs.push_back({*drafts[gen.below(n_ds)].guid, catalog::RefKind::uses, ""});
  }
  for (uint64_t i = 0; i < n_task; ++i) {
    auto& d = add("task", team_folder(i, "tasks"), i);
    uint64_t k = 1 + gen.below(3);
    std::vector<uint64_t> picked;
    for (uint64_t j = 0; j < k; ++j) {
      uint64_t at = n_ds + gen.below(n_dset);
      if (std::find(picked.begin(), picked.end(), at) != picked.end()) continue;
      picked.push_back(at);
      d.refs.push_back({*drafts[at].guid, catalog::RefKind::uses, ""});
    }
  }
  uint64_t first_task = n_ds + n_dset, first_step = first_task + n_task;
  for (uint64_t i = 0; i < n_step; ++i) {
    auto& d = add("step", team_folder(i, "workflows"), i);
    d.refs.push_back({*drafts[first_task + gen.below(n_task)].guid, catalog::RefKind::uses, ""});
  }
  for (uint64_t i = 0; i < n_wf; ++i) {
    auto& d = add("workflow", team_folder(i, "workflows"), i);
    for (uint64_t s = i * n_step / n_wf; s < (i + 1) * n_step / n_wf; ++s) {
      d.refs.push_back({*drafts[first_step + s].guid, catalog::RefKind::contains, ""});
    }
  }

  // Attachments: distinct blobs up to the budget, each on one dataset or task, then
  // the shared references.
  Stopwatch blob_clock;
  uint64_t stored_bytes = 0, blob_count = 0, text_bytes = 0;
  std::vector<catalog::Attachment> blobs;
  auto attach_to = [&](const catalog::Attachment& a) {
    auto& d = drafts[n_ds + gen.below(n_dset + n_task)];
    auto att = a;
    att.name = "file-" + std::to_string(d.attachments.size()) + (att.name.ends_with(".csv") ? ".csv" : ".bin");
    d.attachments.push_back(std::move(att));
  };
  const double lo = std::log(1024.0), hi = std::log(static_cast<double>(max_att));
  while (stored_bytes < budget) {
    uint64_t size = static_cast<uint64_t>(std::exp(lo + (hi - lo) * gen.unit()));
    size = std::min(size, budget - stored_bytes);
    bool text = gen.unit() < text_share;
    auto bytes = gen.content(size, text);
    UniqueFd fd(::memfd_create("blob", MFD_CLOEXEC));
    if (!fd) die("memfd_create: " + errno_text(errno));
    if (auto st = write_all(fd.get(), bytes, "blob"); !st) die(st.error().message);
    ::lseek(fd.get(), 0, SEEK_SET);
    auto a = catalog.store_blob(fd.get(), text ? "data.csv" : "data.bin");
    if (!a) die(a.error().message);
    stored_bytes += size;
    text_bytes += text ? size : 0;
    ++blob_count;
    blobs.push_back(*a);
    attach_to(*a);
  }
  auto shared_refs = static_cast<uint64_t>(static_cast<double>(blobs.size()) * shared);
  for (uint64_t i = 0; i < shared_refs; ++i) attach_to(blobs[gen.below(blobs.size())]);
  double blob_seconds = blob_clock.seconds();

  // Specs are made batch by batch so they never all sit in memory at once.
  Stopwatch apply_clock;
  uint64_t spec_bytes = 0;
  for (uint64_t from = 0; from < drafts.size(); from += batch) {
    std::vector<catalog::ObjectDraft> part;
    for (uint64_t i = from; i < std::min<uint64_t>(drafts.size(), from + batch); ++i) {
      drafts[i].spec = gen.spec(drafts[i].type);
      spec_bytes += drafts[i].spec.dump().size();
      part.push_back(std::move(drafts[i]));
      drafts[i] = {};
    }
    auto result = catalog.apply(part, "bench");
    if (!result) die(result.error().message);
  }
  double apply_seconds = apply_clock.seconds();

  std::printf("catalog       %s\n", dir.c_str());
  std::printf("objects       %llu (datasource %llu, dataset %llu, task %llu, step %llu, workflow %llu)\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(n_ds),
              static_cast<unsigned long long>(n_dset), static_cast<unsigned long long>(n_task),
              static_cast<unsigned long long>(n_step), static_cast<unsigned long long>(n_wf));
  std::printf("specs         %s, %.0f B average\n", human_bytes(spec_bytes).c_str(),
              static_cast<double>(spec_bytes) / static_cast<double>(n));
  std::printf("attachments   %llu blobs, %s (%s text), %llu shared references\n",
              static_cast<unsigned long long>(blob_count), human_bytes(stored_bytes).c_str(),
              human_bytes(text_bytes).c_str(), static_cast<unsigned long long>(shared_refs));
  std::printf("store_blob    %.2f s\n", blob_seconds);
  std::printf("apply         %.2f s in batches of %llu (%.0f objects/s)\n", apply_seconds,
              static_cast<unsigned long long>(batch), static_cast<double>(n) / apply_seconds);
  return 0;
}

}  // namespace
}  // namespace ferry::bench

int main(int argc, char** argv) { return ferry::bench::run(argc, argv); }
