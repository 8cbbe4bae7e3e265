// http_echo.py driven by curl and by raw sockets: proves the backend the
// proxy tests will rely on, and the harness pieces that start and talk to it.
#include <catch2/catch.hpp>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/raw_connection.h"
#include "tests/integration/harness/temp_dir.h"

using namespace remora::harness;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("http_echo echoes method, headers and a body digest", "[http_echo]") {
  auto backend = BackendProcess::httpEcho();
  REQUIRE(backend);
  const CommandResult result = run({"curl", "-sS", "-i", "-X", "PUT", "-H", "X-Echo-Color: blue", "-H",
                                    "X-Other: 1", "--data-binary", "hello", "http://" + backend->address() + "/echo"},
                                   10s);
  INFO(result.describe());
  REQUIRE(result.exit_code == 0);
  CHECK(contains(result.stdout_text, "HTTP/1.1 200 OK"));
  CHECK(contains(result.stdout_text, "X-Echo-Color: blue"));
  CHECK_FALSE(contains(result.stdout_text, "X-Other: 1"));
  CHECK(contains(result.stdout_text, "\"method\": \"PUT\""));
  CHECK(contains(result.stdout_text, "[\"x-other\", \"1\"]"));
  CHECK(contains(result.stdout_text, "\"body_length\": 5"));
  // sha256("hello")
  CHECK(contains(result.stdout_text, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
}

TEST_CASE("http_echo decodes a chunked request with trailers", "[http_echo]") {
  auto backend = BackendProcess::httpEcho();
  REQUIRE(backend);
  auto connection = RawConnection::connect(backend->address());
  REQUIRE(connection);
  REQUIRE(connection->send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                           "3\r\nhel\r\n2;ext=y\r\nlo\r\n0\r\nX-Sum: 5\r\n\r\n"));
  auto response = parseHttpResponse(connection->readUntilClose(10s));
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(contains(response->body, "\"body_length\": 5"));
  CHECK(contains(response->body, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
  CHECK(contains(response->body, "[\"x-sum\", \"5\"]"));
}

TEST_CASE("http_echo keeps a connection alive across requests", "[http_echo]") {
  auto backend = BackendProcess::httpEcho();
  REQUIRE(backend);
  auto connection = RawConnection::connect(backend->address());
  REQUIRE(connection);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(connection->send("GET /status/202 HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::string head = connection->readUntil("\r\n\r\n", 5s);
    CHECK(contains(head, "HTTP/1.1 202"));
    CHECK(connection->readUntil("status 202\n", 5s) == "status 202\n");
  }
  CHECK_FALSE(connection->peerClosed());
}

TEST_CASE("http_echo streams an upload back unchanged", "[http_echo]") {
  auto backend = BackendProcess::httpEcho();
  REQUIRE(backend);
  TempDir dir;
  std::string body;
  for (int i = 0; i < 300000; ++i) body += static_cast<char>((i * 7) % 256);
  REQUIRE(writeFile(dir.file("in"), body));
  const CommandResult result = run({"curl", "-sS", "--data-binary", "@" + dir.file("in"), "-o", dir.file("out"),
                                    "http://" + backend->address() + "/upload"},
                                   20s);
  INFO(result.describe());
  REQUIRE(result.exit_code == 0);
  auto out = readFile(dir.file("out"));
  REQUIRE(out);
  CHECK(out->size() == body.size());
  CHECK(*out == body);
}

TEST_CASE("http_echo serves N bytes of the known pattern, chunked or with a length", "[http_echo]") {
  auto backend = BackendProcess::httpEcho();
  REQUIRE(backend);
  auto chunked = httpGet(backend->address(), "/bytes/200000");
  REQUIRE(chunked);
  CHECK(chunked->header("transfer-encoding") == "chunked");
  CHECK(chunked->body == bytesPattern(200000));
  auto sized = httpGet(backend->address(), "/bytes/1000?mode=length");
  REQUIRE(sized);
  CHECK(sized->header("content-length") == "1000");
  CHECK(sized->body == bytesPattern(1000));
}

TEST_CASE("http_echo answers a chosen status, a delay and HEAD", "[http_echo]") {
  auto backend = BackendProcess::httpEcho();
  REQUIRE(backend);
  auto teapot = httpGet(backend->address(), "/status/418");
  REQUIRE(teapot);
  CHECK(teapot->status == 418);

  const auto started = std::chrono::steady_clock::now();
  auto delayed = httpGet(backend->address(), "/delay/300");
  REQUIRE(delayed);
  CHECK(delayed->status == 200);
  CHECK(std::chrono::steady_clock::now() - started >= 300ms);

  HttpRequest head;
  head.method = "HEAD";
  head.path = "/bytes/5000?mode=length";
  auto response = httpRequest(backend->address(), head);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->header("content-length") == "5000");
  CHECK(response->body.empty());
}

TEST_CASE("http_echo closes after /close and truncates /abort-mid-body", "[http_echo]") {
  auto backend = BackendProcess::httpEcho();
  REQUIRE(backend);
  auto connection = RawConnection::connect(backend->address());
  REQUIRE(connection);
  REQUIRE(connection->send("GET /close HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto closed = parseHttpResponse(connection->readUntilClose(5s));
  CHECK(connection->peerClosed());
  REQUIRE(closed);
  CHECK(closed->header("connection") == "close");

  // curl exit 18: "transferred a partial file".
  const CommandResult result = run({"curl", "-sS", "-o", "/dev/null", "http://" + backend->address() + "/abort-mid-body"}, 10s);
  CHECK(result.exit_code == 18);
  auto aborted = httpGet(backend->address(), "/abort-mid-body");
  REQUIRE_FALSE(aborted);
  CHECK(contains(aborted.error().message, "1000 of 1000000"));
}

TEST_CASE("http_echo upgrades /ws and echoes websocket frames", "[http_echo]") {
  auto backend = BackendProcess::httpEcho();
  REQUIRE(backend);
  auto connection = RawConnection::connect(backend->address());
  REQUIRE(connection);
  // The key and accept value are RFC 6455 section 1.3's example.
  REQUIRE(connection->send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  const std::string head = connection->readUntil("\r\n\r\n", 5s);
  CHECK(contains(head, "HTTP/1.1 101"));
  CHECK(contains(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));

  // A masked text frame "Hello" (RFC 6455 section 5.7's example).
  const std::string masked = {'\x81', '\x85', '\x37', '\xfa', '\x21', '\x3d', '\x7f', '\x9f', '\x4d', '\x51', '\x58'};
  REQUIRE(connection->send(masked));
  CHECK(connection->readUntil("Hello", 5s) == std::string("\x81\x05Hello"));

  const std::string close_frame = {'\x88', '\x80', '\x00', '\x00', '\x00', '\x00'};
  REQUIRE(connection->send(close_frame));
  CHECK(connection->readUntilClose(5s) == std::string("\x88\x00", 2));
  CHECK(connection->peerClosed());
}
