#include "agent/web/connection_limiter.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>

namespace txmon {

namespace {

// The text and port of a socket address, as CivetWeb prints a peer.
bool AddressText(const sockaddr_storage& storage, std::string* text, int* port) {
  char buffer[INET6_ADDRSTRLEN] = "";
  if (storage.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(storage);
    inet_ntop(AF_INET, &in.sin_addr, buffer, sizeof buffer);
    *port = ntohs(in.sin_port);
  } else if (storage.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(storage);
    inet_ntop(AF_INET6, &in6.sin6_addr, buffer, sizeof buffer);
    *port = ntohs(in6.sin6_port);
  } else {
    return false;
  }
  *text = buffer;
  return true;
}

bool SocketMatches(int fd, const std::string& address, int port, int local_port) {
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return false;
  std::string peer_address;
  int peer_port = 0;
  if (!AddressText(peer, &peer_address, &peer_port)) return false;
  if (peer_port != port || peer_address != address) return false;
  sockaddr_storage local{};
  length = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) return false;
  std::string local_address;
  int our_port = 0;
  return AddressText(local, &local_address, &our_port) && our_port == local_port;
}

}  // namespace

bool ShutdownSocketByPeer(const std::string& address, int port, int local_port) {
  // CivetWeb keeps the descriptor to itself; the peer names it uniquely.
  // This walk runs only when a client is over its limit, never per request.
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  bool found = false;
  while (const dirent* entry = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    if (SocketMatches(static_cast<int>(fd), address, port, local_port)) {
      found = shutdown(static_cast<int>(fd), SHUT_RDWR) == 0;
      break;
    }
  }
  closedir(dir);
  return found;
}

uint64_t ConnectionLimiter::Admit(const std::string& address, int port, int local_port) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t id = next_id_++;
  AddressConnections& connections = by_address_[address];
  connections.push_back(Connection{id, port, local_port});
  address_of_[id] = address;
  if (max_per_address_ > 0 && connections.size() > static_cast<size_t>(max_per_address_)) {
    EvictOne(address, connections);
  }
  return id;
}

void ConnectionLimiter::EvictOne(const std::string& address, AddressConnections& connections) {
  auto victim = connections.begin();
  while (victim != connections.end() && victim->active) ++victim;
  // Every older one is busy with a request: the newest makes way.
  if (victim == connections.end() || std::next(victim) == connections.end()) {
    victim = std::prev(connections.end());
  }
  // Forgotten now, so the limit holds even before the worker notices; its
  // Release will find nothing to remove.
  const Connection evicted = *victim;
  address_of_.erase(evicted.id);
  connections.erase(victim);
  ++evicted_;
  ShutdownSocketByPeer(address, evicted.port, evicted.local_port);
}

void ConnectionLimiter::MarkActive(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = address_of_.find(id);
  if (found == address_of_.end()) return;
  for (Connection& connection : by_address_[found->second]) {
    if (connection.id == id) connection.active = true;
  }
}

void ConnectionLimiter::Release(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = address_of_.find(id);
  if (found == address_of_.end()) return;
  auto address = by_address_.find(found->second);
  address->second.remove_if([id](const Connection& c) { return c.id == id; });
  if (address->second.empty()) by_address_.erase(address);
  address_of_.erase(found);
}

uint64_t ConnectionLimiter::evicted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return evicted_;
}

}  // namespace txmon
