#include "util/ordered_pool.h"

#include <algorithm>

namespace ferry {

OrderedPool::OrderedPool(unsigned threads) {
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

OrderedPool::~OrderedPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  ready_.notify_all();
  threads_.clear();  // joins
}

void OrderedPool::submit(std::unique_ptr<Task> task) {
  weight_ += task->weight;
  Task* raw = task.get();
  in_flight_.push_back(std::move(task));
  if (threads_.empty()) {
    raw->run();
    raw->done_ = true;
    return;
  }
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(raw);
  }
  ready_.notify_one();
}

std::unique_ptr<OrderedPool::Task> OrderedPool::take() {
  if (in_flight_.empty()) return nullptr;
  Task* front = in_flight_.front().get();
  {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [front] { return front->done_; });
  }
  auto task = std::move(in_flight_.front());
  in_flight_.pop_front();
  weight_ -= task->weight;
  return task;
}

void OrderedPool::work() {
  for (;;) {
    Task* task = nullptr;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = queue_.front();
      queue_.pop_front();
    }
    task->run();
    {
      std::lock_guard lock(mutex_);
      task->done_ = true;
    }
    done_.notify_all();
  }
}

unsigned default_worker_count() { return std::clamp(std::thread::hardware_concurrency(), 1u, 4u); }

}  // namespace ferry
