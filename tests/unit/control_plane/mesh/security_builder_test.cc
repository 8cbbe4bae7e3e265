// The mTLS mesh end to end through the proxy's own code: buildForProxy with
// MeshSecurity on, every resource through xds::resources::decodeResource,
// and the RBAC filters through the proxy's Authorizer, so "the control plane
// emits X" is checked as "the proxy enforces X".
#include "control-plane/mesh/security_builder.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "control-plane/mesh/snapshot_builder.h"
#include "control-plane/mesh/validation.h"
#include "proxy/security/authorizer.h"
#include "xds/resources/resource_decoder.h"

namespace remora::cp::mesh {
namespace {

namespace res = xds::resources;

constexpr const char* kBundle = "-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n";
const MeshSecurity kSecure{true, "mesh.test", kBundle};

void applyObject(MeshState& state, const std::string& json) {
  auto parsed = parseObject(json, state);
  INFO(json);
  INFO((parsed ? std::string() : parsed.error().message));
  REQUIRE(parsed.has_value());
  state.put(std::move(*parsed));
}

// web (HTTP, STRICT by default, two accounts) calls api (HTTP2, PERMISSIVE),
// legacy (no sidecars: DISABLE) and db (TCP).
MeshState securedMesh() {
  MeshState state;
  applyObject(state, R"({"kind":"Service","metadata":{"name":"web","namespace":"shop"},
      "spec":{"ports":[{"port":8080}],"serviceAccounts":["web","web-canary"]}})");
  applyObject(state, R"({"kind":"Service","metadata":{"name":"api","namespace":"shop"},
      "spec":{"ports":[{"port":9090,"protocol":"HTTP2"}],"mtls":"PERMISSIVE"}})");
  applyObject(state, R"({"kind":"Service","metadata":{"name":"legacy","namespace":"shop"},
      "spec":{"ports":[{"port":80}],"mtls":"DISABLE"}})");
  applyObject(state, R"({"kind":"Service","metadata":{"name":"db","namespace":"shop"},
      "spec":{"ports":[{"port":5432,"protocol":"TCP"}]}})");
  return state;
}

ProxyIdentity sidecar(const std::string& service, uint32_t port) {
  ProxyIdentity id;
  id.service = service;
  id.namespace_ = "shop";
  id.service_account = service;
  id.app_ports = {port};
  id.api_listeners = false;
  return id;
}

// Every resource of `type` decoded by the proxy's converters, by name.
template <typename T>
std::map<std::string, T> decodeAll(const ProxyResources& out, res::ResourceType type) {
  std::map<std::string, T> decoded;
  for (const google::protobuf::Any& any : out.of(res::typeUrlOf(type))) {
    auto result = res::decodeResource(type, any);
    INFO((result ? std::string() : result.error().message));
    REQUIRE(result.has_value());
    if (std::holds_alternative<T>(result->value)) decoded.emplace(result->name, std::get<T>(result->value));
  }
  return decoded;
}

res::Listener inboundOf(const ProxyResources& out) {
  auto listeners = decodeAll<res::Listener>(out, res::ResourceType::kListener);
  REQUIRE(listeners.count("inbound") == 1);
  return listeners.at("inbound");
}

security::Authorizer authorizerOf(const std::vector<res::Rbac>& rbac) {
  auto compiled = security::Authorizer::compile(rbac);
  REQUIRE(compiled);
  return std::move(*compiled);
}

}  // namespace

TEST_CASE("with security off the mesh has no TLS, no RBAC and no secret", "[cp][mesh][security]") {
  MeshState state = securedMesh();
  applyObject(state, R"({"kind":"AuthorizationPolicy","metadata":{"name":"p","namespace":"shop"},
      "spec":{"service":"web","allow":[{"namespaces":["shop"]}]}})");
  const ProxyResources out = buildForProxy(state, sidecar("web", 8080));
  CHECK(out.of(res::kSecretTypeUrl).empty());
  for (const auto& [name, cluster] : decodeAll<res::Cluster>(out, res::ResourceType::kCluster)) {
    INFO(name);
    CHECK_FALSE(cluster.tls);
  }
  const res::Listener inbound = inboundOf(out);
  REQUIRE(inbound.filter_chains.size() == 1);
  CHECK_FALSE(inbound.filter_chains[0].tls);
  CHECK(std::get<res::HttpConnectionManager>(inbound.filter_chains[0].filter).rbac.empty());
}

