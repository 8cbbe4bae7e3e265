#include "proxy/tls/tls_connection.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/tls/tls_pair.h"

using namespace std::chrono_literals;
using namespace remora;
using namespace remora::tls;
using namespace remora::tls::testing;
using net::Buffer;
using net::ConnectionEvent;
using net::testing::writeString;
using xds::resources::TlsVersion;

namespace {

std::string pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 1000) % 26);
  return s;
}

const TestPki& P() { return TestPki::get(); }

}  // namespace

TEST_CASE_METHOD(TlsPair, "mutual TLS carries data both ways with ALPN and verified identities", "[tls]") {
  auto version = GENERATE(TlsVersion::kTls12, TlsVersion::kTls13);
  auto server_ctx = makeContext(true, &P().server, P().root.certificate_pem, true, {"h2", "http/1.1"}, version, version);
  auto client_ctx = makeContext(false, &P().client, P().root.certificate_pem, false, {"http/1.1", "h2"}, version, version);
  TlsConnection::ClientOptions copts;
  copts.sni = "server.default";
  copts.validation.exact = {kServerId};
  TlsConnection::ServerOptions sopts;
  sopts.validation.prefix = {"spiffe://cluster.local/"};
  start(client_ctx, server_ctx, copts, sopts);
  CHECK(client->state() == net::Connection::State::kConnecting);
  writeString(*client, "written while connecting");
  REQUIRE(handshake());

  CHECK(client->peerIdentity() == kServerId);
  CHECK(server->peerIdentity() == kClientId);
  CHECK(client_obs.done == 1);
  CHECK(client_obs.identity == kServerId);
  CHECK(server_obs.identity == kClientId);
  CHECK(client_obs.failed + server_obs.failed == 0);
  // The server's preference wins.
  CHECK(client->nextProtocol() == "h2");
  CHECK(server->nextProtocol() == "h2");
  CHECK(client->secure());
  CHECK_FALSE(client->sessionReused());
  CHECK(client->remoteAddress().toString() == listener->localAddress().toString());

  REQUIRE(runUntil([&] { return server_cb.received == "written while connecting"; }));
  std::string big = pattern(300000);
  server_cb.on_data = [&](Buffer& data, bool) { server->write(data, false); };
  writeString(*client, big);
  REQUIRE(runUntil([&] { return client_cb.received.size() == big.size(); }));
  CHECK(client_cb.received == big);
  CHECK(client->bufferedBytes() == 0);
}

TEST_CASE_METHOD(TlsPair, "a client without roots or a certificate talks to a server that does not ask for one",
                 "[tls]") {
  start(makeContext(false, nullptr, ""), makeContext(true, &P().server, ""));
  REQUIRE(handshake());
  CHECK(client->peerIdentity().empty());  // nothing was verified, so no identity is claimed
  CHECK(server->peerIdentity().empty());
  CHECK(client->nextProtocol().empty());
  writeString(*client, "ping");
  REQUIRE(runUntil([&] { return server_cb.received == "ping"; }));
}

TEST_CASE_METHOD(TlsPair, "without a common ALPN protocol the handshake proceeds without one", "[tls]") {
  start(makeContext(false, &P().client, P().root.certificate_pem, false, {"h2"}),
        makeContext(true, &P().server, P().root.certificate_pem, true, {"http/1.1"}));
  REQUIRE(handshake());
  CHECK(client->nextProtocol().empty());
  CHECK(server->nextProtocol().empty());
}

TEST_CASE_METHOD(TlsPair, "a server that verifies but does not require accepts a client without a certificate",
                 "[tls]") {
  start(makeContext(false, nullptr, P().root.certificate_pem),
        makeContext(true, &P().server, P().root.certificate_pem, /*require=*/false));
  REQUIRE(handshake());
  CHECK(server->peerIdentity().empty());
  CHECK(client->peerIdentity() == kServerId);
}

TEST_CASE_METHOD(TlsPair, "a certificate chain through an intermediate is verified against the root", "[tls]") {
  pki::Authority intermediate = pki::makeIntermediate(P().root);
  pki::Leaf server_leaf = pki::issue(intermediate, kServerId);
  start(makeContext(false, &P().client, P().root.certificate_pem),
        makeContext(true, &server_leaf, P().root.certificate_pem, true));
  REQUIRE(handshake());
  CHECK(client->peerIdentity() == kServerId);
}

TEST_CASE_METHOD(TlsPair, "several trusted roots are accepted at once", "[tls]") {
  pki::Leaf other_client = pki::issue(P().other_root, kClientId);
  std::string bundle = P().root.certificate_pem + P().other_root.certificate_pem;
  start(makeContext(false, &other_client, P().root.certificate_pem), makeContext(true, &P().server, bundle, true));
  REQUIRE(handshake());
  CHECK(server->peerIdentity() == kClientId);
}

