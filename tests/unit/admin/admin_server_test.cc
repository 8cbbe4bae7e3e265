// AdminServer on a loop, listening on 127.0.0.1:0, driven by loopback HTTP/1.1
// clients: method rules, 404 with the endpoint list, query parsing, and
// handlers that answer later (also after their client went away). Every loop
// test ends with every handle closed.
#include "proxy/admin/admin_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/upstream/strict_loop_fixture.h"
#include "tests/unit/net/test_callbacks.h"

using namespace std::chrono_literals;
using remora::admin::AdminRequest;
using remora::admin::AdminResponse;
using remora::admin::AdminServer;
using remora::admin::parseQuery;
using remora::admin::Responder;
using remora::testing::StrictLoopFixture;
using remora::net::testing::RecordingCallbacks;
namespace net = remora::net;

namespace {

// An admin server with three endpoints: /ready (read-only), /quitquitquit
// (mutating) and /slow (answers from a timer, 30 ms later).
struct AdminRig {
  explicit AdminRig(net::Dispatcher& d) : dispatcher(d), server(d) {
    server.addHandler("/ready", "whether the proxy is ready", false, [this](const AdminRequest& r, Responder respond) {
      last_request = r;
      respond(AdminResponse{200, "text/plain; charset=utf-8", "LIVE\n"});
    });
    server.addHandler("/quitquitquit", "exit the proxy", true, [this](const AdminRequest& r, Responder respond) {
      last_request = r;
      ++quits;
      respond(AdminResponse{200, "text/plain; charset=utf-8", "OK\n"});
    });
    server.addHandler("/slow", "answers later", false, [this](const AdminRequest&, Responder respond) {
      ++slow_calls;
      late = std::move(respond);
      slow_timer = dispatcher.createTimer([this] {
        if (late) late(AdminResponse{200, "text/plain; charset=utf-8", "late answer\n"});
        ++late_answers;
      });
      slow_timer->enable(30ms);
    });
    auto address = net::Address::fromIpPort("127.0.0.1", 0);
    REQUIRE(address);
    REQUIRE(server.bind(*address));
  }
  ~AdminRig() {
    slow_timer.reset();
    late = nullptr;
    // Closed sessions wait in the deferred-deletion queue and point at the server.
    dispatcher.runOnce();
  }

  net::Dispatcher& dispatcher;
  AdminServer server;
  std::optional<AdminRequest> last_request;
  int quits = 0;
  int slow_calls = 0;
  int late_answers = 0;
  Responder late;
  net::TimerPtr slow_timer;
};

// One HTTP/1.1 exchange with Connection: close, read until the server closes.
struct Client {
  Client(net::Dispatcher& d, const net::Address& address) {
    connection = net::connectTcp(d, address);
    connection->setCallbacks(events);
  }
  void send(const std::string& bytes) { net::testing::writeString(*connection, bytes); }
  bool closedByServer() const { return events.closed() || events.end_streams > 0; }
  std::string statusLine() const { return events.received.substr(0, events.received.find("\r\n")); }
  std::string body() const {
    const size_t end = events.received.find("\r\n\r\n");
    return end == std::string::npos ? "" : events.received.substr(end + 4);
  }

  net::ConnectionPtr connection;
  RecordingCallbacks events;
};

std::string request(const std::string& method, const std::string& target, const std::string& body = "") {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST") out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return out + "\r\n" + body;
}

}  // namespace

TEST_CASE_METHOD(StrictLoopFixture, "a GET on a mutating admin endpoint gets 405 and changes nothing", "[admin]") {
  AdminRig rig(dispatcher());
  Client client(dispatcher(), rig.server.localAddress());
  client.send(request("GET", "/quitquitquit"));
  REQUIRE(runUntil([&] { return client.closedByServer(); }));
  CHECK(client.statusLine() == "HTTP/1.1 405 Method Not Allowed");
  CHECK_THAT(client.body(), Catch::Contains("use POST"));
  CHECK(rig.quits == 0);
}