TEST_CASE("outbound clusters verify the callee's service accounts over mTLS", "[cp][mesh][security]") {
  const ProxyResources out = buildForProxy(securedMesh(), sidecar("web", 8080), kSecure);
  const auto clusters = decodeAll<res::Cluster>(out, res::ResourceType::kCluster);

  const res::Cluster& web = clusters.at("outbound|8080||web.shop");
  REQUIRE(web.tls);
  CHECK(web.tls->sni == "outbound|8080||web.shop");
  CHECK(web.tls->alpn == std::vector<std::string>{"http/1.1"});
  CHECK(web.tls->certificate.sds_name == "default");
  REQUIRE(web.tls->validation);
  CHECK(web.tls->validation->sds_name == "ROOTCA");
  CHECK(web.tls->validation->uri_san_exact ==
        std::vector<std::string>{"spiffe://mesh.test/ns/shop/sa/web", "spiffe://mesh.test/ns/shop/sa/web-canary"});
  CHECK(web.tls->validation->uri_san_prefix.empty());
  // Sidecars speak TLS 1.3 to each other unless remora-cp allows 1.2.
  CHECK(web.tls->min_version == res::TlsVersion::kTls13);
  MeshSecurity lenient = kSecure;
  lenient.allow_tls12 = true;
  const auto relaxed = decodeAll<res::Cluster>(buildForProxy(securedMesh(), sidecar("web", 8080), lenient),
                                               res::ResourceType::kCluster);
  CHECK(relaxed.at("outbound|8080||web.shop").tls->min_version == res::TlsVersion::kTls12);

  const res::Cluster& api = clusters.at("outbound|9090||api.shop");
  REQUIRE(api.tls);  // PERMISSIVE still receives mTLS from sidecars
  CHECK(api.tls->alpn == std::vector<std::string>{"h2"});
  CHECK(api.tls->validation->uri_san_exact == std::vector<std::string>{"spiffe://mesh.test/ns/shop/sa/api"});

  const res::Cluster& db = clusters.at("outbound|5432||db.shop");
  REQUIRE(db.tls);
  CHECK(db.tls->alpn.empty());

  CHECK_FALSE(clusters.at("outbound|80||legacy.shop").tls);
  CHECK_FALSE(clusters.at("inbound|8080").tls);  // to the local app: plaintext
}

TEST_CASE("a STRICT service's inbound chains require a client certificate", "[cp][mesh][security]") {
  const res::Listener inbound = inboundOf(buildForProxy(securedMesh(), sidecar("web", 8080), kSecure));
  REQUIRE(inbound.filter_chains.size() == 1);
  for (const res::FilterChain* chain : {&inbound.filter_chains[0], &*inbound.default_filter_chain}) {
    REQUIRE(chain->tls);
    CHECK(chain->tls->require_client_certificate);
    CHECK(chain->tls->min_version == res::TlsVersion::kTls13);
    CHECK(chain->tls->certificate.sds_name == "default");
    CHECK(chain->tls->validation->sds_name == "ROOTCA");
    CHECK(chain->tls->validation->uri_san_prefix == std::vector<std::string>{"spiffe://mesh.test/"});
    CHECK(chain->tls->alpn == std::vector<std::string>{"h2", "http/1.1"});
  }
  CHECK(inbound.filter_chains[0].match.transport_protocol.empty());
}

TEST_CASE("a PERMISSIVE service's inbound accepts mTLS and plaintext, told apart by sniffing",
          "[cp][mesh][security]") {
  const res::Listener inbound = inboundOf(buildForProxy(securedMesh(), sidecar("api", 9090), kSecure));
  REQUIRE(inbound.filter_chains.size() == 3);
  // Explicit TLS connections to the listener's own port.
  CHECK(inbound.filter_chains[0].match.transport_protocol == "tls");
  CHECK_FALSE(inbound.filter_chains[0].match.destination_port);
  CHECK(inbound.filter_chains[0].tls);
  CHECK(inbound.filter_chains[1].match.transport_protocol == "tls");
  CHECK(inbound.filter_chains[1].match.destination_port == 9090u);
  REQUIRE(inbound.filter_chains[1].tls);
  CHECK(inbound.filter_chains[1].tls->require_client_certificate);
  CHECK(inbound.filter_chains[2].match.transport_protocol == "raw_buffer");
  CHECK(inbound.filter_chains[2].match.destination_port == 9090u);
  CHECK_FALSE(inbound.filter_chains[2].tls);
  REQUIRE(inbound.default_filter_chain);
  CHECK_FALSE(inbound.default_filter_chain->tls);
}