TEST_CASE_METHOD(TlsPair, "a second client handshake with a session cache is resumed", "[tls]") {
  auto version = GENERATE(TlsVersion::kTls12, TlsVersion::kTls13);
  auto server_ctx = makeContext(true, &P().server, P().root.certificate_pem, true, {}, version, version);
  auto client_ctx = makeContext(false, &P().client, P().root.certificate_pem, false, {}, version, version);
  ClientSessionCache cache;
  TlsConnection::ClientOptions copts;
  copts.sessions = &cache;
  copts.session_key = "127.0.0.1:x|cluster";
  copts.validation.exact = {kServerId};
  start(client_ctx, server_ctx, copts);
  REQUIRE(handshake());
  CHECK_FALSE(client->sessionReused());
  // A TLS 1.3 ticket arrives after the handshake, with the first server bytes.
  writeString(*server, "hi");
  REQUIRE(runUntil([&] { return client_cb.received == "hi" && cache.size() == 1; }));
  client->close(net::CloseType::kNoFlush);
  REQUIRE(runUntil([&] { return server_cb.closed(); }));
  client.reset();
  server.reset();

  client_cb = RecordingCallbacks();
  server_cb = RecordingCallbacks();
  client_obs = RecordingObserver();
  server_obs = RecordingObserver();
  start(client_ctx, server_ctx, copts);
  REQUIRE(handshake());
  CHECK(client->sessionReused());
  CHECK(server->sessionReused());
  CHECK(client_obs.resumed);
  // The identities survive resumption (they come from the session).
  CHECK(client->peerIdentity() == kServerId);
  CHECK(server->peerIdentity() == kClientId);
  writeString(*client, "again");
  REQUIRE(runUntil([&] { return server_cb.received == "again"; }));

  SECTION("a session from another context is not offered") {
    auto rotated = makeContext(false, &P().client, P().root.certificate_pem, false, {}, version, version);
    client_cb = RecordingCallbacks();
    server_cb = RecordingCallbacks();
    client.reset();
    server.reset();
    start(rotated, server_ctx, copts);
    REQUIRE(handshake());
    CHECK_FALSE(client->sessionReused());
  }
}

TEST_CASE_METHOD(TlsPair, "a swapped context slot serves new connections while the old connection lives on", "[tls]") {
  pki::Leaf second = pki::issue(P().root, "spiffe://cluster.local/ns/default/sa/server-rotated");
  ContextSlot slot(makeContext(true, &P().server, P().root.certificate_pem, true));
  auto client_ctx = makeContext(false, &P().client, P().root.certificate_pem);
  start(client_ctx, slot.current());
  REQUIRE(handshake());
  CHECK(client->peerIdentity() == kServerId);
  std::unique_ptr<TlsConnection> old_client = std::move(client);
  std::unique_ptr<TlsConnection> old_server = std::move(server);
  RecordingCallbacks old_client_cb = std::move(client_cb);
  RecordingCallbacks old_server_cb = std::move(server_cb);
  old_client->setCallbacks(old_client_cb);
  old_server->setCallbacks(old_server_cb);

  slot.set(makeContext(true, &second, P().root.certificate_pem, true));
  CHECK(slot.current()->identity() == "spiffe://cluster.local/ns/default/sa/server-rotated");
  client_cb = RecordingCallbacks();
  server_cb = RecordingCallbacks();
  start(client_ctx, slot.current());
  REQUIRE(handshake());
  CHECK(client->peerIdentity() == "spiffe://cluster.local/ns/default/sa/server-rotated");

  writeString(*old_client, "still here");
  REQUIRE(runUntil([&] { return old_server_cb.received == "still here"; }));
  CHECK(old_server->context().identity() == kServerId);
  old_client.reset();
  old_server.reset();
}

TEST_CASE_METHOD(TlsPair, "end_stream half-closes with close_notify and the other direction keeps working", "[tls]") {
  start(makeContext(false, &P().client, P().root.certificate_pem),
        makeContext(true, &P().server, P().root.certificate_pem, true));
  REQUIRE(handshake());
  writeString(*client, "request", /*end_stream=*/true);
  REQUIRE(runUntil([&] { return server_cb.end_streams == 1; }));
  CHECK(server_cb.received == "request");
  CHECK(server->state() == net::Connection::State::kOpen);
  writeString(*server, "response", /*end_stream=*/true);
  REQUIRE(bothClosed());
  CHECK(client_cb.received == "response");
  CHECK(client_cb.end_streams == 1);
  // Both directions finished: each side closes exactly once.
  CHECK(client_cb.closes() == 1);
  CHECK(server_cb.closes() == 1);
}

