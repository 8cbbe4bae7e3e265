#include "control-plane/cli/api_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace remora::cli {

TEST_CASE("server URLs give scheme, host and port with defaults", "[cli][api]") {
  auto plain = parseServerUrl("http://127.0.0.1:15081");
  REQUIRE(plain);
  CHECK_FALSE(plain->tls);
  CHECK(plain->host == "127.0.0.1");
  CHECK(plain->port == 15081);
  auto secure = parseServerUrl("https://cp.example/");
  REQUIRE(secure);
  CHECK(secure->tls);
  CHECK(secure->host == "cp.example");
  CHECK(secure->port == 443);
  auto bare = parseServerUrl("localhost");
  REQUIRE(bare);
  CHECK(bare->port == 15080);
  auto v6 = parseServerUrl("http://[::1]:9000");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 9000);
}

TEST_CASE("bad server URLs are refused with a reason", "[cli][api]") {
  for (const char* url : {"ftp://x", "http://", "http://x:0", "http://x:70000", "http://x:1a", "http://x/api",
                          "http://[::1", "http://x:"}) {
    INFO(url);
    auto parsed = parseServerUrl(url);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().message.rfind("--server ", 0) == 0);
  }
}

TEST_CASE("timeouts take s, ms and m units", "[cli][api]") {
  CHECK(parseTimeout("5s").value() == std::chrono::milliseconds(5000));
  CHECK(parseTimeout("250ms").value() == std::chrono::milliseconds(250));
  CHECK(parseTimeout("2m").value() == std::chrono::milliseconds(120000));
  CHECK(parseTimeout("3").value() == std::chrono::milliseconds(3000));
  CHECK_FALSE(parseTimeout("0s"));
  CHECK_FALSE(parseTimeout("5h"));
  CHECK_FALSE(parseTimeout("-1s"));
  CHECK_FALSE(parseTimeout(""));
}

TEST_CASE("a CA file with plain http is a usage error", "[cli][api]") {
  auto client = HttpApiClient::create({"http://127.0.0.1:1", "", "/tmp/ca.pem", std::chrono::seconds(1)});
  REQUIRE_FALSE(client);
  CHECK(client.error().message.find("--ca-file") != std::string::npos);
}

TEST_CASE("a closed port is reported as an unreachable control plane", "[cli][api]") {
  // A port that was just free: bind, read it back, close.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  auto client = HttpApiClient::create({url, "", "", std::chrono::seconds(2)});
  REQUIRE(client);
  auto reply = (*client)->send("GET", "/api/v1/services", "");
  REQUIRE_FALSE(reply);
  CHECK(reply.error().code == base::Error::kConnectFailed);
  CHECK(reply.error().message == "cannot reach the control plane at " + url +
                                     ": connection refused; is remora-cp running? set --server or REMORA_SERVER");
}

}  // namespace remora::cli