TEST_CASE_METHOD(StrictLoopFixture, "a POST on a mutating admin endpoint runs its handler with the body", "[admin]") {
  AdminRig rig(dispatcher());
  Client client(dispatcher(), rig.server.localAddress());
  client.send(request("POST", "/quitquitquit?reason=test", "now please"));
  REQUIRE(runUntil([&] { return client.closedByServer(); }));
  CHECK(client.statusLine() == "HTTP/1.1 200 OK");
  CHECK(client.body() == "OK\n");
  CHECK(rig.quits == 1);
  REQUIRE(rig.last_request.has_value());
  CHECK(rig.last_request->method == "POST");
  CHECK(rig.last_request->path == "/quitquitquit");
  CHECK(rig.last_request->query.at("reason") == "test");
  CHECK(rig.last_request->body == "now please");
}

TEST_CASE_METHOD(StrictLoopFixture, "a POST on a read-only admin endpoint gets 405", "[admin]") {
  AdminRig rig(dispatcher());
  Client client(dispatcher(), rig.server.localAddress());
  client.send(request("POST", "/ready"));
  REQUIRE(runUntil([&] { return client.closedByServer(); }));
  CHECK(client.statusLine() == "HTTP/1.1 405 Method Not Allowed");
  CHECK_FALSE(rig.last_request.has_value());
}

TEST_CASE_METHOD(StrictLoopFixture, "an unknown admin path gets 404 listing every endpoint", "[admin]") {
  AdminRig rig(dispatcher());
  Client client(dispatcher(), rig.server.localAddress());
  client.send(request("GET", "/nope"));
  REQUIRE(runUntil([&] { return client.closedByServer(); }));
  CHECK(client.statusLine() == "HTTP/1.1 404 Not Found");
  const std::string body = client.body();
  CHECK_THAT(body, Catch::Contains("/nope"));
  CHECK_THAT(body, Catch::Contains("/ready: whether the proxy is ready"));
  CHECK_THAT(body, Catch::Contains("/quitquitquit (POST): exit the proxy"));
  CHECK_THAT(body, Catch::Contains("/slow: answers later"));
}

TEST_CASE_METHOD(StrictLoopFixture, "a GET on a read-only endpoint passes the decoded query string to the handler",
                 "[admin]") {
  AdminRig rig(dispatcher());
  Client client(dispatcher(), rig.server.localAddress());
  client.send(request("GET", "/ready?filter=a%20b+c&usedonly"));
  REQUIRE(runUntil([&] { return client.closedByServer(); }));
  CHECK(client.statusLine() == "HTTP/1.1 200 OK");
  CHECK(client.body() == "LIVE\n");
  REQUIRE(rig.last_request.has_value());
  CHECK(rig.last_request->path == "/ready");
  CHECK(rig.last_request->query.at("filter") == "a b c");
  CHECK(rig.last_request->query.count("usedonly") == 1);
}

TEST_CASE("parseQuery decodes %xx escapes and + as space", "[admin]") {
  auto q = parseQuery("a=b&c=%20d&e=x+y&flag&%41%62=%4a%4B&plus=%2B&empty=");
  CHECK(q.at("a") == "b");
  CHECK(q.at("c") == " d");
  CHECK(q.at("e") == "x y");
  CHECK(q.at("flag").empty());
  CHECK(q.at("Ab") == "JK");
  CHECK(q.at("plus") == "+");
  CHECK(q.at("empty").empty());
  CHECK(q.size() == 7);
}

TEST_CASE("parseQuery keeps malformed escapes literally and skips empty pairs", "[admin]") {
  auto q = parseQuery("bad=%zz&short=%4&&end=100%&=v");
  CHECK(q.at("bad") == "%zz");
  CHECK(q.at("short") == "%4");
  CHECK(q.at("end") == "100%");
  CHECK(q.at("").size() == 1);
  CHECK(parseQuery("").empty());
  CHECK(parseQuery("&&&").empty());
}

TEST_CASE("parseQuery lets a later value of the same key win", "[admin]") {
  auto q = parseQuery("k=1&k=2");
  CHECK(q.size() == 1);
  CHECK(q.at("k") == "2");
}

TEST_CASE_METHOD(StrictLoopFixture, "an admin handler may answer later, from a timer", "[admin]") {
  AdminRig rig(dispatcher());
  Client client(dispatcher(), rig.server.localAddress());
  client.send(request("GET", "/slow"));
  REQUIRE(runUntil([&] { return rig.slow_calls == 1; }));
  CHECK(client.events.received.empty());  // nothing until the handler answers
  REQUIRE(runUntil([&] { return client.closedByServer(); }));
  CHECK(rig.late_answers == 1);
  CHECK(client.statusLine() == "HTTP/1.1 200 OK");
  CHECK(client.body() == "late answer\n");
}

