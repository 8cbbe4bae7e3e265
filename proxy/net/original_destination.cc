#include "proxy/net/original_destination.h"

#include <ifaddrs.h>
#include <linux/netfilter_ipv4.h>
#include <sys/socket.h>

namespace remora::net {
namespace {

// linux/netfilter_ipv6/ip6_tables.h's IP6T_SO_ORIGINAL_DST. That header
// drags in the kernel's x_tables structures, which clash with glibc's
// netinet headers, so the one constant is restated here.
constexpr int kIp6tSoOriginalDst = 80;

std::optional<Address> query(int fd, int level, int option) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockopt(fd, level, option, &ss, &len) != 0) return std::nullopt;
  Address out = Address::fromSockaddr(reinterpret_cast<const sockaddr*>(&ss));
  if (out.family() != AF_INET && out.family() != AF_INET6) return std::nullopt;
  return out;
}

}  // namespace

std::optional<Address> readOriginalDestination(int fd, int family) {
  if (fd < 0) return std::nullopt;
  if (family == AF_INET6) {
    if (auto v6 = query(fd, SOL_IPV6, kIp6tSoOriginalDst)) return v6;
    // A dual-stack socket carries IPv4 connections (::ffff:a.b.c.d): those
    // were redirected by the IPv4 table.
  }
  return query(fd, SOL_IP, SO_ORIGINAL_DST);
}

bool restoreOriginalDestination(Connection& connection) {
  std::optional<Address> original = connection.originalDestination();
  if (!original || *original == connection.localAddress()) return false;
  connection.restoreLocalAddress(*original);
  return true;
}

bool isLocalInterfaceAddress(const Address& address) {
  if (address.isLoopback()) return true;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    const Address local = Address::fromSockaddr(i->ifa_addr).withPort(address.port());
    found = local.sameEndpoint(address);
  }
  freeifaddrs(list);
  return found;
}

}  // namespace remora::net
