// ConnectionPool and ActiveClient on a real loop against a LoopbackBackend:
// reuse, concurrency limits, queue overflow, connect failures and timeouts,
// idle close and HTTP/2 multiplexing. Every test ends with every handle closed.
#include "proxy/upstream/connection_pool.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/upstream/strict_loop_fixture.h"
#include "tests/unit/upstream/loopback_backend.h"
#include "tests/unit/upstream/test_counters.h"

using namespace std::chrono_literals;
using remora::base::Error;
using remora::net::Address;
using remora::testing::StrictLoopFixture;
using remora::testing::LoopbackBackend;
using remora::testing::MetricSink;
using remora::upstream::ConnectionPool;
using remora::upstream::Host;
namespace http = remora::http;

namespace {

// One request through the pool: sends GET `path` when the pool hands it a
// stream and records the response, the reset or the pool failure.
struct PoolRequest : remora::upstream::PoolCallbacks, http::StreamCallbacks {
  explicit PoolRequest(std::string p = "/") : path(std::move(p)) {}

  void onPoolReady(http::Stream& s, Host& h) override {
    ready = true;
    host = &h;
    stream = &s;
    http::HeaderMap headers;
    headers.add(":method", "GET");
    headers.add(":scheme", "http");
    headers.add(":authority", "backend.test");
    headers.add(":path", path);
    s.encodeHeaders(headers, true);
  }
  void onPoolFailure(Error reason, std::string_view detail) override {
    failure = reason;
    failure_detail = std::string(detail);
  }
  void onHeaders(http::HeaderMapPtr h, bool end_stream) override {
    headers = std::move(h);
    if (end_stream) finish();
  }
  void onData(remora::net::Buffer& data, bool end_stream) override {
    body += data.toString();
    data.clear();
    if (end_stream) finish();
  }
  void onTrailers(http::HeaderMapPtr) override { finish(); }
  void onReset(http::StreamResetReason r, std::string_view d) override {
    reset = r;
    reset_detail = std::string(d);
    stream = nullptr;
  }
  void finish() {
    complete = true;
    stream = nullptr;  // the pool forgets the stream once the response ends
  }
  bool done() const { return complete || reset.has_value() || failure.has_value(); }
  std::string session() const {
    if (!headers) return "";
    return std::string(headers->get("x-backend-session").value_or(""));
  }

  std::string path;
  bool ready = false;
  Host* host = nullptr;
  http::Stream* stream = nullptr;
  std::optional<Error> failure;
  std::string failure_detail;
  http::HeaderMapPtr headers;
  std::string body;
  bool complete = false;
  std::optional<http::StreamResetReason> reset;
  std::string reset_detail;
};

Host hostFor(const Address& address) { return Host(address, 1); }

// Asks the pool for a stream, remembering the queue handle when it waits.
struct Issued {
  bool queued = false;
  ConnectionPool::PendingHandle handle;
};
Issued issue(ConnectionPool& pool, PoolRequest& request) {
  Issued out;
  out.queued = pool.newStream(request, request, out.handle);
  return out;
}

// A raw socket bound on 127.0.0.1 that owns a port for the test's lifetime.
struct RawSocket {
  RawSocket() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = 0;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0);
    socklen_t len = sizeof(sin);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) == 0);
    auto a = Address::fromIpPort("127.0.0.1", ntohs(sin.sin_port));
    REQUIRE(a);
    address = *a;
  }
  ~RawSocket() {
    for (int f : fillers) ::close(f);
    if (fd >= 0) ::close(fd);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  // Listens with a zero backlog and never accepts, then connects filler
  // sockets until one cannot complete its handshake: from then on the kernel
  // drops new SYNs to this port, so a connect() to it hangs until it times out.
  void listenAndFill() {
    REQUIRE(::listen(fd, 0) == 0);
    for (int i = 0; i < 16; ++i) {
      int f = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      REQUIRE(f >= 0);
      fillers.push_back(f);
      (void)::connect(f, address.sockaddr(), address.sockaddrLength());
      pollfd p{f, POLLOUT, 0};
      if (::poll(&p, 1, 200) == 0) return;  // this handshake is stuck: the queue is full
    }
    FAIL("the listen queue never filled up");
  }

  int fd = -1;
  Address address;
  std::vector<int> fillers;
};

}  // namespace

