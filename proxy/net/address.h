// Address: an IPv4 or IPv6 socket address. Value type, any thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "xds/base/status.h"

namespace remora::net {

class Address {
 public:
  Address() = default;
  // "127.0.0.1", 8080 or "::1", 8080. Fails on anything that is not a literal IP.
  static base::Result<Address> fromIpPort(std::string_view ip, uint16_t port);
  // "127.0.0.1:8080" or "[::1]:8080".
  static base::Result<Address> parse(std::string_view host_port);
  static Address fromSockaddr(const struct sockaddr* sa);

  const struct sockaddr* sockaddr() const { return reinterpret_cast<const struct sockaddr*>(&storage_); }
  socklen_t sockaddrLength() const;
  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  std::string ip() const;
  // "127.0.0.1:8080" or "[::1]:8080".
  std::string toString() const;
  bool operator==(const Address& other) const;

 private:
  sockaddr_storage storage_{};
};

}  // namespace remora::net
