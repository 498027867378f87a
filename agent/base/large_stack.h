// RunOnLargeStack: runs a piece of work on a thread whose stack size is
// known, and waits for it. Recursive work (parsing and evaluating PromQL,
// printing its trees) must not depend on whichever thread happens to call
// it: CivetWeb's worker threads have stacks of about 100 KiB, so a query
// that nests a few dozen levels would overflow them. The PromQL parser caps
// the nesting depth; this gives that cap a stack it is known to fit.
//
// Cost: one thread start and join (tens of microseconds), so use it per
// request or per reload, never per row.
#pragma once

#include <cstddef>
#include <functional>

namespace txmon {

// 8 MiB: glibc's default thread stack, and what the PromQL depth limit
// (kMaxExprDepth) is sized against.
inline constexpr size_t kLargeStackBytes = size_t{8} << 20;

// Runs `work` on a new thread with a stack of `stack_bytes` and returns when
// it has finished. An exception thrown by `work` is rethrown here. If no
// thread can be started, `work` runs on the calling thread.
void RunOnLargeStack(const std::function<void()>& work, size_t stack_bytes = kLargeStackBytes);

}  // namespace txmon
