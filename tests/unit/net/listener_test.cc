#include "proxy/net/listener.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/net/loop_fixture.h"
#include "tests/unit/net/test_callbacks.h"

using namespace std::chrono_literals;
using namespace remora::net;
using remora::net::testing::AcceptCollector;
using remora::net::testing::LoopFixture;
using remora::net::testing::RecordingCallbacks;
using remora::net::testing::writeString;

TEST_CASE_METHOD(LoopFixture, "binding port 0 reports the port the kernel chose", "[net][listener]") {
  AcceptCollector acceptor;
  auto listener = Listener::bind(dispatcher(), *Address::parse("127.0.0.1:0"), acceptor);
  REQUIRE(listener);
  const Address& local = (*listener)->localAddress();
  CHECK(local.ip() == "127.0.0.1");
  CHECK(local.port() != 0);
}

TEST_CASE_METHOD(LoopFixture, "binding a port in use fails with the call, the address and the errno text",
                 "[net][listener]") {
  AcceptCollector acceptor;
  auto first = Listener::bind(dispatcher(), *Address::parse("127.0.0.1:0"), acceptor, /*reuse_port=*/false);
  REQUIRE(first);
  Address taken = (*first)->localAddress();
  auto second = Listener::bind(dispatcher(), taken, acceptor, /*reuse_port=*/false);
  REQUIRE_FALSE(second);
  CHECK(second.error().code == remora::base::Error::kIo);
  CHECK(second.error().message == "bind " + taken.toString() + ": address already in use");
}

TEST_CASE_METHOD(LoopFixture, "binding an address this host does not have fails", "[net][listener]") {
  AcceptCollector acceptor;
  auto listener = Listener::bind(dispatcher(), *Address::parse("192.0.2.1:0"), acceptor);
  REQUIRE_FALSE(listener);
  CHECK(listener.error().message.rfind("bind 192.0.2.1:0: ", 0) == 0);
}

TEST_CASE_METHOD(LoopFixture, "binding an unspecified address is refused", "[net][listener]") {
  AcceptCollector acceptor;
  auto listener = Listener::bind(dispatcher(), Address(), acceptor);
  REQUIRE_FALSE(listener);
  CHECK(listener.error().code == remora::base::Error::kInvalidArgument);
}

TEST_CASE_METHOD(LoopFixture, "a paused listener accepts nothing until it is resumed", "[net][listener]") {
  AcceptCollector acceptor;
  auto bound = Listener::bind(dispatcher(), *Address::parse("127.0.0.1:0"), acceptor);
  REQUIRE(bound);
  ListenerPtr listener = std::move(*bound);
  listener->pause();

  RecordingCallbacks cb1, cb2;
  ConnectionPtr c1 = connectTcp(dispatcher(), listener->localAddress());
  c1->setCallbacks(cb1);
  ConnectionPtr c2 = connectTcp(dispatcher(), listener->localAddress());
  c2->setCallbacks(cb2);
  // The kernel completes the handshakes into the backlog...
  REQUIRE(runUntil([&] { return cb1.connected() && cb2.connected(); }));
  runFor(50ms);
  // ...but nothing reaches us.
  CHECK(acceptor.accepted.empty());

  listener->resume();
  REQUIRE(runUntil([&] { return acceptor.accepted.size() == 2; }));
  acceptor.accepted.clear();
}

TEST_CASE_METHOD(LoopFixture, "connections outlive the listener that accepted them", "[net][listener]") {
  AcceptCollector acceptor;
  auto bound = Listener::bind(dispatcher(), *Address::parse("127.0.0.1:0"), acceptor);
  REQUIRE(bound);
  ListenerPtr listener = std::move(*bound);
  RecordingCallbacks client_cb, server_cb;
  ConnectionPtr client = connectTcp(dispatcher(), listener->localAddress());
  client->setCallbacks(client_cb);
  REQUIRE(runUntil([&] { return acceptor.accepted.size() == 1; }));
  ConnectionPtr server = std::move(acceptor.accepted[0]);
  server->setCallbacks(server_cb);
  listener.reset();
  writeString(*server, "still here");
  REQUIRE(runUntil([&] { return client_cb.received == "still here"; }));
}

TEST_CASE_METHOD(LoopFixture, "a listener on IPv6 loopback accepts IPv6 clients", "[net][listener]") {
  AcceptCollector acceptor;
  auto bound = Listener::bind(dispatcher(), *Address::parse("[::1]:0"), acceptor);
  if (!bound) {
    WARN("no IPv6 loopback here: " << bound.error().message);
    return;
  }
  ListenerPtr listener = std::move(*bound);
  CHECK(listener->localAddress().toString().rfind("[::1]:", 0) == 0);
  RecordingCallbacks cb;
  ConnectionPtr client = connectTcp(dispatcher(), listener->localAddress());
  client->setCallbacks(cb);
  REQUIRE(runUntil([&] { return acceptor.accepted.size() == 1; }));
  CHECK(acceptor.accepted[0]->remoteAddress().family() == AF_INET6);
  acceptor.accepted.clear();
}
