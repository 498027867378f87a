// A loopback TCP port that was free a moment ago: the kernel picks it for a
// socket bound to 127.0.0.1:0, which is then closed. Another process may take
// it before the caller binds it, so servers started on it should retry on
// "address in use". Fails the current test (and returns 0) if no socket can
// be bound. Thread-safe.
#pragma once

namespace txmon::test {

int FreeLoopbackPort();

}  // namespace txmon::test