TEST_CASE_METHOD(StrictLoopFixture, "two sequential HTTP/1.1 requests reuse one pooled connection", "[upstream][pool]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  MetricSink sink;
  auto counters = sink.poolCounters();
  Host host = hostFor(backend.address());
  ConnectionPool pool(dispatcher(), host, ConnectionPool::Settings{}, counters);

  PoolRequest first("/one");
  CHECK(issue(pool, first).queued);  // no connection yet: it waits for one
  REQUIRE(runUntil([&] { return first.done(); }));
  CHECK(first.complete);
  CHECK(first.host == &host);
  CHECK(first.body == "ok");

  // The connection is idle and ready: the second request gets it at once.
  PoolRequest second("/two");
  CHECK_FALSE(issue(pool, second).queued);
  CHECK(second.ready);
  REQUIRE(runUntil([&] { return second.done(); }));
  CHECK(second.complete);

  CHECK(backend.accepted() == 1);
  CHECK(backend.requests() == 2);
  CHECK(first.session() == "0");
  CHECK(second.session() == "0");
  CHECK(counters.connections_total.value() == 1);
  CHECK(counters.connections_active.value() == 1);
}

TEST_CASE_METHOD(StrictLoopFixture, "concurrent HTTP/1.1 requests open connections up to max_connections and then queue",
                 "[upstream][pool]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  backend.mode = LoopbackBackend::Mode::kHold;
  MetricSink sink;
  auto counters = sink.poolCounters();
  Host host = hostFor(backend.address());
  ConnectionPool::Settings settings;
  settings.max_connections = 2;
  ConnectionPool pool(dispatcher(), host, settings, counters);

  PoolRequest a("/a"), b("/b"), c("/c");
  CHECK(issue(pool, a).queued);
  CHECK(issue(pool, b).queued);
  CHECK(issue(pool, c).queued);
  CHECK(counters.connections_total.value() == 2);

  // Two requests are in flight at the backend at once, one per connection;
  // the third waits for one of them to finish.
  REQUIRE(runUntil([&] { return backend.held() == 2; }));
  runFor(20ms);
  CHECK(backend.held() == 2);
  CHECK(backend.accepted() == 2);
  CHECK_FALSE(c.ready);

  backend.respondAll();
  REQUIRE(runUntil([&] { return backend.held() == 1; }));
  backend.respondAll();
  REQUIRE(runUntil([&] { return a.done() && b.done() && c.done(); }));
  CHECK(a.complete);
  CHECK(b.complete);
  CHECK(c.complete);
  CHECK(a.session() != b.session());
  CHECK(backend.accepted() == 2);
  CHECK(counters.connections_total.value() == 2);
}

TEST_CASE_METHOD(StrictLoopFixture, "a request beyond the pending queue limit fails with overflow at once",
                 "[upstream][pool]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  MetricSink sink;
  auto counters = sink.poolCounters();
  Host host = hostFor(backend.address());
  ConnectionPool::Settings settings;
  settings.max_connections = 1;
  settings.max_pending_requests = 1;
  ConnectionPool pool(dispatcher(), host, settings, counters);

  PoolRequest queued("/queued"), overflow("/overflow");
  CHECK(issue(pool, queued).queued);
  CHECK_FALSE(issue(pool, overflow).queued);
  REQUIRE(overflow.failure.has_value());
  CHECK(*overflow.failure == Error::kOverflow);
  CHECK_FALSE(overflow.failure_detail.empty());
  CHECK(counters.overflows.value() == 1);

  // The queued request is unaffected.
  REQUIRE(runUntil([&] { return queued.done(); }));
  CHECK(queued.complete);
}

TEST_CASE_METHOD(StrictLoopFixture, "a cancelled queued request never hears from the pool", "[upstream][pool]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  MetricSink sink;
  auto counters = sink.poolCounters();
  Host host = hostFor(backend.address());
  ConnectionPool pool(dispatcher(), host, ConnectionPool::Settings{}, counters);

  PoolRequest cancelled("/cancelled");
  Issued issued = issue(pool, cancelled);
  REQUIRE(issued.queued);
  pool.cancel(issued.handle);
  runFor(50ms);
  CHECK_FALSE(cancelled.ready);
  CHECK_FALSE(cancelled.failure.has_value());
  CHECK(backend.requests() == 0);
}

TEST_CASE_METHOD(StrictLoopFixture, "a refused connect fails queued requests with connect_failed naming the address",
                 "[upstream][pool]") {
  RawSocket closed_port;  // bound, not listening: the kernel refuses connects
  MetricSink sink;
  auto counters = sink.poolCounters();
  Host host = hostFor(closed_port.address);
  ConnectionPool pool(dispatcher(), host, ConnectionPool::Settings{}, counters);

  PoolRequest a, b;
  CHECK(issue(pool, a).queued);
  CHECK(issue(pool, b).queued);
  REQUIRE(runUntil([&] { return a.done() && b.done(); }));
  REQUIRE(a.failure.has_value());
  CHECK(*a.failure == Error::kConnectFailed);
  CHECK_THAT(a.failure_detail, Catch::Contains(closed_port.address.toString()));
  CHECK_THAT(a.failure_detail, Catch::Contains("refused"));
  REQUIRE(b.failure.has_value());
  CHECK(*b.failure == Error::kConnectFailed);
  CHECK(counters.connect_failures.value() >= 1);
  CHECK(counters.connections_active.value() == 0);
  runFor(10ms);
  CHECK(pool.idle());
}

