// Concurrent requests share one rendering, and no request is answered with
// a rendering that started before it arrived.
#include "agent/web/coalesced_render.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace txmon {
namespace {

// A render function that numbers its pages and can be held mid-render.
class HeldRender {
 public:
  std::string Render() {
    int number = ++started_;
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return released_ >= number; });
    return "page " + std::to_string(number);
  }
  void Release(int upto) {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = upto;
    cv_.notify_all();
  }
  int started() const { return started_.load(); }

 private:
  std::atomic<int> started_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  int released_ = 0;
};

void WaitUntil(const std::function<bool()>& done) {
  for (int i = 0; i < 5000 && !done(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(done());
}

TEST(CoalescedRenderTest, RequestsArrivingDuringARenderShareTheNextOne) {
  HeldRender held;
  CoalescedRender render([&] { return held.Render(); });

  auto first = std::async(std::launch::async, [&] { return *render.Get(); });
  WaitUntil([&] { return held.started() == 1; });
  // These arrive while page 1 is being rendered: page 1 may miss what
  // happened just before they arrived, so they must get page 2.
  std::vector<std::future<std::string>> later;
  for (int i = 0; i < 5; ++i) {
    later.push_back(std::async(std::launch::async, [&] { return *render.Get(); }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let them all queue
  EXPECT_EQ(held.started(), 1) << "a second rendering ran in parallel";
  held.Release(2);
  EXPECT_EQ(first.get(), "page 1");
  for (auto& page : later) EXPECT_EQ(page.get(), "page 2");
  EXPECT_EQ(held.started(), 2);
  EXPECT_EQ(render.renders(), 2u);
}

TEST(CoalescedRenderTest, SequentialRequestsEachGetAFreshRendering) {
  int counter = 0;
  CoalescedRender render([&] { return std::to_string(++counter); });
  EXPECT_EQ(*render.Get(), "1");
  EXPECT_EQ(*render.Get(), "2");
  EXPECT_EQ(*render.Get(), "3");
}

TEST(CoalescedRenderTest, AFailedRenderingDoesNotBlockTheNext) {
  bool fail = true;
  CoalescedRender render([&]() -> std::string {
    if (fail) throw std::runtime_error("collect failed");
    return "ok";
  });
  EXPECT_THROW(render.Get(), std::runtime_error);
  fail = false;
  EXPECT_EQ(*render.Get(), "ok");
}

}  // namespace
}  // namespace txmon
