// SpecReader: object specs read and parsed on an OrderedPool, taken back in order.
#include <algorithm>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "import/import_impl.h"

namespace ferry::importer::detail {
namespace {

/// Specs are read in batches (one hand-over between threads per batch, not per
/// spec), and a few batches ahead of the caller: enough to keep the workers busy
/// while the caller does its catalog work, few enough to stay small (a spec is a few KiB).
constexpr size_t kBatch = 64;
constexpr size_t kBatchesAhead = 8;

}  // namespace

/// What the workers share: the package and the readers not in use.
struct SpecReader::Shared {
  const package::VerifiedPackage& pkg;
  std::mutex mutex;
  std::vector<package::ObjectReader> idle;

  Expected<Spec> read(const Job& job) {
    const package::ObjectEntry& entry = *job.entry;
    std::optional<package::ObjectReader> reader;
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        reader.emplace(std::move(idle.back()));
        idle.pop_back();
      }
    }
    if (!reader) reader.emplace(FERRY_TRY(pkg.object_reader()));
    auto text = reader->object_json(entry.guid);
    {
      std::lock_guard lock(mutex);
      idle.push_back(std::move(*reader));
    }
    if (!text) return std::unexpected(text.error());
    Spec spec{FERRY_TRY(package_spec(pkg.path(), entry, *text)), {}};
    if (!job.values && !job.text) return spec;
    if (job.values) FERRY_TRY(apply_values(spec.tree, *job.values));
    try {
      spec.text = spec.tree.dump();
    } catch (const nlohmann::json::type_error& e) {  // a value from the secrets or overrides file
      return fail(Errc::invalid_argument, std::string("a spec holds text that is not UTF-8: ") + e.what());
    }
    if (!job.tree) spec.tree = nullptr;  // freed here, on the worker
    return spec;
  }
};

namespace {

struct SpecTask : OrderedPool::Task {
  SpecTask(SpecReader::Shared& s, std::span<const SpecReader::Job> j) : shared(s), jobs(j) {}
  void run() override {
    for (const auto& job : jobs) results.push_back(shared.read(job));
  }

  SpecReader::Shared& shared;
  std::span<const SpecReader::Job> jobs;
  std::vector<Expected<SpecReader::Spec>> results;
};

}  // namespace

SpecReader::SpecReader(const package::VerifiedPackage& pkg, std::vector<Job> jobs)
    : shared_(std::make_unique<Shared>(pkg)),
      jobs_(std::move(jobs)),
      pool_(std::make_unique<OrderedPool>(jobs_.size() > 1 ? default_worker_count() : 0)) {}

SpecReader::~SpecReader() {
  pool_.reset();  // its workers stop before what they use goes
}

void SpecReader::top_up() {
  while (submitted_ < jobs_.size() && pool_->in_flight() < kBatchesAhead) {
    size_t n = std::min(kBatch, jobs_.size() - submitted_);
    pool_->submit(std::make_unique<SpecTask>(*shared_, std::span<const Job>(jobs_).subspan(submitted_, n)));
    submitted_ += n;
  }
}

Expected<SpecReader::Spec> SpecReader::next() {
  if (!batch_ || taken_ == static_cast<SpecTask&>(*batch_).results.size()) {
    top_up();
    batch_ = pool_->take();
    taken_ = 0;
    if (!batch_) return fail(Errc::internal, "SpecReader::next() called more often than there are jobs");
  }
  return std::move(static_cast<SpecTask&>(*batch_).results[taken_++]);
}

}  // namespace ferry::importer::detail
