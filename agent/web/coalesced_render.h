// CoalescedRender: at most one rendering of a page at a time, shared by
// every request that arrived before it started.
//
// A scrape storm (many scrapers, or a load tool) would otherwise serialize
// the whole store once per request, in parallel, taking the CPU the pipeline
// needs. Here a request waits for the next rendering that starts after it
// arrived — never an older one, so no request sees data older than its own
// arrival — and every request waiting for that rendering gets its result.
// At most one rendering runs at once; each request waits for at most two.
//
// Threading: Get() from any number of threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace txmon {

class CoalescedRender {
 public:
  explicit CoalescedRender(std::function<std::string()> render) : render_(std::move(render)) {}

  // A rendering that started after this call began.
  std::shared_ptr<const std::string> Get();

  // Renderings done so far (for tests and self-metrics).
  uint64_t renders() const;

 private:
  const std::function<std::string()> render_;
  mutable std::mutex mutex_;
  std::condition_variable finished_cv_;
  bool rendering_ = false;
  uint64_t started_ = 0;   // renderings started
  uint64_t finished_ = 0;  // the latest finished rendering's number
  std::shared_ptr<const std::string> latest_;
};

}  // namespace txmon
