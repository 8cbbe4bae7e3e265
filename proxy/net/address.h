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
  // The same IP with another port.
  Address withPort(uint16_t port) const;
  // True for 0.0.0.0 and :: (a listener bound to every interface).
  bool isAnyAddress() const;
  // True for 127.0.0.0/8 and ::1 (and IPv4-mapped loopback).
  bool isLoopback() const;
  // The same IP and port, ignoring the family difference of an IPv4-mapped
  // IPv6 address (::ffff:10.0.0.1 equals 10.0.0.1).
  bool sameEndpoint(const Address& other) const;
  // For hash maps keyed by address: the fields operator== compares.
  size_t hash() const;

 private:
  sockaddr_storage storage_{};
};

}  // namespace remora::net