TEST_CASE("a DISABLE service's inbound stays plaintext", "[cp][mesh][security]") {
  const res::Listener inbound = inboundOf(buildForProxy(securedMesh(), sidecar("legacy", 80), kSecure));
  REQUIRE(inbound.filter_chains.size() == 1);
  CHECK_FALSE(inbound.filter_chains[0].tls);
}

TEST_CASE("every proxy gets the ROOTCA secret with the trust bundle", "[cp][mesh][security]") {
  for (const ProxyIdentity& proxy : {sidecar("web", 8080), ProxyIdentity{}}) {
    const ProxyResources out = buildForProxy(securedMesh(), proxy, kSecure);
    const auto secrets = decodeAll<res::Secret>(out, res::ResourceType::kSecret);
    REQUIRE(secrets.size() == 1);
    const res::Secret& root = secrets.at("ROOTCA");
    REQUIRE(root.validation_context);
    CHECK(root.validation_context->trusted_ca == kBundle);
    CHECK_FALSE(root.tls_certificate);
  }
}

TEST_CASE("AuthorizationPolicies become DENY then ALLOW filters that the proxy enforces", "[cp][mesh][security]") {
  MeshState state = securedMesh();
  applyObject(state, R"({"kind":"AuthorizationPolicy","metadata":{"name":"callers","namespace":"shop"},
      "spec":{"service":"web","allow":[
        {"principals":["shop/api","spiffe://other.test/ns/x/sa/y"]},
        {"namespaces":["ops"],"methods":["GET"],"paths":["/status","/metrics*"]}],
      "deny":[{"paths":["/admin*"]}]}})");
  applyObject(state, R"({"kind":"AuthorizationPolicy","metadata":{"name":"other-port","namespace":"shop"},
      "spec":{"service":"web","allow":[{"ports":[9999],"trustDomains":["mesh.test"]}]}})");
  const res::Listener inbound = inboundOf(buildForProxy(state, sidecar("web", 8080), kSecure));
  const auto& manager = std::get<res::HttpConnectionManager>(inbound.filter_chains.at(0).filter);
  REQUIRE(manager.rbac.size() == 2);
  CHECK(manager.rbac[0].action == res::Rbac::Action::kDeny);
  CHECK(manager.rbac[0].policies.at(0).name == "shop/callers.deny[0]");
  CHECK(manager.rbac[1].action == res::Rbac::Action::kAllow);
  // other-port's rule names another port: it does not apply to this chain.
  REQUIRE(manager.rbac[1].policies.size() == 2);
  CHECK(manager.rbac[1].policies[0].name == "shop/callers.allow[0]");

  const security::Authorizer authorizer = authorizerOf(manager.rbac);
  http::HeaderMap headers;
  auto ask = [&](std::string_view peer, std::string_view path, std::string_view method) {
    headers = http::HeaderMap();
    headers.add(":method", method);
    headers.add(":path", path);
    return authorizer.evaluate(security::RequestFacts{peer, 8080, path, method, &headers});
  };
  CHECK(ask("spiffe://mesh.test/ns/shop/sa/api", "/orders", "POST").allowed);
  CHECK(ask("spiffe://other.test/ns/x/sa/y", "/orders", "POST").allowed);
  CHECK(ask("spiffe://mesh.test/ns/ops/sa/monitor", "/metrics/cpu", "GET").allowed);
  CHECK_FALSE(ask("spiffe://mesh.test/ns/ops/sa/monitor", "/metrics/cpu", "POST").allowed);
  CHECK_FALSE(ask("spiffe://mesh.test/ns/ops/sa/monitor", "/orders", "GET").allowed);
  CHECK_FALSE(ask("spiffe://mesh.test/ns/shop/sa/web", "/orders", "GET").allowed);
  CHECK_FALSE(ask("", "/status", "GET").allowed);
  const security::Decision admin = ask("spiffe://mesh.test/ns/shop/sa/api", "/admin/users", "GET");
  CHECK_FALSE(admin.allowed);
  CHECK(admin.policy == "shop/callers.deny[0]");
}

