#include "proxy/main/wait_ready.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <thread>

using namespace remora;
using namespace std::chrono_literals;

namespace {

// A one-thread HTTP server on 127.0.0.1:0 that answers every request with
// 503 "STARTING" until `ready_after` requests were served, then 200 "LIVE".
class FakeAdmin {
 public:
  explicit FakeAdmin(int ready_after) : ready_after_(ready_after) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeAdmin() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  const std::string& address() const { return address_; }
  int served() const { return served_; }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[1024];
      std::string request;
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      const bool ready = ++served_ > ready_after_;
      const std::string body = ready ? "LIVE\n" : "STARTING: waiting for the workload certificate\n";
      const std::string response = std::string(ready ? "HTTP/1.1 200 OK" : "HTTP/1.1 503 Service Unavailable") +
                                   "\r\ncontent-type: text/plain\r\ncontent-length: " + std::to_string(body.size()) +
                                   "\r\n\r\n" + body;
      ::send(c, response.data(), response.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  int fd_ = -1;
  int ready_after_;
  std::string address_;
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0};
  std::thread thread_;
};

// A port nothing listens on: bound, then closed.
std::string closedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

std::string readAll(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  return out;
}

}  // namespace

TEST_CASE("a probe reads the status and body of /ready", "[main][wait_ready]") {
  FakeAdmin admin(1);
  auto first = server::probeReady(admin.address(), 2s);
  CHECK(first.status == 503);
  CHECK(first.body == "STARTING: waiting for the workload certificate\n");
  CHECK(first.error.empty());
  auto second = server::probeReady(admin.address(), 2s);
  CHECK(second.status == 200);
  CHECK(second.body == "LIVE\n");
}

TEST_CASE("a probe of a closed port reports the connect error", "[main][wait_ready]") {
  const std::string address = closedPort();
  auto probe = server::probeReady(address, 1s);
  CHECK(probe.status == 0);
  CHECK(probe.error == "connect " + address + ": Connection refused");
}

TEST_CASE("wait-ready returns 0 once /ready turns 200", "[main][wait_ready]") {
  FakeAdmin admin(3);
  server::WaitReadyOptions o;
  o.admin_address = admin.address();
  o.timeout = 5s;
  o.interval = 10ms;
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  CHECK(server::waitReady(o, out, err) == 0);
  CHECK(admin.served() == 4);
  CHECK(readAll(out).rfind("remora-proxy is ready (" + admin.address(), 0) == 0);
  CHECK(readAll(err).empty());
  std::fclose(out);
  std::fclose(err);
}

TEST_CASE("wait-ready times out with exit 1 and the last /ready body", "[main][wait_ready]") {
  FakeAdmin admin(1000000);
  server::WaitReadyOptions o;
  o.admin_address = admin.address();
  o.timeout = 300ms;
  o.interval = 20ms;
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  const auto start = std::chrono::steady_clock::now();
  CHECK(server::waitReady(o, out, err) == 1);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(admin.served() >= 2);
  const std::string text = readAll(err);
  CHECK(text.find("not ready after 0.3 s") != std::string::npos);
  CHECK(text.find("/ready answered 503: STARTING: waiting for the workload certificate") != std::string::npos);
  std::fclose(out);
  std::fclose(err);
}

TEST_CASE("wait-ready against nothing prints the connect error", "[main][wait_ready]") {
  server::WaitReadyOptions o;
  o.admin_address = closedPort();
  o.timeout = 100ms;
  o.interval = 20ms;
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  CHECK(server::waitReady(o, out, err) == 1);
  CHECK(readAll(err).find("Connection refused") != std::string::npos);
  std::fclose(out);
  std::fclose(err);
}

TEST_CASE("admin addresses are ip:port, IPv6 in brackets", "[main][wait_ready]") {
  auto v4 = server::splitHostPort("127.0.0.1:15000");
  REQUIRE(v4);
  CHECK(v4->first == "127.0.0.1");
  CHECK(v4->second == 15000);
  auto v6 = server::splitHostPort("[::1]:15000");
  REQUIRE(v6);
  CHECK(v6->first == "::1");
  CHECK_FALSE(server::splitHostPort("::1:15000"));
  CHECK_FALSE(server::splitHostPort("127.0.0.1"));
  CHECK_FALSE(server::splitHostPort("127.0.0.1:99999"));
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  server::WaitReadyOptions bad;
  bad.admin_address = "localhost";
  CHECK(server::waitReady(bad, out, err) == 2);
  std::fclose(out);
  std::fclose(err);
}
