#include "proxy/net/original_destination.h"

#include <catch2/catch.hpp>

#include "proxy/net/listener.h"
#include "tests/unit/net/loop_fixture.h"
#include "tests/unit/net/test_callbacks.h"

using namespace remora::net;
using remora::net::testing::AcceptCollector;
using remora::net::testing::LoopFixture;

TEST_CASE_METHOD(LoopFixture, "a connection that was not redirected keeps its local address",
                 "[net][original_destination]") {
  AcceptCollector acceptor;
  auto listener = Listener::bind(dispatcher(), *Address::parse("127.0.0.1:0"), acceptor);
  REQUIRE(listener);
  ConnectionPtr client = connectTcp(dispatcher(), (*listener)->localAddress());
  REQUIRE(runUntil([&] { return !acceptor.accepted.empty(); }));
  Connection& accepted = *acceptor.accepted.front();
  const Address local = accepted.localAddress();
  // No NAT entry (or no nf_conntrack at all): the kernel has no original destination.
  if (auto original = accepted.originalDestination()) CHECK(*original == local);
  CHECK_FALSE(restoreOriginalDestination(accepted));
  CHECK_FALSE(accepted.localAddressRestored());
  CHECK(accepted.localAddress() == local);
  client->close(CloseType::kNoFlush);
  accepted.close(CloseType::kNoFlush);
}

TEST_CASE_METHOD(LoopFixture, "restoring the local address changes what the connection reports",
                 "[net][original_destination]") {
  AcceptCollector acceptor;
  auto listener = Listener::bind(dispatcher(), *Address::parse("127.0.0.1:0"), acceptor);
  REQUIRE(listener);
  ConnectionPtr client = connectTcp(dispatcher(), (*listener)->localAddress());
  REQUIRE(runUntil([&] { return !acceptor.accepted.empty(); }));
  Connection& accepted = *acceptor.accepted.front();
  accepted.restoreLocalAddress(*Address::parse("10.250.0.1:8080"));
  CHECK(accepted.localAddressRestored());
  CHECK(accepted.localAddress() == *Address::parse("10.250.0.1:8080"));
  client->close(CloseType::kNoFlush);
  accepted.close(CloseType::kNoFlush);
}

TEST_CASE("a socket that is not a redirected TCP connection has no original destination",
          "[net][original_destination]") {
  CHECK_FALSE(readOriginalDestination(-1, AF_INET));
  CHECK_FALSE(readOriginalDestination(0, AF_INET6));  // stdin is not a socket
}

TEST_CASE("loopback and interface addresses are local, others are not", "[net][original_destination]") {
  CHECK(isLocalInterfaceAddress(*Address::parse("127.0.0.1:1")));
  CHECK(isLocalInterfaceAddress(*Address::parse("127.3.2.1:1")));
  CHECK(isLocalInterfaceAddress(*Address::parse("[::1]:1")));
  CHECK_FALSE(isLocalInterfaceAddress(*Address::parse("192.0.2.77:1")));
}
