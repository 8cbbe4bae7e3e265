#include "proxy/net/address.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>

using remora::net::Address;

TEST_CASE("an IPv4 literal and port make an address that prints back the same", "[net][address]") {
  auto a = Address::fromIpPort("127.0.0.1", 8080);
  REQUIRE(a);
  CHECK(a->family() == AF_INET);
  CHECK(a->port() == 8080);
  CHECK(a->ip() == "127.0.0.1");
  CHECK(a->toString() == "127.0.0.1:8080");
  CHECK(a->sockaddrLength() == sizeof(sockaddr_in));
}

TEST_CASE("an IPv6 literal prints with brackets", "[net][address]") {
  auto a = Address::fromIpPort("::1", 443);
  REQUIRE(a);
  CHECK(a->family() == AF_INET6);
  CHECK(a->toString() == "[::1]:443");
  CHECK(a->sockaddrLength() == sizeof(sockaddr_in6));
}

TEST_CASE("host names and garbage are not IP addresses", "[net][address]") {
  CHECK_FALSE(Address::fromIpPort("localhost", 80));
  CHECK_FALSE(Address::fromIpPort("", 80));
  CHECK_FALSE(Address::fromIpPort("1.2.3.4.5", 80));
  auto bad = Address::fromIpPort("example.com", 80);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == remora::base::Error::kInvalidArgument);
  CHECK(bad.error().message.find("example.com") != std::string::npos);
}

TEST_CASE("parse reads ip:port and [ipv6]:port", "[net][address]") {
  auto v4 = Address::parse("10.1.2.3:15001");
  REQUIRE(v4);
  CHECK(v4->ip() == "10.1.2.3");
  CHECK(v4->port() == 15001);
  auto v6 = Address::parse("[::1]:80");
  REQUIRE(v6);
  CHECK(v6->family() == AF_INET6);
  CHECK(v6->port() == 80);
  auto any6 = Address::parse("[::]:0");
  REQUIRE(any6);
  CHECK(any6->toString() == "[::]:0");
}

TEST_CASE("parse refuses missing ports, bad ports and unbracketed IPv6", "[net][address]") {
  CHECK_FALSE(Address::parse("127.0.0.1"));
  CHECK_FALSE(Address::parse("127.0.0.1:"));
  CHECK_FALSE(Address::parse("127.0.0.1:65536"));
  CHECK_FALSE(Address::parse("127.0.0.1:80x"));
  CHECK_FALSE(Address::parse("127.0.0.1:-1"));
  CHECK_FALSE(Address::parse("::1:80"));
  CHECK_FALSE(Address::parse("[::1]80"));
  CHECK_FALSE(Address::parse("[::1"));
  CHECK_FALSE(Address::parse("[1.2.3.4]:80"));
  CHECK_FALSE(Address::parse("localhost:80"));
  CHECK(Address::parse("127.0.0.1:65535"));
}

TEST_CASE("an address survives a round trip through sockaddr", "[net][address]") {
  auto a = Address::parse("[2001:db8::7]:9000");
  REQUIRE(a);
  Address copy = Address::fromSockaddr(a->sockaddr());
  CHECK(copy == *a);
  CHECK(copy.toString() == "[2001:db8::7]:9000");
}

TEST_CASE("addresses are equal by family, ip and port", "[net][address]") {
  CHECK(*Address::parse("127.0.0.1:80") == *Address::parse("127.0.0.1:80"));
  CHECK_FALSE(*Address::parse("127.0.0.1:80") == *Address::parse("127.0.0.1:81"));
  CHECK_FALSE(*Address::parse("127.0.0.1:80") == *Address::parse("127.0.0.2:80"));
  CHECK_FALSE(*Address::parse("[::ffff:127.0.0.1]:80") == *Address::parse("127.0.0.1:80"));
  CHECK(Address() == Address());
  CHECK(Address().sockaddrLength() == 0);
}

TEST_CASE("withPort, wildcard, loopback and IPv4-mapped equality", "[net][address]") {
  const Address a = *Address::parse("10.0.0.1:80");
  CHECK(a.withPort(8080) == *Address::parse("10.0.0.1:8080"));
  CHECK(Address::parse("[::1]:1")->withPort(2) == *Address::parse("[::1]:2"));
  CHECK(Address::parse("0.0.0.0:1")->isAnyAddress());
  CHECK(Address::parse("[::]:1")->isAnyAddress());
  CHECK_FALSE(a.isAnyAddress());
  CHECK(Address::parse("127.9.9.9:1")->isLoopback());
  CHECK(Address::parse("[::ffff:127.0.0.1]:1")->isLoopback());
  CHECK_FALSE(a.isLoopback());
  CHECK(Address::parse("[::ffff:10.0.0.1]:80")->sameEndpoint(a));
  CHECK_FALSE(Address::parse("[::ffff:10.0.0.1]:81")->sameEndpoint(a));
  CHECK(a.hash() == Address::parse("10.0.0.1:80")->hash());
  CHECK(a.hash() != a.withPort(81).hash());
}
