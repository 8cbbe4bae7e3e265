// TestCollector: a tiny HTTP/1.1 server on 127.0.0.1 (port 0) for exporter
// tests, on the test's own dispatcher. It records every request (method,
// path, lower-cased headers, body) and answers with the next scripted status
// (200 once the script runs out), or never answers when `hang` is set.
// Deliberately naive (Content-Length bodies only): the client under test
// writes exactly that.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/net/listener.h"

namespace remora::tracing::testing {

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;
  std::string body;
};

class TestCollector : public net::ListenerCallbacks {
 public:
  explicit TestCollector(net::Dispatcher& dispatcher) {
    auto address = net::Address::fromIpPort("127.0.0.1", 0);
    REQUIRE(address);
    auto listener = net::Listener::bind(dispatcher, *address, *this, /*reuse_port=*/false);
    REQUIRE(listener);
    listener_ = std::move(*listener);
  }
  // Open connections close silently with their sessions.
  ~TestCollector() override = default;

  net::Address address() const { return listener_->localAddress(); }
  void stop() { listener_.reset(); }

  std::deque<uint32_t> statuses;  // answers, in order; 200 after the last
  bool hang = false;              // read requests, never answer
  std::vector<ReceivedRequest> requests;

  void onAccept(net::ConnectionPtr connection) override {
    auto session = std::make_unique<Session>(*this, std::move(connection));
    session->connection->setCallbacks(*session);
    sessions_.push_back(std::move(session));
  }

 private:
  struct Session : net::ConnectionCallbacks {
    Session(TestCollector& owner, net::ConnectionPtr c) : owner(owner), connection(std::move(c)) {}
    void onData(net::Buffer& data, bool) override {
      input += data.toString();
      data.clear();
      while (parseOne()) {
      }
    }
    void onEvent(net::ConnectionEvent) override {}

    bool parseOne() {
      const size_t head_end = input.find("\r\n\r\n");
      if (head_end == std::string::npos) return false;
      ReceivedRequest request;
      const std::string head = input.substr(0, head_end);
      size_t line_end = head.find("\r\n");
      const std::string start_line = head.substr(0, line_end);
      const size_t space = start_line.find(' ');
      request.method = start_line.substr(0, space);
      request.path = start_line.substr(space + 1, start_line.find(' ', space + 1) - space - 1);
      size_t at = line_end == std::string::npos ? head.size() : line_end + 2;
      while (at < head.size()) {
        size_t end = head.find("\r\n", at);
        if (end == std::string::npos) end = head.size();
        const std::string line = head.substr(at, end - at);
        const size_t colon = line.find(':');
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        request.headers[name] = value;
        at = end + 2;
      }
      const size_t length = request.headers.count("content-length") ? std::stoul(request.headers["content-length"]) : 0;
      if (input.size() < head_end + 4 + length) return false;
      request.body = input.substr(head_end + 4, length);
      input.erase(0, head_end + 4 + length);
      owner.requests.push_back(std::move(request));
      if (owner.hang) return true;
      uint32_t status = 200;
      if (!owner.statuses.empty()) {
        status = owner.statuses.front();
        owner.statuses.pop_front();
      }
      net::Buffer reply("HTTP/1.1 " + std::to_string(status) + " X\r\ncontent-length: 0\r\n\r\n");
      connection->write(reply, false);
      return true;
    }

    TestCollector& owner;
    net::ConnectionPtr connection;
    std::string input;
  };

  net::ListenerPtr listener_;
  std::vector<std::unique_ptr<Session>> sessions_;
};

}  // namespace remora::tracing::testing
