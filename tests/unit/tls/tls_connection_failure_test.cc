// Every way a handshake is refused, on both sides, and what the refusing side
// reports. Each case also proves no application byte crossed: the acceptance
// test for "a plain SSL_VERIFY_PEER accepts anything".
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <string>

#include "proxy/tls/tls_connection.h"
#include "tests/unit/tls/tls_pair.h"

using namespace std::chrono_literals;
using namespace remora;
using namespace remora::tls;
using namespace remora::tls::testing;
using net::Buffer;
using net::ConnectionEvent;
using net::testing::RecordingCallbacks;
using net::testing::writeString;

namespace {

const TestPki& P() { return TestPki::get(); }

struct BadPeer {
  const char* what;
  pki::LeafSpec spec;
  bool other_root = false;
  HandshakeFailure expected;
};

std::vector<BadPeer> badPeers(const char* good_id) {
  using std::chrono::hours;
  std::vector<BadPeer> cases;
  auto spec = [&](std::vector<std::string> uris) {
    pki::LeafSpec s;
    s.uri_sans = std::move(uris);
    return s;
  };
  cases.push_back({"untrusted CA", spec({good_id}), true, HandshakeFailure::kUntrustedIssuer});
  pki::LeafSpec expired = spec({good_id});
  expired.not_before = hours(-48);
  expired.not_after = hours(-24);
  cases.push_back({"expired", expired, false, HandshakeFailure::kExpired});
  pki::LeafSpec future = spec({good_id});
  future.not_before = hours(24);
  future.not_after = hours(48);
  cases.push_back({"not yet valid", future, false, HandshakeFailure::kNotYetValid});
  pki::LeafSpec ca = spec({good_id});
  ca.is_ca = true;
  cases.push_back({"CA:TRUE leaf", ca, false, HandshakeFailure::kPeerIsCa});
  cases.push_back({"two URI SANs", spec({good_id, "spiffe://cluster.local/ns/default/sa/other"}), false,
                   HandshakeFailure::kBadSpiffeId});
  pki::LeafSpec dns_only;
  dns_only.dns_sans = {"server.default.svc"};
  cases.push_back({"no URI SAN", dns_only, false, HandshakeFailure::kBadSpiffeId});
  cases.push_back({"a URI that is not SPIFFE", spec({"https://cluster.local/ns/default/sa/x"}), false,
                   HandshakeFailure::kBadSpiffeId});
  cases.push_back({"another trust domain", spec({"spiffe://evil.example/ns/default/sa/client"}), false,
                   HandshakeFailure::kIdentityNotAllowed});
  cases.push_back({"an identity that is not allowed", spec({"spiffe://cluster.local/ns/default/sa/intruder"}), false,
                   HandshakeFailure::kIdentityNotAllowed});
  return cases;
}

// The refusing side heard the reason once, never connected, received nothing;
// the other side received nothing either and ends closed.
void checkRefused(TlsPair& t, bool server_refuses, HandshakeFailure expected) {
  RecordingObserver& obs = server_refuses ? t.server_obs : t.client_obs;
  RecordingCallbacks& cb = server_refuses ? t.server_cb : t.client_cb;
  TlsConnection& conn = server_refuses ? *t.server : *t.client;
  REQUIRE(t.runUntil([&] { return t.client_cb.closed() && t.server_cb.closed(); }));
  INFO("detail: " << obs.detail);
  CHECK(obs.failed == 1);
  CHECK(obs.done == 0);
  CHECK(obs.reason == expected);
  CHECK(conn.handshakeFailure() == expected);
  CHECK_FALSE(cb.connected());
  CHECK(cb.count(ConnectionEvent::kRemoteClose) == 1);
  std::string prefix = "tls: " + std::string(handshakeFailureName(expected)) + ": ";
  CHECK(std::string(conn.failureReason()).rfind(prefix, 0) == 0);
  CHECK(conn.peerIdentity().empty());
  CHECK(t.server_cb.received.empty());
  CHECK(t.client_cb.received.empty());
  // The refused peer learns only that it was refused (an alert), never why.
  TlsConnection& other = server_refuses ? *t.client : *t.server;
  CHECK(std::string(other.failureReason()).find(obs.detail) == std::string::npos);
}

}  // namespace