TEST_CASE_METHOD(StrictLoopFixture, "a late admin answer after the client reset its connection is harmless", "[admin]") {
  AdminRig rig(dispatcher());
  // A raw socket, so the test can make the client vanish with a RST.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  const net::Address& address = rig.server.localAddress();
  REQUIRE(::connect(fd, address.sockaddr(), address.sockaddrLength()) == 0);
  const std::string req = request("GET", "/slow");
  REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  REQUIRE(runUntil([&] { return rig.slow_calls == 1; }));

  linger reset_on_close{1, 0};
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset_on_close, sizeof(reset_on_close)) == 0);
  ::close(fd);
  // The server sees the reset and drops the session before the timer fires.
  REQUIRE(runUntil([&] { return rig.late_answers == 1; }));
  runFor(10ms);

  // The server still serves others.
  Client client(dispatcher(), rig.server.localAddress());
  client.send(request("GET", "/ready"));
  REQUIRE(runUntil([&] { return client.closedByServer(); }));
  CHECK(client.statusLine() == "HTTP/1.1 200 OK");
  // Calling the stale responder again is still a no-op.
  REQUIRE(rig.late);
  rig.late(AdminResponse{500, "text/plain", "too late\n"});
  runFor(10ms);
}

TEST_CASE_METHOD(StrictLoopFixture, "admin shutdown closes idle admin connections and stops accepting", "[admin]") {
  AdminRig rig(dispatcher());
  Client idle(dispatcher(), rig.server.localAddress());
  REQUIRE(runUntil([&] { return idle.events.connected(); }));
  runFor(10ms);
  rig.server.shutdown();
  REQUIRE(runUntil([&] { return idle.closedByServer(); }));
}

TEST_CASE_METHOD(StrictLoopFixture, "a read-write admin endpoint takes GET and POST and refuses other methods",
                 "[admin]") {
  AdminRig rig(dispatcher());
  std::vector<std::string> methods;
  rig.server.addReadWriteHandler("/level", "read or change", [&](const AdminRequest& r, Responder respond) {
    methods.push_back(r.method);
    respond(AdminResponse{200, "text/plain; charset=utf-8", r.method + "\n"});
  });
  for (const char* method : {"GET", "POST", "PUT"}) {
    Client client(dispatcher(), rig.server.localAddress());
    client.send(request(method, "/level"));
    REQUIRE(runUntil([&] { return client.closedByServer(); }));
    if (std::string(method) == "PUT") {
      CHECK(client.statusLine() == "HTTP/1.1 405 Method Not Allowed");
      CHECK_THAT(client.body(), Catch::Contains("use GET to read, POST to change"));
    } else {
      CHECK(client.statusLine() == "HTTP/1.1 200 OK");
      CHECK(client.body() == std::string(method) + "\n");
    }
  }
  CHECK(methods == std::vector<std::string>{"GET", "POST"});
  Client index(dispatcher(), rig.server.localAddress());
  index.send(request("GET", "/"));
  REQUIRE(runUntil([&] { return index.closedByServer(); }));
  CHECK_THAT(index.body(), Catch::Contains("/level (GET, POST): read or change"));
}

TEST_CASE_METHOD(StrictLoopFixture, "an admin server built without its index answers / with 404", "[admin]") {
  AdminServer scrape(dispatcher(), /*serve_index=*/false);
  scrape.addHandler("/metrics", "metrics", false, [](const AdminRequest&, Responder respond) {
    respond(AdminResponse{200, "text/plain; charset=utf-8", "m 1\n"});
  });
  auto address = net::Address::fromIpPort("127.0.0.1", 0);
  REQUIRE(address);
  REQUIRE(scrape.bind(*address));
  {
    Client root(dispatcher(), scrape.localAddress());
    root.send(request("GET", "/"));
    REQUIRE(runUntil([&] { return root.closedByServer(); }));
    CHECK(root.statusLine() == "HTTP/1.1 404 Not Found");
    CHECK_THAT(root.body(), Catch::Contains("this port serves only"));
    Client metrics(dispatcher(), scrape.localAddress());
    metrics.send(request("GET", "/metrics"));
    REQUIRE(runUntil([&] { return metrics.closedByServer(); }));
    CHECK(metrics.statusLine() == "HTTP/1.1 200 OK");
    CHECK(metrics.body() == "m 1\n");
  }
  dispatcher().runOnce();
}
