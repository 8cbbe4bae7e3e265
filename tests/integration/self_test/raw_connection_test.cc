#include "tests/integration/harness/raw_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

using namespace remora::harness;
using namespace std::chrono_literals;

namespace {

// A one-shot loopback listener on port 0, owned by the test.
struct Listener {
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::listen(fd, 4);
    socklen_t length = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
  }
  ~Listener() { ::close(fd); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
  int fd = -1;
  uint16_t port = 0;
};

}  // namespace

TEST_CASE("host and port are split for IPv4 and bracketed IPv6", "[harness][raw_connection]") {
  auto v4 = splitHostPort("127.0.0.1:8080");
  REQUIRE(v4);
  CHECK(v4->first == "127.0.0.1");
  CHECK(v4->second == 8080);
  auto v6 = splitHostPort("[::1]:443");
  REQUIRE(v6);
  CHECK(v6->first == "::1");
  CHECK(v6->second == 443);
  CHECK_FALSE(splitHostPort("127.0.0.1"));
  CHECK_FALSE(splitHostPort("127.0.0.1:70000"));
  CHECK_FALSE(splitHostPort("[::1]443"));
  CHECK_FALSE(splitHostPort(":80"));
}

TEST_CASE("a raw connection sends exact bytes and reads until a marker", "[harness][raw_connection]") {
  Listener listener;
  auto connection = RawConnection::connect(listener.address());
  REQUIRE(connection);
  const int peer = ::accept(listener.fd, nullptr, nullptr);
  REQUIRE(peer >= 0);

  REQUIRE(connection->send("GET / HTTP/1.1\r\n\r\n"));
  char received[64] = {};
  CHECK(::recv(peer, received, sizeof(received), 0) == 18);

  const std::string reply = "HEAD-PART\r\n\r\nBODY";
  ::send(peer, reply.data(), reply.size(), 0);
  CHECK(connection->readUntil("\r\n\r\n", 5s) == "HEAD-PART\r\n\r\n");
  // The bytes past the marker are kept for the next read.
  CHECK(connection->readAvailable(1s) == "BODY");
  CHECK(connection->readAvailable(50ms).empty());
  CHECK_FALSE(connection->peerClosed());

  ::send(peer, "LAST", 4, 0);
  ::close(peer);
  CHECK(connection->readUntilClose(5s) == "LAST");
  CHECK(connection->peerClosed());
  CHECK_FALSE(connection->peerReset());
}

TEST_CASE("a reset from the peer is told apart from a close", "[harness][raw_connection]") {
  Listener listener;
  auto connection = RawConnection::connect(listener.address());
  REQUIRE(connection);
  const int peer = ::accept(listener.fd, nullptr, nullptr);
  REQUIRE(peer >= 0);
  const linger option{1, 0};
  ::setsockopt(peer, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
  ::close(peer);
  connection->readUntilClose(5s);
  CHECK(connection->peerClosed());
  CHECK(connection->peerReset());
}

TEST_CASE("connecting to a closed port fails", "[harness][raw_connection]") {
  std::string address;
  {
    Listener listener;
    address = listener.address();
  }
  CHECK_FALSE(RawConnection::connect(address, 2s));
}