TEST_CASE_METHOD(TlsPair, "a server refuses each kind of bad client certificate", "[tls][verify]") {
  auto cases = badPeers(kClientId);
  auto index = GENERATE(range(0, 9));
  const BadPeer& c = cases.at(static_cast<size_t>(index));
  SECTION(c.what) {
    pki::Leaf leaf = pki::issue(c.other_root ? P().other_root : P().root, c.spec);
    TlsConnection::ServerOptions sopts;
    sopts.validation.prefix = {"spiffe://cluster.local/"};
    if (c.expected == HandshakeFailure::kIdentityNotAllowed && c.spec.uri_sans[0].find("intruder") != std::string::npos) {
      sopts.validation.prefix.clear();
      sopts.validation.exact = {kClientId};
    }
    start(makeContext(false, &leaf, P().root.certificate_pem),
          makeContext(true, &P().server, P().root.certificate_pem, /*require=*/true), {}, sopts);
    writeString(*client, "secret from client");
    writeString(*server, "secret from server");
    checkRefused(*this, /*server_refuses=*/true, c.expected);
  }
}

TEST_CASE_METHOD(TlsPair, "a client refuses each kind of bad server certificate", "[tls][verify]") {
  auto cases = badPeers(kServerId);
  auto index = GENERATE(range(0, 9));
  const BadPeer& c = cases.at(static_cast<size_t>(index));
  SECTION(c.what) {
    pki::Leaf leaf = pki::issue(c.other_root ? P().other_root : P().root, c.spec);
    TlsConnection::ClientOptions copts;
    copts.validation.prefix = {"spiffe://cluster.local/"};
    if (c.expected == HandshakeFailure::kIdentityNotAllowed && c.spec.uri_sans[0].find("intruder") != std::string::npos) {
      copts.validation.prefix.clear();
      copts.validation.exact = {kServerId};
    }
    start(makeContext(false, &P().client, P().root.certificate_pem),
          makeContext(true, &leaf, P().root.certificate_pem, true), copts);
    writeString(*client, "secret from client");
    writeString(*server, "secret from server");
    checkRefused(*this, /*server_refuses=*/false, c.expected);
  }
}

TEST_CASE_METHOD(TlsPair, "a server requiring a certificate refuses a client that sends none", "[tls][verify]") {
  auto version = GENERATE(xds::resources::TlsVersion::kTls12, xds::resources::TlsVersion::kTls13);
  start(makeContext(false, nullptr, P().root.certificate_pem, false, {}, version, version),
        makeContext(true, &P().server, P().root.certificate_pem, true, {}, version, version));
  writeString(*client, "secret from client");
  writeString(*server, "secret from server");
  checkRefused(*this, true, HandshakeFailure::kNoPeerCertificate);
  // The client only learns of an alert; the server gave no detail.
  CHECK(client_cb.closed());
}

TEST_CASE_METHOD(TlsPair, "a client handshake that gets no answer times out", "[tls]") {
  listen();
  TlsConnection::ClientOptions copts;
  copts.handshake_timeout = 100ms;
  client = TlsConnection::client(makeContext(false, &P().client, P().root.certificate_pem),
                                 net::connectTcp(dispatcher(), listener->localAddress()), copts, &client_obs);
  client->setCallbacks(client_cb);
  REQUIRE(runUntil([&] { return client_cb.closed(); }));
  CHECK(client_obs.reason == HandshakeFailure::kTimeout);
  CHECK(client_cb.count(ConnectionEvent::kRemoteClose) == 1);
  CHECK_FALSE(client_cb.connected());
  CHECK(std::string(client->failureReason()).rfind("tls: timeout: ", 0) == 0);
}

TEST_CASE_METHOD(TlsPair, "a client that connects to nothing reports the transport's failure", "[tls]") {
  listen();
  net::Address address = listener->localAddress();
  listener.reset();  // the port now refuses
  client = TlsConnection::client(makeContext(false, &P().client, P().root.certificate_pem),
                                 net::connectTcp(dispatcher(), address), {}, &client_obs);
  client->setCallbacks(client_cb);
  REQUIRE(runUntil([&] { return client_cb.closed(); }));
  CHECK(client_obs.reason == HandshakeFailure::kTransportClosed);
  CHECK(std::string(client->failureReason()).rfind("tls: transport_closed: ", 0) == 0);
}

