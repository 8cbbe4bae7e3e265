#include "proxy/net/tcp_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "proxy/net/listener.h"
#include "tests/unit/net/loop_fixture.h"
#include "tests/unit/net/test_callbacks.h"

using namespace std::chrono_literals;
using namespace remora::net;
using remora::net::testing::AcceptCollector;
using remora::net::testing::LoopFixture;
using remora::net::testing::RecordingCallbacks;
using remora::net::testing::writeString;

namespace {

std::string pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 1000) % 26);
  return s;
}

// A connected client/server pair over loopback. Callbacks are declared before
// the connections that point at them, so the connections die first.
class PairFixture : public LoopFixture {
 public:
  void listen() {
    auto bound = Listener::bind(dispatcher(), *Address::parse("127.0.0.1:0"), acceptor);
    REQUIRE(bound);
    listener = std::move(*bound);
  }
  void startClient() {
    client = connectTcp(dispatcher(), listener->localAddress());
    client->setCallbacks(client_cb);
  }
  void acceptServer() {
    REQUIRE(runUntil([&] { return client_cb.connected() && acceptor.accepted.size() == 1; }));
    server = std::move(acceptor.accepted[0]);
    acceptor.accepted.clear();
    server->setCallbacks(server_cb);
  }
  void connectPair() {
    listen();
    startClient();
    acceptServer();
  }

  AcceptCollector acceptor;
  RecordingCallbacks client_cb;
  RecordingCallbacks server_cb;
  ListenerPtr listener;
  ConnectionPtr client;
  ConnectionPtr server;
};

}  // namespace

TEST_CASE_METHOD(PairFixture, "a client and a server echo bytes over loopback", "[net][tcp]") {
  listen();
  startClient();
  CHECK(client->state() == Connection::State::kConnecting);
  // Written before the connect completes: sent once it does.
  writeString(*client, "hello");
  acceptServer();
  server_cb.on_data = [&](Buffer& data, bool) { server->write(data, false); };

  REQUIRE(runUntil([&] { return client_cb.received == "hello"; }));
  std::string big = pattern(300000);
  writeString(*client, big);
  REQUIRE(runUntil([&] { return client_cb.received.size() == 5 + big.size(); }));
  CHECK(client_cb.received == "hello" + big);

  CHECK(client->state() == Connection::State::kOpen);
  CHECK(server->state() == Connection::State::kOpen);
  CHECK(client->remoteAddress() == listener->localAddress());
  CHECK(server->localAddress() == listener->localAddress());
  CHECK(server->remoteAddress() == client->localAddress());
  CHECK(client->id() != server->id());
  CHECK(client->nextProtocol().empty());
  CHECK(client->bufferedBytes() == 0);

  client->close(CloseType::kFlushWrite);
  CHECK(client->state() == Connection::State::kClosed);
  REQUIRE(runUntil([&] { return server_cb.end_streams == 1; }));
  CHECK(client_cb.events == std::vector<ConnectionEvent>{ConnectionEvent::kConnected, ConnectionEvent::kLocalClose});
}

TEST_CASE_METHOD(PairFixture, "after the client half-closes the server sees end of stream and can still reply",
                 "[net][tcp]") {
  connectPair();
  std::string server_got;
  server_cb.on_data = [&](Buffer& data, bool end_stream) {
    server_got += data.toString();
    data.clear();
    if (end_stream) writeString(*server, "pong", true);
  };
  writeString(*client, "ping", true);
  REQUIRE(runUntil([&] { return client_cb.end_streams == 1 && client_cb.closed() && server_cb.closed(); }));
  CHECK(server_got == "ping");
  CHECK(server_cb.end_streams == 1);
  CHECK(client_cb.received == "pong");
  // Both directions finished: each side reports its close exactly once.
  CHECK(client_cb.closes() == 1);
  CHECK(server_cb.closes() == 1);
  CHECK(client->failureReason().empty());
}

