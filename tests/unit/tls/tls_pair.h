// TlsPair: a TLS client and server over a real loopback TCP connection on one
// Dispatcher, with recording callbacks and observers, for the proxy/tls loop
// tests. Members are declared so the connections die before what they point at.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "proxy/net/listener.h"
#include "proxy/tls/tls_connection.h"
#include "tests/support/pki/test_pki.h"
#include "tests/unit/net/loop_fixture.h"
#include "tests/unit/net/test_callbacks.h"

namespace remora::tls::testing {

namespace pki = remora::testing::pki;
using net::testing::RecordingCallbacks;

inline constexpr const char* kServerId = "spiffe://cluster.local/ns/default/sa/server";
inline constexpr const char* kClientId = "spiffe://cluster.local/ns/default/sa/client";

class RecordingObserver : public HandshakeObserver {
 public:
  void onHandshakeDone(std::string_view peer_identity, bool resumed) override {
    ++done;
    identity = std::string(peer_identity);
    this->resumed = resumed;
  }
  void onHandshakeFailed(HandshakeFailure reason, std::string_view detail) override {
    ++failed;
    this->reason = reason;
    this->detail = std::string(detail);
  }
  int done = 0;
  int failed = 0;
  std::string identity;
  bool resumed = false;
  HandshakeFailure reason = HandshakeFailure::kNone;
  std::string detail;
};

// The shared test PKI: made once per test binary (key generation is cheap, but not free).
struct TestPki {
  pki::Authority root = pki::makeRoot("remora test root");
  pki::Authority other_root = pki::makeRoot("someone else's root");
  pki::Leaf server = pki::issue(root, kServerId);
  pki::Leaf client = pki::issue(root, kClientId);
  static const TestPki& get() {
    static const TestPki kPki;
    return kPki;
  }
};

inline std::shared_ptr<const TlsContext> makeContext(bool server, const pki::Leaf* leaf, const std::string& roots,
                                                     bool require = false, std::vector<std::string> alpn = {},
                                                     xds::resources::TlsVersion min = xds::resources::TlsVersion::kTls12,
                                                     xds::resources::TlsVersion max = xds::resources::TlsVersion::kTls13) {
  ContextMaterial material;
  if (leaf != nullptr) {
    material.certificate_chain = leaf->certificate_chain_pem;
    material.private_key = leaf->private_key_pem;
  }
  material.trusted_roots = roots;
  ContextOptions options;
  options.server = server;
  options.require_peer_certificate = require;
  options.alpn = std::move(alpn);
  options.min_version = min;
  options.max_version = max;
  auto context = TlsContext::create(material, options);
  REQUIRE(context);
  return *context;
}

class TlsPair : public net::testing::LoopFixture {
 public:
  void listen() {
    auto bound = net::Listener::bind(dispatcher(), *net::Address::parse("127.0.0.1:0"), acceptor);
    REQUIRE(bound);
    listener = std::move(*bound);
  }
  // Starts a client, accepts its TCP connection and wraps it in a server.
  void start(std::shared_ptr<const TlsContext> client_ctx, std::shared_ptr<const TlsContext> server_ctx,
             TlsConnection::ClientOptions client_options = {}, TlsConnection::ServerOptions server_options = {}) {
    if (!listener) listen();
    client = TlsConnection::client(std::move(client_ctx), net::connectTcp(dispatcher(), listener->localAddress()),
                                   std::move(client_options), &client_obs);
    client->setCallbacks(client_cb);
    REQUIRE(runUntil([&] { return acceptor.accepted.size() == 1; }));
    net::Buffer initial;
    server = TlsConnection::server(std::move(server_ctx), std::move(acceptor.accepted[0]), initial,
                                   std::move(server_options), &server_obs);
    acceptor.accepted.clear();
    server->setCallbacks(server_cb);
  }
  bool handshake() {
    return runUntil([&] { return (client_cb.connected() && server_cb.connected()) || client_cb.closed() || server_cb.closed(); }) &&
           client_cb.connected() && server_cb.connected();
  }
  // Runs until both sides closed (or the deadline).
  bool bothClosed() { return runUntil([&] { return client_cb.closed() && server_cb.closed(); }); }

  net::testing::AcceptCollector acceptor;
  RecordingCallbacks client_cb;
  RecordingCallbacks server_cb;
  RecordingObserver client_obs;
  RecordingObserver server_obs;
  net::ListenerPtr listener;
  std::unique_ptr<TlsConnection> client;
  std::unique_ptr<TlsConnection> server;
};

}  // namespace remora::tls::testing