namespace {

// A raw TCP peer for the server side's tests.
class RawClient {
 public:
  explicit RawClient(TlsPair& t, std::chrono::milliseconds timeout = 10000ms) {
    if (!t.listener) t.listen();
    raw = net::connectTcp(t.dispatcher(), t.listener->localAddress());
    raw->setCallbacks(cb);
    REQUIRE(t.runUntil([&] { return t.acceptor.accepted.size() == 1 && cb.connected(); }));
    Buffer initial;
    TlsConnection::ServerOptions sopts;
    sopts.handshake_timeout = timeout;
    t.server = TlsConnection::server(makeContext(true, &P().server, P().root.certificate_pem, true),
                                     std::move(t.acceptor.accepted[0]), initial, sopts, &t.server_obs);
    t.acceptor.accepted.clear();
    t.server->setCallbacks(t.server_cb);
  }
  ~RawClient() { raw.reset(); }
  RecordingCallbacks cb;
  net::ConnectionPtr raw;
};

// A ClientHello offering at most TLS 1.1, made by OpenSSL itself.
std::string tls11ClientHello() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(ctx, 0);
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
  SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
  SSL* ssl = SSL_new(ctx);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, rbio, wbio);
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);
  char* data = nullptr;
  long size = BIO_get_mem_data(wbio, &data);
  std::string hello(data, static_cast<size_t>(size));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return hello;
}

}  // namespace

TEST_CASE_METHOD(TlsPair, "a server handshake that gets no ClientHello times out", "[tls]") {
  RawClient peer(*this, 100ms);
  REQUIRE(runUntil([&] { return server_cb.closed(); }));
  CHECK(server_obs.reason == HandshakeFailure::kTimeout);
  REQUIRE(runUntil([&] { return peer.cb.closed() || peer.cb.end_streams > 0; }));
}

TEST_CASE_METHOD(TlsPair, "a server refuses a garbage ClientHello as a protocol failure", "[tls]") {
  RawClient peer(*this);
  writeString(*peer.raw, "GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  REQUIRE(runUntil([&] { return server_cb.closed(); }));
  CHECK(server_obs.reason == HandshakeFailure::kProtocol);
  CHECK(server_cb.received.empty());
  REQUIRE(runUntil([&] { return peer.cb.closed() || peer.cb.end_streams > 0; }));
}

TEST_CASE_METHOD(TlsPair, "a server refuses a TLS 1.1 client", "[tls]") {
  std::string hello = tls11ClientHello();
  REQUIRE(hello.size() > 5);
  RawClient peer(*this);
  writeString(*peer.raw, hello);
  REQUIRE(runUntil([&] { return server_cb.closed(); }));
  CHECK(server_obs.reason == HandshakeFailure::kProtocol);
  INFO(server_obs.detail);
  CHECK(server_obs.detail.find("unsupported protocol") != std::string::npos);
  // The client is told with an alert record (content type 21).
  REQUIRE(runUntil([&] { return !peer.cb.received.empty(); }));
  CHECK(peer.cb.received[0] == 21);
}

TEST_CASE_METHOD(TlsPair, "a peer that leaves mid-handshake is a transport failure", "[tls]") {
  RawClient peer(*this);
  // A truncated handshake record header, then FIN.
  writeString(*peer.raw, std::string("\x16\x03\x01\x02\x00\x01", 6), /*end_stream=*/true);
  REQUIRE(runUntil([&] { return server_cb.closed(); }));
  CHECK(server_obs.reason == HandshakeFailure::kTransportClosed);
}

TEST_CASE_METHOD(TlsPair, "a TLS 1.3-only server refuses a TLS 1.2-only client", "[tls]") {
  using xds::resources::TlsVersion;
  start(makeContext(false, &P().client, P().root.certificate_pem, false, {}, TlsVersion::kTls12, TlsVersion::kTls12),
        makeContext(true, &P().server, P().root.certificate_pem, true, {}, TlsVersion::kTls13, TlsVersion::kTls13));
  REQUIRE(bothClosed());
  CHECK(server_obs.reason == HandshakeFailure::kProtocol);
  CHECK(client_obs.reason == HandshakeFailure::kProtocol);
  CHECK(std::string(client->failureReason()).rfind("tls: protocol: ", 0) == 0);
}