TEST_CASE_METHOD(PairFixture, "watermark callbacks fire once when a peer stops reading and once when it drains",
                 "[net][tcp]") {
  connectPair();
  client->setBufferLimits(64 * 1024);
  server->readDisable(true);
  server->readDisable(true);
  server->readDisable(false);
  CHECK_FALSE(server->readEnabled());  // disables nest

  const std::string chunk(64 * 1024, 'w');
  size_t written = 0;
  while (client_cb.above == 0 && written < (size_t{512} << 20)) {
    writeString(*client, chunk);
    written += chunk.size();
    dispatcher().runOnce();
  }
  REQUIRE(client_cb.above == 1);
  CHECK(client->bufferedBytes() > 64 * 1024);
  writeString(*client, chunk);
  written += chunk.size();
  CHECK(client_cb.above == 1);
  CHECK(client_cb.below == 0);

  size_t got = 0;
  server_cb.on_data = [&](Buffer& data, bool) {
    got += data.length();
    data.clear();
  };
  server->readDisable(false);
  CHECK(server->readEnabled());
  REQUIRE(runUntil([&] { return client_cb.below == 1; }));
  CHECK(client->bufferedBytes() <= 32 * 1024);
  REQUIRE(runUntil([&] { return got == written; }));
  CHECK(client_cb.above == 1);
  CHECK(client_cb.below == 1);
}

TEST_CASE_METHOD(PairFixture, "lowering the limit to zero releases a producer waiting on the low watermark",
                 "[net][tcp]") {
  connectPair();
  client->setBufferLimits(16 * 1024);
  server->readDisable(true);
  const std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < 8192 && client_cb.above == 0; ++i) writeString(*client, chunk);
  REQUIRE(client_cb.above == 1);
  client->setBufferLimits(0);
  CHECK(client_cb.below == 1);
}

TEST_CASE_METHOD(LoopFixture, "connecting to a port nobody listens on reports kRemoteClose with a reason",
                 "[net][tcp]") {
  // A bound but not listening socket: the port cannot be taken by anyone else
  // during the test, and the kernel answers SYNs to it with a reset.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0);
  socklen_t len = sizeof(sin);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) == 0);

  RecordingCallbacks cb;
  ConnectionPtr client = connectTcp(dispatcher(), Address::fromSockaddr(reinterpret_cast<sockaddr*>(&sin)));
  client->setCallbacks(cb);
  REQUIRE(runUntil([&] { return cb.closed(); }));
  CHECK(cb.events == std::vector<ConnectionEvent>{ConnectionEvent::kRemoteClose});
  CHECK(client->failureReason() == "connection refused");
  CHECK(client->state() == Connection::State::kClosed);
  ::close(fd);
}

TEST_CASE_METHOD(LoopFixture, "a connect that fails at once is still reported after setCallbacks", "[net][tcp]") {
  RecordingCallbacks cb;
  ConnectionPtr client = connectTcp(dispatcher(), Address());  // no address family: EINVAL inside libuv
  client->setCallbacks(cb);
  CHECK(cb.events.empty());
  REQUIRE(runUntil([&] { return cb.closed(); }));
  CHECK(cb.events == std::vector<ConnectionEvent>{ConnectionEvent::kRemoteClose});
  CHECK_FALSE(client->failureReason().empty());
}

namespace {

struct SessionRecord {
  int close_events = 0;
  bool alive_after_defer = false;
  bool destroyed = false;
};

// Owns its connection and releases itself through deferred deletion from
// inside the connection's own close callback, as real sessions do.
class SelfDeletingSession : public DeferredDeletable, public ConnectionCallbacks {
 public:
  SelfDeletingSession(ConnectionPtr conn, std::unique_ptr<SelfDeletingSession>* slot, SessionRecord* record)
      : conn_(std::move(conn)), slot_(slot), record_(record) {
    conn_->setCallbacks(*this);
  }
  ~SelfDeletingSession() override { record_->destroyed = true; }

  void onData(Buffer& data, bool end_stream) override {
    data.clear();
    if (end_stream) conn_->close(CloseType::kFlushWrite);
  }
  void onEvent(ConnectionEvent) override {
    ++record_->close_events;
    conn_->dispatcher().deferredDelete(std::move(*slot_));
    // Still alive and usable: deletion waits for the end of the iteration.
    record_->alive_after_defer = !record_->destroyed && conn_->state() == Connection::State::kClosed;
  }

