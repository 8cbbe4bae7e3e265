#include "proxy/net/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace remora::net {
namespace {

base::Failure badAddress(std::string_view what, std::string_view input) {
  return base::fail(base::Error::kInvalidArgument, std::string(what) + ": '" + std::string(input) + "'");
}

}  // namespace

base::Result<Address> Address::fromIpPort(std::string_view ip, uint16_t port) {
  // inet_pton needs a NUL-terminated string; the longest IPv6 literal is 45 bytes.
  char text[INET6_ADDRSTRLEN + 1];
  if (ip.empty() || ip.size() >= sizeof(text)) return badAddress("not an IP address", ip);
  std::memcpy(text, ip.data(), ip.size());
  text[ip.size()] = '\0';

  Address out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage_);
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return out;
  }
  out.storage_ = {};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage_);
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return out;
  }
  return badAddress("not an IP address", ip);
}

base::Result<Address> Address::parse(std::string_view host_port) {
  std::string_view host;
  std::string_view port_text;
  if (!host_port.empty() && host_port.front() == '[') {
    size_t close = host_port.find(']');
    if (close == std::string_view::npos || close + 1 >= host_port.size() || host_port[close + 1] != ':') {
      return badAddress("expected [ip]:port", host_port);
    }
    host = host_port.substr(1, close - 1);
    port_text = host_port.substr(close + 2);
    // Brackets are only for IPv6; "[1.2.3.4]:80" is a typo we refuse.
    if (host.find(':') == std::string_view::npos) return badAddress("expected an IPv6 address in brackets", host_port);
  } else {
    size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos) return badAddress("expected ip:port", host_port);
    host = host_port.substr(0, colon);
    port_text = host_port.substr(colon + 1);
    // A bare IPv6 address is ambiguous ("::1:80"): its port must be bracketed.
    if (host.find(':') != std::string_view::npos) return badAddress("IPv6 addresses need brackets", host_port);
  }
  unsigned port = 0;
  const char* end = port_text.data() + port_text.size();
  auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
  if (port_text.empty() || ec != std::errc() || ptr != end || port > 65535) {
    return badAddress("port must be 0..65535", host_port);
  }
  return fromIpPort(host, static_cast<uint16_t>(port));
}

Address Address::fromSockaddr(const struct sockaddr* sa) {
  Address out;
  if (sa == nullptr) return out;
  if (sa->sa_family == AF_INET) {
    std::memcpy(&out.storage_, sa, sizeof(sockaddr_in));
  } else if (sa->sa_family == AF_INET6) {
    std::memcpy(&out.storage_, sa, sizeof(sockaddr_in6));
  }
  return out;
}

socklen_t Address::sockaddrLength() const {
  switch (storage_.ss_family) {
    case AF_INET:
      return sizeof(sockaddr_in);
    case AF_INET6:
      return sizeof(sockaddr_in6);
    default:
      return 0;
  }
}

uint16_t Address::port() const {
  switch (storage_.ss_family) {
    case AF_INET:
      return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    case AF_INET6:
      return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    default:
      return 0;
  }
}

std::string Address::ip() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (storage_.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text, sizeof(text));
  } else if (storage_.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text, sizeof(text));
  }
  return text;
}

std::string Address::toString() const {
  if (storage_.ss_family == AF_INET6) return "[" + ip() + "]:" + std::to_string(port());
  if (storage_.ss_family == AF_INET) return ip() + ":" + std::to_string(port());
  return "unspecified";
}

bool Address::operator==(const Address& other) const {
  if (storage_.ss_family != other.storage_.ss_family) return false;
  // Compare the meaningful fields only: padding (sin_zero) and IPv6 flow
  // labels differ between otherwise equal addresses from different syscalls.
  if (storage_.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage_);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&other.storage_);
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  if (storage_.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
    const auto* b = reinterpret_cast<const sockaddr_in6*>(&other.storage_);
    return a->sin6_port == b->sin6_port && a->sin6_scope_id == b->sin6_scope_id &&
           std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return true;  // two unspecified addresses
}

Address Address::withPort(uint16_t port) const {
  Address out = *this;
  if (storage_.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&out.storage_)->sin_port = htons(port);
  if (storage_.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&out.storage_)->sin6_port = htons(port);
  return out;
}

namespace {
// The IPv4 address inside `a` (plain or IPv4-mapped IPv6), in network order.
bool ipv4Of(const sockaddr_storage& a, uint32_t* out) {
  if (a.ss_family == AF_INET) {
    *out = reinterpret_cast<const sockaddr_in*>(&a)->sin_addr.s_addr;
    return true;
  }
  if (a.ss_family != AF_INET6) return false;
  const in6_addr& v6 = reinterpret_cast<const sockaddr_in6*>(&a)->sin6_addr;
  if (!IN6_IS_ADDR_V4MAPPED(&v6)) return false;
  std::memcpy(out, &v6.s6_addr[12], 4);
  return true;
}
}  // namespace

bool Address::isAnyAddress() const {
  if (storage_.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (storage_.ss_family == AF_INET6) {
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
  }
  return false;
}

bool Address::isLoopback() const {
  uint32_t v4 = 0;
  if (ipv4Of(storage_, &v4)) return (ntohl(v4) >> 24) == 127;
  return storage_.ss_family == AF_INET6 &&
         IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
}

bool Address::sameEndpoint(const Address& other) const {
  if (*this == other) return true;
  uint32_t a = 0;
  uint32_t b = 0;
  return port() == other.port() && ipv4Of(storage_, &a) && ipv4Of(other.storage_, &b) && a == b;
}

size_t Address::hash() const {
  // FNV-1a over the compared fields.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  const uint16_t p = port();
  mix(&p, sizeof(p));
  if (storage_.ss_family == AF_INET) mix(&reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, 4);
  if (storage_.ss_family == AF_INET6) mix(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, 16);
  return static_cast<size_t>(h);
}

}  // namespace remora::net