TEST_CASE_METHOD(TlsPair, "close with flush delivers queued bytes before the connection ends", "[tls]") {
  start(makeContext(false, &P().client, P().root.certificate_pem),
        makeContext(true, &P().server, P().root.certificate_pem, true));
  REQUIRE(handshake());
  std::string big = pattern(200000);
  writeString(*client, big);
  client->close(net::CloseType::kFlushWrite);
  // Nothing more is accepted after close.
  writeString(*client, "dropped");
  bool ok = runUntil([&] { return client_cb.closed() && server_cb.end_streams == 1; });
  INFO("client closes " << client_cb.closes() << " server eos " << server_cb.end_streams << " got "
                        << server_cb.received.size() << " server closes " << server_cb.closes() << " reason "
                        << client->failureReason() << " server reason " << server->failureReason());
  REQUIRE(ok);
  CHECK(client_cb.count(ConnectionEvent::kLocalClose) == 1);
  CHECK(server_cb.received == big);
}

TEST_CASE_METHOD(TlsPair, "close without flush ends the connection at once", "[tls]") {
  start(makeContext(false, &P().client, P().root.certificate_pem),
        makeContext(true, &P().server, P().root.certificate_pem, true));
  REQUIRE(handshake());
  writeString(*client, pattern(100000));
  client->close(net::CloseType::kNoFlush);
  CHECK(client->state() == net::Connection::State::kClosed);
  CHECK(client_cb.count(ConnectionEvent::kLocalClose) == 1);
  REQUIRE(runUntil([&] { return server_cb.closed() || server_cb.end_streams > 0; }));
  CHECK(server_cb.received.size() < 100000);
}

TEST_CASE_METHOD(TlsPair, "readDisable holds buffered plaintext until reading is enabled again", "[tls]") {
  start(makeContext(false, &P().client, P().root.certificate_pem),
        makeContext(true, &P().server, P().root.certificate_pem, true));
  REQUIRE(handshake());
  int calls = 0;
  server_cb.on_data = [&](Buffer&, bool) { ++calls; };  // leaves the bytes where they are
  writeString(*client, "first");
  REQUIRE(runUntil([&] { return calls == 1; }));
  server->readDisable(true);
  server->readDisable(true);
  CHECK_FALSE(server->readEnabled());
  writeString(*client, "second");
  runFor(100ms);
  CHECK(calls == 1);
  server->readDisable(false);
  runFor(50ms);
  CHECK(calls == 1);  // still one disable outstanding
  std::string seen;
  server_cb.on_data = [&](Buffer& data, bool) {
    ++calls;
    seen += data.toString();
    data.clear();
  };
  server->readDisable(false);
  REQUIRE(runUntil([&] { return seen == "firstsecond"; }));
}

TEST_CASE_METHOD(TlsPair, "write watermarks count plaintext and the transport's ciphertext", "[tls]") {
  start(makeContext(false, &P().client, P().root.certificate_pem),
        makeContext(true, &P().server, P().root.certificate_pem, true));
  REQUIRE(handshake());
  client->setBufferLimits(64 * 1024);
  std::string big = pattern(1024 * 1024);
  writeString(*client, big);
  CHECK(client_cb.above == 1);
  CHECK(client->bufferedBytes() >= big.size());
  REQUIRE(runUntil([&] { return server_cb.received.size() == big.size(); }));
  REQUIRE(runUntil([&] { return client_cb.below == 1; }));
  CHECK(client->bufferedBytes() == 0);
}

TEST_CASE_METHOD(TlsPair, "a server presents plaintext that arrived before its owner set the session's callbacks",
                 "[tls]") {
  start(makeContext(false, &P().client, P().root.certificate_pem),
        makeContext(true, &P().server, P().root.certificate_pem, true));
  // The listener's callbacks look only at kConnected and take no data.
  server_cb.on_data = [](Buffer&, bool) {};
  writeString(*client, "early bytes");
  REQUIRE(handshake());
  runFor(50ms);
  RecordingCallbacks session;
  server->setCallbacks(session);
  CHECK(session.received.empty());  // never on the caller's stack
  REQUIRE(runUntil([&] { return session.received == "early bytes"; }));
  server.reset();
}

TEST_CASE_METHOD(TlsPair, "a server takes over bytes a sniffer already read", "[tls]") {
  listen();
  client = TlsConnection::client(makeContext(false, &P().client, P().root.certificate_pem),
                                 net::connectTcp(dispatcher(), listener->localAddress()), {}, &client_obs);
  client->setCallbacks(client_cb);
  writeString(*client, "after sniffing");
  REQUIRE(runUntil([&] { return acceptor.accepted.size() == 1; }));
  net::ConnectionPtr raw = std::move(acceptor.accepted[0]);
  RecordingCallbacks sniffer;
  Buffer initial;
  sniffer.on_data = [&](Buffer& data, bool) { initial.move(data); };
  raw->setCallbacks(sniffer);
  REQUIRE(runUntil([&] { return initial.length() >= 5; }));
  CHECK(initial.at(0) == 0x16);  // a TLS handshake record
  server = TlsConnection::server(makeContext(true, &P().server, P().root.certificate_pem, true), std::move(raw),
                                 initial, {}, &server_obs);
  server->setCallbacks(server_cb);
  CHECK(initial.empty());
  REQUIRE(handshake());
  REQUIRE(runUntil([&] { return server_cb.received == "after sniffing"; }));
}