TEST_CASE("deny-only policies leave everyone else in, and a policy without rules admits nobody",
          "[cp][mesh][security]") {
  MeshState deny_only = securedMesh();
  applyObject(deny_only, R"({"kind":"AuthorizationPolicy","metadata":{"name":"no-batch","namespace":"shop"},
      "spec":{"service":"web","deny":[{"principals":["shop/batch"]}]}})");
  const res::Listener inbound = inboundOf(buildForProxy(deny_only, sidecar("web", 8080), kSecure));
  const auto& rbac = std::get<res::HttpConnectionManager>(inbound.filter_chains.at(0).filter).rbac;
  REQUIRE(rbac.size() == 1);
  const security::Authorizer authorizer = authorizerOf(rbac);
  CHECK(authorizer.evaluate({"spiffe://mesh.test/ns/shop/sa/api", 8080}).allowed);
  CHECK_FALSE(authorizer.evaluate({"spiffe://mesh.test/ns/shop/sa/batch", 8080}).allowed);

  MeshState nobody = securedMesh();
  applyObject(nobody, R"({"kind":"AuthorizationPolicy","metadata":{"name":"closed","namespace":"shop"},
      "spec":{"service":"web"}})");
  const res::Listener closed = inboundOf(buildForProxy(nobody, sidecar("web", 8080), kSecure));
  const security::Authorizer none =
      authorizerOf(std::get<res::HttpConnectionManager>(closed.filter_chains.at(0).filter).rbac);
  CHECK_FALSE(none.evaluate({"spiffe://mesh.test/ns/shop/sa/api", 8080}).allowed);
}

TEST_CASE("TCP services get network RBAC, and HTTP-only fields are warned about", "[cp][mesh][security]") {
  MeshState state = securedMesh();
  applyObject(state, R"({"kind":"AuthorizationPolicy","metadata":{"name":"db-callers","namespace":"shop"},
      "spec":{"service":"db","allow":[{"principals":["shop/web"]},{"principals":["shop/api"],"paths":["/x"]}],
      "deny":[{"namespaces":["ops"],"methods":["DELETE"]}]}})");
  const ProxyResources out = buildForProxy(state, sidecar("db", 5432), kSecure);
  const res::Listener inbound = inboundOf(out);
  const res::FilterChain& chain = inbound.filter_chains.at(0);
  REQUIRE(chain.network_rbac.size() == 2);
  CHECK(chain.network_rbac[0].stat_prefix == "inbound|5432");
  CHECK(std::count_if(out.warnings.begin(), out.warnings.end(), [](const std::string& w) {
          return w.find("AuthorizationPolicy 'shop/db-callers'") == 0;
        }) == 2);
  const security::Authorizer authorizer = authorizerOf(chain.network_rbac);
  CHECK(authorizer.evaluate({"spiffe://mesh.test/ns/shop/sa/web", 5432}).allowed);
  // The allow rule with a path cannot match a connection...
  CHECK_FALSE(authorizer.evaluate({"spiffe://mesh.test/ns/shop/sa/api", 5432}).allowed);
  // ...and the deny rule without its method denies the whole namespace.
  const security::Decision ops = authorizer.evaluate({"spiffe://mesh.test/ns/ops/sa/web", 5432});
  CHECK_FALSE(ops.allowed);
  CHECK(ops.policy == "shop/db-callers.deny[0]");
}

TEST_CASE("a rebuild of the same secured mesh is byte-identical", "[cp][mesh][security]") {
  MeshState state = securedMesh();
  applyObject(state, R"({"kind":"AuthorizationPolicy","metadata":{"name":"p","namespace":"shop"},
      "spec":{"service":"web","allow":[{"principals":["shop/a"]},{"principals":["shop/b"]},{"principals":["shop/c"]}],
      "deny":[{"principals":["shop/d"]},{"principals":["shop/e"]}]}})");
  const ProxyResources a = buildForProxy(state, sidecar("web", 8080), kSecure);
  const ProxyResources b = buildForProxy(state, sidecar("web", 8080), kSecure);
  for (const auto& [type, bodies] : a.resources) {
    REQUIRE(bodies.size() == b.of(type).size());
    for (size_t i = 0; i < bodies.size(); ++i) CHECK(bodies[i].value() == b.of(type)[i].value());
  }
}

}  // namespace remora::cp::mesh
