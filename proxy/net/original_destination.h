// Original destination: where a TCP connection was headed before an iptables
// REDIRECT sent it to us (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST, read from
// the kernel's connection tracking). The listener filter
// envoy.filters.listener.original_dst uses it to make that address the
// connection's local address before a filter chain is chosen.
//
// Called by the worker's ActiveListener right after accept; worker-local
// (the connection's thread). The syscalls stay here, in net.
#pragma once

#include <optional>

#include "proxy/net/address.h"
#include "proxy/net/connection.h"

namespace remora::net {

// The original destination of the accepted TCP socket `fd` whose local
// address has `family` (AF_INET or AF_INET6), or nullopt when the kernel has
// none: the connection was not redirected (ENOENT) or the socket is not TCP.
std::optional<Address> readOriginalDestination(int fd, int family);

// Restores `connection`'s local address to its original destination. False
// (and the connection unchanged) when it was not redirected: no original
// destination, or one equal to the local address (a direct connection).
bool restoreOriginalDestination(Connection& connection);

// True when `address`'s IP is loopback or assigned to one of this host's
// (this network namespace's) interfaces. Reads the interface list each call
// (getifaddrs): for rare paths only, such as loop detection.
bool isLocalInterfaceAddress(const Address& address);

}  // namespace remora::net
