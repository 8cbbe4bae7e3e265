// mTLS between two remora-proxies configured by static bootstraps (files
// named in Envoy-style TLS contexts): a client -> proxy A -> mTLS -> proxy B
// -> app. Proxy A holds one cluster per client certificate under test, good
// and broken; proxy B must refuse every broken one at the handshake (or, for
// a valid identity that is not allowed, by policy), count why, and never
// connect to the app for it.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/raw_connection.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/integration/proxy/fixtures.h"
#include "tests/support/pki/test_pki.h"

using namespace remora;
using namespace std::chrono_literals;
using harness::BackendProcess;
using harness::ProxyOptions;
using harness::ProxyProcess;
namespace pki = remora::testing::pki;

namespace {

constexpr const char* kClientId = "spiffe://cluster.local/ns/shop/sa/client";
constexpr const char* kServerId = "spiffe://cluster.local/ns/shop/sa/server";

struct Files {
  std::string cert;
  std::string key;
};

Files write(const harness::TempDir& dir, const std::string& name, const pki::Leaf& leaf) {
  return {pki::writeFile(dir.path(), name + ".pem", leaf.certificate_chain_pem),
          pki::writeFile(dir.path(), name + ".key", leaf.private_key_pem)};
}

std::string tlsCertificates(const Files& f) {
  return "tls_certificates: [{ certificate_chain: { filename: " + f.cert + " }, private_key: { filename: " + f.key +
         " } }]\n";
}

// proxy B's transport socket: TLS required, peers of the mesh's trust domain.
std::string downstreamTls(const Files& server, const std::string& root) {
  return "transport_socket:\n"
         "  name: envoy.transport_sockets.tls\n"
         "  typed_config:\n"
         "    \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext\n"
         "    require_client_certificate: true\n"
         "    common_tls_context:\n" +
         itest::indent(tlsCertificates(server), 6) +
         "      validation_context:\n"
         "        trusted_ca: { filename: " + root + " }\n"
         "        match_typed_subject_alt_names: [{ san_type: URI, matcher: { prefix: \"spiffe://cluster.local/\" } }]\n"
         "      alpn_protocols: [h2, http/1.1]\n";
}

std::string rbacRules(const std::string& principal) {
  return "rules:\n"
         "  action: ALLOW\n"
         "  policies:\n"
         "    shop-clients:\n"
         "      permissions: [{ any: true }]\n"
         "      principals: [{ authenticated: { principal_name: { exact: \"" + principal + "\" } } }]\n";
}

std::string proxyB(const Files& server, const std::string& root, const std::string& app, const std::string& tcp_app) {
  const std::string hcm =
      "\"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\n"
      "stat_prefix: inbound\n"
      "forward_client_cert_details: SANITIZE_SET\n"
      "set_current_client_cert_details: { uri: true }\n"
      "route_config:\n"
      "  virtual_hosts: [{ name: all, domains: [\"*\"], routes: [{ match: { prefix: \"/\" }, route: { cluster: app } }] }]\n"
      "http_filters:\n"
      "- name: envoy.filters.http.rbac\n"
      "  typed_config:\n"
      "    \"@type\": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC\n" +
      itest::indent(rbacRules(kClientId), 4) +
      "- name: envoy.filters.http.router\n"
      "  typed_config: { \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }\n";
  const std::string http_listener = "- name: inbound\n"
                                    "  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }\n"
                                    "  filter_chains:\n"
                                    "  - filters:\n"
                                    "    - name: envoy.filters.network.http_connection_manager\n"
                                    "      typed_config:\n" +
                                    itest::indent(hcm, 8) + itest::indent(downstreamTls(server, root), 4);
  const std::string tcp_listener =
      "- name: inbound_tcp\n"
      "  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }\n"
      "  filter_chains:\n"
      "  - filters:\n"
      "    - name: envoy.filters.network.rbac\n"
      "      typed_config:\n"
      "        \"@type\": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC\n"
      "        stat_prefix: inbound_tcp\n" +
      itest::indent(rbacRules(kClientId), 8) +
      "    - name: envoy.filters.network.tcp_proxy\n"
      "      typed_config:\n"
      "        \"@type\": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\n"
      "        stat_prefix: inbound_tcp\n"
      "        cluster: tcp_app\n" +
      itest::indent(downstreamTls(server, root), 4);
  return itest::bootstrapYaml({http_listener, tcp_listener},
                              {itest::clusterYaml({.name = "app", .endpoints = {app}}),
                               itest::clusterYaml({.name = "tcp_app", .endpoints = {tcp_app}})});
}

// One cluster of proxy A: TLS to `to` presenting `client` (none when the
// paths are empty), expecting the peer `expect_san`.
std::string upstreamCluster(const std::string& name, const std::string& to, const Files& client,
                            const std::string& root, const std::string& expect_san) {
  std::string common = client.cert.empty() ? "" : tlsCertificates(client);
  common += "validation_context:\n"
            "  trusted_ca: { filename: " + root + " }\n"
            "  match_typed_subject_alt_names: [{ san_type: URI, matcher: { exact: \"" + expect_san + "\" } }]\n";
  const std::string extra = "transport_socket:\n"
                            "  name: envoy.transport_sockets.tls\n"
                            "  typed_config:\n"
                            "    \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext\n"
                            "    common_tls_context:\n" +
                            itest::indent(common, 6);
  return itest::clusterYaml({.name = name, .endpoints = {to}}) + itest::indent(extra, 2);
}

std::unique_ptr<ProxyProcess> startProxy(const std::string& yaml) {
  ProxyOptions o;
  o.bootstrap_yaml = yaml;
  auto p = ProxyProcess::start(o);
  INFO(yaml);
  REQUIRE(p.has_value());
  return std::move(*p);
}

uint64_t stat(ProxyProcess& p, const std::string& name) { return p.stats(name).value_or(0); }

std::string failures(const std::string& direction, const std::string& name, const std::string& reason) {
  return "remora_tls_handshake_failures_total{direction=\"" + direction + "\",name=\"" + name + "\",reason=\"" +
         reason + "\"}";
}

}  // namespace