 private:
  ConnectionPtr conn_;
  std::unique_ptr<SelfDeletingSession>* slot_;
  SessionRecord* record_;
};

}  // namespace

TEST_CASE_METHOD(PairFixture, "a connection can be deferred-deleted from inside its own callback", "[net][tcp]") {
  connectPair();
  SessionRecord record;
  std::unique_ptr<SelfDeletingSession> session;
  session = std::make_unique<SelfDeletingSession>(std::move(server), &session, &record);
  writeString(*client, "bye", true);
  REQUIRE(runUntil([&] { return record.destroyed; }));
  CHECK(session == nullptr);
  CHECK(record.close_events == 1);
  CHECK(record.alive_after_defer);
  REQUIRE(runUntil([&] { return client_cb.closed(); }));
  CHECK(client_cb.end_streams == 1);
}

TEST_CASE_METHOD(PairFixture, "close with flush sends every buffered byte before the end of stream",
                 "[net][tcp]") {
  connectPair();
  std::string big = pattern(8 << 20);
  writeString(*server, big);
  server->close(CloseType::kFlushWrite);
  writeString(*server, "dropped: written after close");
  REQUIRE(runUntil([&] { return client_cb.end_streams == 1; }));
  CHECK(client_cb.received.size() == big.size());
  CHECK(client_cb.received == big);
  REQUIRE(runUntil([&] { return server_cb.closed(); }));
  CHECK(server_cb.events == std::vector<ConnectionEvent>{ConnectionEvent::kLocalClose});
  CHECK(server->state() == Connection::State::kClosed);
}

TEST_CASE_METHOD(PairFixture, "close without flush drops buffered output and resets the peer", "[net][tcp]") {
  connectPair();
  client->readDisable(true);
  std::string big = pattern(16 << 20);
  writeString(*server, big);
  REQUIRE(server->bufferedBytes() > 0);
  server->close(CloseType::kNoFlush);
  CHECK(server->bufferedBytes() == 0);
  CHECK(server_cb.events == std::vector<ConnectionEvent>{ConnectionEvent::kLocalClose});
  client->readDisable(false);
  // Linux reports a reset that arrives behind unread data as a plain EOF once
  // the data is read, so the client first sees the stream end early...
  REQUIRE(runUntil([&] { return client_cb.end_streams == 1 || client_cb.closed(); }));
  CHECK(client_cb.received.size() < big.size());
  // ...but unlike after a FIN, its socket is dead: the next write fails.
  writeString(*client, "anyone there?");
  REQUIRE(runUntil([&] { return client_cb.closed(); }));
  CHECK(client_cb.events.back() == ConnectionEvent::kRemoteClose);
  std::string reason(client->failureReason());
  CHECK((reason == "broken pipe" || reason == "connection reset by peer"));
}

TEST_CASE_METHOD(PairFixture, "destroying an open connection closes it without callbacks", "[net][tcp]") {
  connectPair();
  client.reset();
  REQUIRE(runUntil([&] { return server_cb.end_streams == 1; }));
  CHECK(client_cb.events == std::vector<ConnectionEvent>{ConnectionEvent::kConnected});
}

TEST_CASE_METHOD(PairFixture, "bytes left unread are offered again once reading is re-enabled", "[net][tcp]") {
  connectPair();
  int calls = 0;
  std::string second;
  server_cb.on_data = [&](Buffer& data, bool) {
    ++calls;
    if (calls == 1) {
      server->readDisable(true);  // leave the bytes in the buffer, like a pipelined request
      return;
    }
    second = data.toString();
    data.clear();
  };
  writeString(*client, "GET /a\nGET /b\n");
  REQUIRE(runUntil([&] { return calls == 1; }));
  runFor(20ms);
  CHECK(calls == 1);
  server->readDisable(false);
  REQUIRE(runUntil([&] { return calls == 2; }));
  CHECK(second == "GET /a\nGET /b\n");
}
