#include <catch2/catch.hpp>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/raw_connection.h"

using namespace remora::harness;
using namespace std::chrono_literals;

TEST_CASE("tcp_echo echoes bytes and says bye after the client half-closes", "[tcp_echo]") {
  auto backend = BackendProcess::tcpEcho();
  REQUIRE(backend);
  auto connection = RawConnection::connect(backend->address());
  REQUIRE(connection);
  REQUIRE(connection->send("ping\n"));
  CHECK(connection->readUntil("ping\n", 5s) == "ping\n");
  // Still open in both directions until we half-close.
  CHECK(connection->readAvailable(100ms).empty());
  CHECK_FALSE(connection->peerClosed());
  REQUIRE(connection->send("last"));
  REQUIRE(connection->shutdownWrite());
  CHECK(connection->readUntilClose(5s) == "lastbye\n");
  CHECK(connection->peerClosed());
}

TEST_CASE("tcp_echo in server-first mode speaks before the client does", "[tcp_echo]") {
  auto backend = BackendProcess::tcpEcho(/*server_first=*/true);
  REQUIRE(backend);
  auto connection = RawConnection::connect(backend->address());
  REQUIRE(connection);
  CHECK(connection->readUntil("\r\n", 5s) == "220 remora-test ready\r\n");
  REQUIRE(connection->send("HELO x\r\n"));
  CHECK(connection->readUntil("\r\n", 5s) == "HELO x\r\n");
}