TEST_CASE("mTLS between two proxies refuses every broken or unauthorised client certificate",
          "[integration][mtls]") {
  harness::TempDir dir("remora-mtls");
  const pki::Authority root = pki::makeRoot("mesh root");
  const pki::Authority stranger = pki::makeRoot("another mesh");
  const std::string root_file = pki::writeFile(dir.path(), "root.pem", root.certificate_pem);
  const Files server = write(dir, "server", pki::issue(root, pki::LeafSpec{.uri_sans = {kServerId}, .dns_sans = {"localhost"}}));

  struct Variant {
    std::string name;
    Files files;
    std::string reason;  // proxy B's failure reason; "" for success or a policy refusal
  };
  std::vector<Variant> variants = {
      {"good", write(dir, "good", pki::issue(root, kClientId)), ""},
      {"untrusted", write(dir, "untrusted", pki::issue(stranger, kClientId)), "untrusted_issuer"},
      {"expired",
       write(dir, "expired", pki::issue(root, {.uri_sans = {kClientId}, .not_before = -48h, .not_after = -24h})),
       "expired"},
      {"notyet",
       write(dir, "notyet", pki::issue(root, {.uri_sans = {kClientId}, .not_before = 24h, .not_after = 48h})),
       "not_yet_valid"},
      {"ca", write(dir, "ca", pki::issue(root, {.uri_sans = {kClientId}, .is_ca = true})), "peer_is_ca"},
      {"twosans",
       write(dir, "twosans",
             pki::issue(root, {.uri_sans = {kClientId, "spiffe://cluster.local/ns/shop/sa/other"}})),
       "bad_spiffe_id"},
      {"otherdomain", write(dir, "otherdomain", pki::issue(root, "spiffe://other.domain/ns/shop/sa/client")),
       "identity_not_allowed"},
      {"nocert", Files{}, "no_peer_certificate"},
      {"intruder", write(dir, "intruder", pki::issue(root, "spiffe://cluster.local/ns/shop/sa/intruder")), ""},
  };

  auto app = BackendProcess::httpEcho();
  REQUIRE(app);
  auto tcp_app = BackendProcess::tcpEcho();
  REQUIRE(tcp_app);
  auto b = startProxy(proxyB(server, root_file, app->address(), tcp_app->address()));
  auto b_http = b->listenerAddress("inbound");
  auto b_tcp = b->listenerAddress("inbound_tcp");
  REQUIRE(b_http);
  REQUIRE(b_tcp);

  std::vector<std::string> listeners;
  std::vector<std::string> clusters;
  for (const auto& v : variants) {
    listeners.push_back(itest::httpListenerYaml(
        {.name = "out_" + v.name, .routes = "- match: { prefix: \"/\" }\n  route: { cluster: to_" + v.name + " }"}));
    clusters.push_back(upstreamCluster("to_" + v.name, *b_http, v.files, root_file, kServerId));
  }
  // The client side verifies too: a server whose identity is not the one expected.
  listeners.push_back(itest::httpListenerYaml(
      {.name = "out_wrongserver", .routes = "- match: { prefix: \"/\" }\n  route: { cluster: to_wrongserver }"}));
  clusters.push_back(upstreamCluster("to_wrongserver", *b_http, variants[0].files, root_file,
                                     "spiffe://cluster.local/ns/shop/sa/someone-else"));
  listeners.push_back(itest::tcpListenerYaml("tcp_good", "tcp_good"));
  clusters.push_back(upstreamCluster("tcp_good", *b_tcp, variants[0].files, root_file, kServerId));
  listeners.push_back(itest::tcpListenerYaml("tcp_intruder", "tcp_intruder"));
  clusters.push_back(upstreamCluster("tcp_intruder", *b_tcp, variants.back().files, root_file, kServerId));
  auto a = startProxy(itest::bootstrapYaml(listeners, clusters));

  const std::string app_connections = "remora_upstream_connections_total{cluster=\"app\"}";

  SECTION("a valid, allowed identity gets through, and the app learns who called") {
    auto addr = a->listenerAddress("out_good");
    REQUIRE(addr);
    auto r = harness::httpGet(*addr, "/echo");
    REQUIRE(r);
    INFO(r->body << b->logs());
    CHECK(r->status == 200);
    CHECK(r->body.find(std::string("URI=") + kClientId) != std::string::npos);
    CHECK(stat(*b, "remora_tls_handshakes_total{direction=\"inbound\",name=\"inbound\"}") >= 1);
    CHECK(stat(*a, "remora_tls_handshakes_total{direction=\"outbound\",name=\"to_good\"}") >= 1);
  }

  SECTION("each broken client certificate is refused at the handshake, counted by reason, with no app connection") {
    for (const auto& v : variants) {
      if (v.reason.empty()) continue;
      DYNAMIC_SECTION("client certificate: " << v.name) {
        auto addr = a->listenerAddress("out_" + v.name);
        REQUIRE(addr);
        auto r = harness::httpGet(*addr, "/echo");
        REQUIRE(r);
        INFO(r->status << " " << r->body << "\n--- B\n" << b->logs());
        CHECK(r->status >= 500);
        CHECK(r->header("x-remora-error").has_value());
        CHECK(stat(*b, failures("inbound", "inbound", v.reason)) == 1);
        CHECK(stat(*b, app_connections) == 0);
        CHECK(stat(*b, "remora_downstream_requests_total{listener=\"inbound\"}") == 0);
      }
    }
  }

  SECTION("a valid identity that the policy does not allow gets 403 from proxy B, not the app") {
    auto addr = a->listenerAddress("out_intruder");
    REQUIRE(addr);
    auto r = harness::httpGet(*addr, "/echo");
    REQUIRE(r);
    INFO(r->body);
    CHECK(r->status == 403);
    CHECK(r->header("x-remora-error") == "rbac_denied");
    CHECK(r->body.find("spiffe://cluster.local/ns/shop/sa/intruder") != std::string::npos);
    CHECK(stat(*b, "remora_rbac_denied_total{listener=\"inbound\",peer=\"spiffe://cluster.local/ns/shop/sa/"
                   "intruder\",policy=\"\"}") == 1);
    CHECK(stat(*b, app_connections) == 0);
  }

  SECTION("the client refuses a server whose identity is not the expected one") {
    auto addr = a->listenerAddress("out_wrongserver");
    REQUIRE(addr);
    auto r = harness::httpGet(*addr, "/echo");
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(stat(*a, failures("outbound", "to_wrongserver", "identity_not_allowed")) == 1);
    CHECK(stat(*b, app_connections) == 0);
  }

  SECTION("TCP: an allowed peer reaches the app; a peer the policy refuses is closed before any upstream connect") {
    auto good = a->listenerAddress("tcp_good");
    auto bad = a->listenerAddress("tcp_intruder");
    REQUIRE(good);
    REQUIRE(bad);
    {
      auto conn = harness::RawConnection::connect(*good);
      REQUIRE(conn);
      REQUIRE(conn->send("ping\n"));
      CHECK(conn->readUntil("ping\n", 5s) == "ping\n");
    }
    auto conn = harness::RawConnection::connect(*bad);
    REQUIRE(conn);
    (void)conn->send("ping\n");
    CHECK(conn->readUntilClose(5s).empty());
    CHECK(stat(*b, "remora_tcp_connections_total{listener=\"inbound_tcp\"}") == 1);
    CHECK(stat(*b, "remora_rbac_denied_total{listener=\"inbound_tcp\",peer=\"spiffe://cluster.local/ns/shop/sa/"
                   "intruder\",policy=\"\"}") == 1);
  }
}
