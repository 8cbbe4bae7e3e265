#include "tests/integration/harness/backend_process.h"

#include <catch2/catch.hpp>

using namespace remora::harness;
using namespace std::chrono_literals;

TEST_CASE("a backend that exits before reporting a port fails fast with its stderr", "[harness][backend]") {
  const auto started = std::chrono::steady_clock::now();
  auto backend = BackendProcess::start({"sh", "-c", "echo broken-backend >&2; exit 3", "sh"}, "broken", 30s);
  REQUIRE_FALSE(backend);
  CHECK(backend.error().message.find("broken-backend") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < 10s);
}

TEST_CASE("a backend that writes a bad port is rejected", "[harness][backend]") {
  // "$1" "$2" are --port-file FILE, appended by start().
  auto backend = BackendProcess::start({"sh", "-c", "echo 99999 > \"$2\"; sleep 30", "sh"}, "bad-port", 10s);
  REQUIRE_FALSE(backend);
  CHECK(backend.error().message.find("bad port") != std::string::npos);
}

TEST_CASE("the bytes pattern has the documented period", "[harness][backend]") {
  const std::string bytes = bytesPattern(130);
  CHECK(bytes.substr(0, 3) == "ABC");
  CHECK(bytes[62] == 'A');
  CHECK(bytes[61] == '9');
  CHECK(bytes.size() == 130);
}
