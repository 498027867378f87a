#include "agent/web/coalesced_render.h"

namespace txmon {

std::shared_ptr<const std::string> CoalescedRender::Get() {
  std::unique_lock<std::mutex> lock(mutex_);
  // A rendering in progress started before this request: wait for the next.
  const uint64_t wanted = started_ + 1;
  for (;;) {
    if (finished_ >= wanted) return latest_;
    if (rendering_) {
      finished_cv_.wait(lock);
      continue;
    }
    rendering_ = true;
    const uint64_t mine = ++started_;
    lock.unlock();
    std::shared_ptr<const std::string> page;
    try {
      page = std::make_shared<const std::string>(render_());
    } catch (...) {
      lock.lock();
      rendering_ = false;
      finished_cv_.notify_all();
      throw;
    }
    lock.lock();
    latest_ = page;
    finished_ = mine;
    rendering_ = false;
    finished_cv_.notify_all();
  }
}

uint64_t CoalescedRender::renders() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return finished_;
}

}  // namespace txmon
