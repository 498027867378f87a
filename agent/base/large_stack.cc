#include "agent/base/large_stack.h"

#include <pthread.h>

#include <exception>

namespace txmon {

namespace {

struct LargeStackJob {
  const std::function<void()>* work;
  std::exception_ptr error;
};

void* RunJob(void* argument) {
  auto* job = static_cast<LargeStackJob*>(argument);
  try {
    (*job->work)();
  } catch (...) {
    job->error = std::current_exception();
  }
  return nullptr;
}

}  // namespace

void RunOnLargeStack(const std::function<void()>& work, size_t stack_bytes) {
  LargeStackJob job{&work, nullptr};
  pthread_attr_t attributes;
  pthread_t thread;
  bool started = pthread_attr_init(&attributes) == 0 &&
                 pthread_attr_setstacksize(&attributes, stack_bytes) == 0 &&
                 pthread_create(&thread, &attributes, &RunJob, &job) == 0;
  pthread_attr_destroy(&attributes);
  if (!started) {
    work();  // out of threads: better a chance than a refusal
    return;
  }
  pthread_join(thread, nullptr);
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace txmon
