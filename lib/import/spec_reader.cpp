// SpecReader: object specs read and parsed on an OrderedPool, taken back in order.
#include <algorithm>
#include <mutex>
#include <span>

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

  Expected<nlohmann::json> read(const package::ObjectEntry& entry) {
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
    return package_spec(pkg.path(), entry, *text);
  }
};

namespace {

struct SpecTask : OrderedPool::Task {
  SpecTask(SpecReader::Shared& s, std::span<const package::ObjectEntry* const> e) : shared(s), entries(e) {}
  void run() override {
    for (const auto* e : entries) results.push_back(shared.read(*e));
  }

  SpecReader::Shared& shared;
  std::span<const package::ObjectEntry* const> entries;
  std::vector<Expected<nlohmann::json>> results;
};

}  // namespace

SpecReader::SpecReader(const package::VerifiedPackage& pkg, std::vector<const package::ObjectEntry*> entries)
    : shared_(std::make_unique<Shared>(pkg)),
      entries_(std::move(entries)),
      pool_(std::make_unique<OrderedPool>(entries_.size() > 1 ? default_worker_count() : 0)) {}

SpecReader::~SpecReader() {
  pool_.reset();  // its workers stop before what they use goes
}

void SpecReader::top_up() {
  while (submitted_ < entries_.size() && pool_->in_flight() < kBatchesAhead) {
    size_t n = std::min(kBatch, entries_.size() - submitted_);
    pool_->submit(std::make_unique<SpecTask>(*shared_, std::span(entries_).subspan(submitted_, n)));
    submitted_ += n;
  }
}

Expected<nlohmann::json> SpecReader::next() {
  if (!batch_ || taken_ == static_cast<SpecTask&>(*batch_).results.size()) {
    top_up();
    batch_ = pool_->take();
    taken_ = 0;
    if (!batch_) return fail(Errc::internal, "SpecReader::next() called more often than there are entries");
  }
  return std::move(static_cast<SpecTask&>(*batch_).results[taken_++]);
}

}  // namespace ferry::importer::detail
