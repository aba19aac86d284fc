// A few worker threads that run tasks while the owner takes the results back in the
// order it submitted them. The package writer deflates and hashes entries here (in
// parallel) and writes them into the zip in order on its own thread; the importer
// reads and parses object specs here ahead of its catalog work.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ferry {

class OrderedPool {
 public:
  struct Task {
    virtual ~Task() = default;
    /// On a worker thread (or the owner's when the pool has no threads). Must not throw.
    virtual void run() = 0;
    /// Bytes the task holds while queued: submit() is bounded by their sum.
    uint64_t weight = 0;

   private:
    friend class OrderedPool;
    bool done_ = false;
  };

  /// threads == 0 runs every task on the owner's thread inside submit().
  explicit OrderedPool(unsigned threads);
  OrderedPool(const OrderedPool&) = delete;
  OrderedPool& operator=(const OrderedPool&) = delete;
  /// Stops the workers; queued tasks are dropped unrun.
  ~OrderedPool();

  /// Queues a task. Owner thread only.
  void submit(std::unique_ptr<Task> task);
  /// The oldest submitted task once it has run; null when nothing is in flight. Blocks.
  std::unique_ptr<Task> take();
  size_t in_flight() const { return in_flight_.size(); }
  uint64_t weight_in_flight() const { return weight_; }

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable ready_;  ///< a task was queued, or stop
  std::condition_variable done_;   ///< a task finished
  std::deque<Task*> queue_;        ///< not yet picked up by a worker
  bool stopping_ = false;
  // Owner thread only:
  std::deque<std::unique_ptr<Task>> in_flight_;
  uint64_t weight_ = 0;
  std::vector<std::jthread> threads_;
};

/// Workers for CPU-bound tasks (deflate, parsing): the machine's cores, at most 4.
unsigned default_worker_count();

}  // namespace ferry