TEST_CASE_METHOD(StrictLoopFixture, "a connect that does not complete in time fails with connect_timeout",
                 "[upstream][pool]") {
  RawSocket full;
  full.listenAndFill();
  // Filling the queue blocked for a while: refresh the clock the pool's
  // connect timer is armed from.
  refreshClock();
  MetricSink sink;
  auto counters = sink.poolCounters();
  Host host = hostFor(full.address);
  ConnectionPool::Settings settings;
  settings.connect_timeout = 100ms;
  ConnectionPool pool(dispatcher(), host, settings, counters);

  PoolRequest request;
  const auto start = std::chrono::steady_clock::now();
  CHECK(issue(pool, request).queued);
  REQUIRE(runUntil([&] { return request.done(); }, 5s));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(request.failure.has_value());
  CHECK(*request.failure == Error::kConnectTimeout);
  CHECK_THAT(request.failure_detail, Catch::Contains(full.address.toString()));
  CHECK(counters.connect_timeouts.value() == 1);
  CHECK(elapsed >= 90ms);
  CHECK(elapsed < 900ms);  // the timer, not the kernel's SYN retry, ended it
  runFor(10ms);
  CHECK(pool.idle());
  CHECK(counters.connections_active.value() == 0);
}

TEST_CASE_METHOD(StrictLoopFixture, "an idle pooled connection is closed after the idle timeout", "[upstream][pool]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  MetricSink sink;
  auto counters = sink.poolCounters();
  Host host = hostFor(backend.address());
  ConnectionPool::Settings settings;
  settings.idle_timeout = 60ms;
  ConnectionPool pool(dispatcher(), host, settings, counters);

  PoolRequest request;
  issue(pool, request);
  REQUIRE(runUntil([&] { return request.done(); }));
  REQUIRE(request.complete);
  CHECK(backend.openSessions() == 1);
  CHECK_FALSE(pool.idle());

  REQUIRE(runUntil([&] { return backend.openSessions() == 0; }, 2s));
  runFor(5ms);
  CHECK(pool.idle());
  CHECK(counters.connections_active.value() == 0);
  CHECK(counters.connections_total.value() == 1);
}

TEST_CASE_METHOD(StrictLoopFixture, "a busy pooled connection is not closed by the idle timeout", "[upstream][pool]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  backend.mode = LoopbackBackend::Mode::kHold;
  MetricSink sink;
  auto counters = sink.poolCounters();
  Host host = hostFor(backend.address());
  ConnectionPool::Settings settings;
  settings.idle_timeout = 30ms;
  ConnectionPool pool(dispatcher(), host, settings, counters);

  PoolRequest request;
  issue(pool, request);
  REQUIRE(runUntil([&] { return backend.held() == 1; }));
  runFor(100ms);
  CHECK(backend.openSessions() == 1);
  backend.respondAll();
  REQUIRE(runUntil([&] { return request.done(); }));
  CHECK(request.complete);
}

TEST_CASE_METHOD(StrictLoopFixture, "an HTTP/2 pool multiplexes concurrent streams on one connection", "[upstream][pool]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp2);
  backend.mode = LoopbackBackend::Mode::kHold;
  MetricSink sink;
  auto counters = sink.poolCounters();
  Host host = hostFor(backend.address());
  ConnectionPool::Settings settings;
  settings.protocol = http::Protocol::kHttp2;
  ConnectionPool pool(dispatcher(), host, settings, counters);

  std::vector<std::unique_ptr<PoolRequest>> requests;
  for (int i = 0; i < 4; ++i) {
    requests.push_back(std::make_unique<PoolRequest>("/r" + std::to_string(i)));
    issue(pool, *requests.back());
  }
  // All four are open at the backend at the same time, on one connection.
  REQUIRE(runUntil([&] { return backend.held() == 4; }));
  CHECK(backend.accepted() == 1);
  CHECK(backend.session(0).activeStreams() == 4);
  CHECK(counters.connections_total.value() == 1);

  backend.respondAll();
  REQUIRE(runUntil([&] {
    for (auto& r : requests) {
      if (!r->done()) return false;
    }
    return true;
  }));
  for (auto& r : requests) {
    CHECK(r->complete);
    CHECK(r->body == "ok");
    CHECK(r->session() == "0");
  }

  // A later request reuses the same HTTP/2 connection without waiting.
  backend.mode = LoopbackBackend::Mode::kRespond;
  PoolRequest later("/later");
  CHECK_FALSE(issue(pool, later).queued);
  REQUIRE(runUntil([&] { return later.done(); }));
  CHECK(later.complete);
  CHECK(backend.accepted() == 1);
}

