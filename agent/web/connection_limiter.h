// ConnectionLimiter: caps the connections one client address holds open, so
// that a few idle or slow clients cannot take every CivetWeb worker.
//
// CivetWeb gives each connection a worker thread from the moment it is
// accepted until it closes, and the worker waits for the request headers
// for up to the header timeout. A client that opens sockets and sends
// nothing would hold one worker each. With the limiter, when an address
// goes over `max_per_address`, the oldest of its connections that has not
// yet sent a complete request is shut down (the newest one, if all of them
// are busy with requests). The newest connection wins because it is the
// most likely to be a real client: a scraper from the same address as an
// attacker still gets through.
//
// Shutting a socket down (not closing it: CivetWeb owns the descriptor)
// wakes the worker waiting on it, which then closes it normally.
//
// Threading: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>

namespace txmon {

class ConnectionLimiter {
 public:
  explicit ConnectionLimiter(int max_per_address) : max_per_address_(max_per_address) {}

  // A connection from `address`:`port` to our `local_port` was accepted.
  // Returns its id (never 0), for MarkActive and Release. May shut down
  // another connection of the same address (or this one) to make room.
  uint64_t Admit(const std::string& address, int port, int local_port);
  // The connection's request headers have arrived: it is no longer idle.
  void MarkActive(uint64_t id);
  // The connection closed. Unknown ids (already released) are ignored.
  void Release(uint64_t id);

  // Connections shut down for being over the limit, since start.
  uint64_t evicted() const;

 private:
  struct Connection {
    uint64_t id;
    int port;
    int local_port;
    bool active = false;  // a complete request arrived
  };
  // Oldest first.
  using AddressConnections = std::list<Connection>;

  void EvictOne(const std::string& address, AddressConnections& connections);

  const int max_per_address_;
  mutable std::mutex mutex_;
  uint64_t next_id_ = 1;
  uint64_t evicted_ = 0;
  std::map<std::string, AddressConnections> by_address_;
  std::map<uint64_t, std::string> address_of_;
};

// Shuts down (SHUT_RDWR) this process's TCP socket whose peer is
// `address`:`port` and whose local port is `local_port`. False if none.
bool ShutdownSocketByPeer(const std::string& address, int port, int local_port);

}  // namespace txmon