// The pool sizes HTTP/2 connections by the cluster's max concurrent streams
// and opens connections on that assumption, so a connection must refuse more
// streams than that cap even when the peer's SETTINGS would allow them.
TEST_CASE_METHOD(StrictLoopFixture, "an HTTP/2 pool puts no more than the cluster's max concurrent streams on a connection",
                 "[upstream][pool]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp2);
  backend.mode = LoopbackBackend::Mode::kHold;
  MetricSink sink;
  auto counters = sink.poolCounters();
  Host host = hostFor(backend.address());
  ConnectionPool::Settings settings;
  settings.protocol = http::Protocol::kHttp2;
  settings.codec_limits.max_concurrent_streams = 2;
  ConnectionPool pool(dispatcher(), host, settings, counters);

  PoolRequest a("/a"), b("/b"), c("/c");
  issue(pool, a);
  issue(pool, b);
  issue(pool, c);
  REQUIRE(runUntil([&] { return backend.held() == 3; }));
  REQUIRE(backend.accepted() == 2);
  // Neither connection carries more streams than the cluster allows.
  CHECK(backend.session(0).activeStreams() <= 2);
  CHECK(backend.session(1).activeStreams() <= 2);
  backend.respondAll();
  REQUIRE(runUntil([&] { return a.done() && b.done() && c.done(); }));
  CHECK((a.complete && b.complete && c.complete));
}

TEST_CASE_METHOD(StrictLoopFixture, "an upstream that closes mid-request resets the stream and the pool recovers",
                 "[upstream][pool]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  backend.mode = LoopbackBackend::Mode::kCloseOnRequest;
  MetricSink sink;
  auto counters = sink.poolCounters();
  Host host = hostFor(backend.address());
  ConnectionPool pool(dispatcher(), host, ConnectionPool::Settings{}, counters);

  PoolRequest doomed;
  issue(pool, doomed);
  REQUIRE(runUntil([&] { return doomed.done(); }));
  REQUIRE(doomed.reset.has_value());
  CHECK(*doomed.reset == http::StreamResetReason::kConnectionTermination);

  backend.mode = LoopbackBackend::Mode::kRespond;
  PoolRequest next;
  issue(pool, next);
  REQUIRE(runUntil([&] { return next.done(); }));
  CHECK(next.complete);
  CHECK(backend.accepted() == 2);
}

TEST_CASE_METHOD(StrictLoopFixture, "draining a pool closes idle connections and refuses new streams", "[upstream][pool]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  MetricSink sink;
  auto counters = sink.poolCounters();
  Host host = hostFor(backend.address());
  ConnectionPool pool(dispatcher(), host, ConnectionPool::Settings{}, counters);

  PoolRequest first;
  issue(pool, first);
  REQUIRE(runUntil([&] { return first.done(); }));
  pool.drain();
  REQUIRE(runUntil([&] { return backend.openSessions() == 0; }, 2s));

  PoolRequest refused;
  CHECK_FALSE(issue(pool, refused).queued);
  REQUIRE(refused.failure.has_value());
  CHECK(*refused.failure == Error::kDraining);
  runFor(5ms);
  CHECK(pool.idle());
}

TEST_CASE_METHOD(StrictLoopFixture, "draining a pool lets a connection on its way serve the requests queued for it",
                 "[upstream][pool]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  MetricSink sink;
  auto counters = sink.poolCounters();
  Host host = hostFor(backend.address());
  ConnectionPool pool(dispatcher(), host, ConnectionPool::Settings{}, counters);

  // Queued while its connection is still being made, then the pool drains
  // (the host left the cluster in a config update).
  PoolRequest queued("/queued");
  REQUIRE(issue(pool, queued).queued);
  pool.drain();
  REQUIRE(runUntil([&] { return queued.done(); }));
  CHECK(queued.complete);
  CHECK_FALSE(queued.failure.has_value());
  CHECK(queued.body == "ok");
  CHECK(counters.connect_failures.value() == 0);
  // Done, the connection closes: nothing waits for the idle timeout.
  REQUIRE(runUntil([&] { return pool.idle(); }, 2s));
  CHECK(backend.requests() == 1);
}
