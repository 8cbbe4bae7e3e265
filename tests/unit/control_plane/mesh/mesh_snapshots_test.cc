#include "control-plane/mesh/mesh_snapshots.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "control-plane/mesh/snapshot_builder.h"
#include "control-plane/mesh/validation.h"
#include "xds/resources/resource_decoder.h"

namespace remora::cp::mesh {
namespace {

namespace res = xds::resources;
using Contents = std::map<std::pair<std::string, std::string>, std::string>;  // (type, name) -> bytes

void applyObject(MeshState& state, const std::string& json) {
  auto parsed = parseObject(json, state);
  INFO(json);
  INFO((parsed ? std::string() : parsed.error().message));
  REQUIRE(parsed.has_value());
  state.put(std::move(*parsed));
}

MeshState smallMesh() {
  MeshState state;
  applyObject(state, R"({"kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":8080}]}})");
  applyObject(state, R"({"kind":"Service","metadata":{"name":"reviews"},"spec":{"ports":[{"port":9080}]}})");
  applyObject(state, R"({"kind":"Service","metadata":{"name":"db","namespace":"data"},"spec":{"ports":[{"port":5432,"protocol":"TCP"}]}})");
  applyObject(state, R"({"kind":"Endpoint","metadata":{"name":"reviews-1"},"spec":{"service":"reviews","address":"10.0.0.1","port":9080,"labels":{"version":"v1"}}})");
  applyObject(state, R"({"kind":"Endpoint","metadata":{"name":"reviews-2"},"spec":{"service":"reviews","address":"10.0.0.2","port":9080,"labels":{"version":"v2"}}})");
  applyObject(state, R"({"kind":"RouteRule","metadata":{"name":"canary"},"spec":{"service":"reviews","routes":[{"split":[{"version":"v1","weight":80},{"version":"v2","weight":20}]}]}})");
  return state;
}

Contents ofSnapshot(const xds::server::ResourceSnapshot& snapshot) {
  Contents out;
  for (const std::string& type : snapshot.typeUrls()) {
    snapshot.forEach(type, [&](const std::string& name, const xds::server::VersionedResource& r) {
      out[{type, name}] = r.body.value();
    });
  }
  return out;
}

Contents ofReference(const MeshState& state, const ProxyIdentity& proxy, const MeshSecurity& security = {},
                     const MeshTracing& tracing = {},
                     OutboundTrafficPolicy policy = OutboundTrafficPolicy::kAllowAny) {
  Contents out;
  const ProxyResources reference = buildForProxy(state, proxy, security, tracing, policy);
  for (const auto& [type, bodies] : reference.resources) {
    for (const auto& body : bodies) out[{type, xds::server::resourceName(body).value()}] = body.value();
  }
  return out;
}

ProxyIdentity sidecar(const std::string& service, std::vector<uint32_t> ports, const std::string& ns = "default") {
  ProxyIdentity id;
  id.service = service;
  id.namespace_ = ns;
  id.pod_ip = "10.1.0.1";
  id.app_ports = std::move(ports);
  id.api_listeners = false;
  return id;
}

}  // namespace

TEST_CASE("every proxy gets exactly what buildForProxy builds for it", "[cp][mesh]") {
  auto state = std::make_shared<const MeshState>(smallMesh());
  MeshSnapshots snapshots(state, nullptr);
  ProxyIdentity own_address = sidecar("web", {8080});
  own_address.outbound_host = "127.0.0.1";
  own_address.outbound_port = 0;
  own_address.inbound_host = "127.0.0.1";
  own_address.inbound_port = 0;
  ProxyIdentity grpc_client;  // proxyless, wants API listeners
  grpc_client.namespace_ = "data";
  for (const ProxyIdentity& proxy : {sidecar("web", {8080}), sidecar("reviews", {9080}), own_address, grpc_client,
                                     sidecar("missing", {7000}, "data")}) {
    INFO("proxy " << proxy.service << " in " << proxy.namespace_);
    auto built = snapshots.forProxy(proxy);
    REQUIRE(built);
    CHECK(ofSnapshot(*built->snapshot) == ofReference(*state, proxy));
  }
}

TEST_CASE("with mTLS on, every proxy still gets exactly what buildForProxy builds, ROOTCA included", "[cp][mesh]") {
  MeshState mesh = smallMesh();
  applyObject(mesh, R"({"kind":"AuthorizationPolicy","metadata":{"name":"callers"},"spec":{"service":"reviews",
                   "allow":[{"principals":["default/web"]}],"deny":[{"paths":["/admin*"]}]}})");
  auto state = std::make_shared<const MeshState>(std::move(mesh));
  const MeshSecurity security{true, "mesh.test", "-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n"};
  MeshSnapshots snapshots(state, nullptr, security);
  CHECK(snapshots.security() == security);
  for (const ProxyIdentity& proxy : {sidecar("web", {8080}), sidecar("reviews", {9080}), sidecar("db", {5432}, "data")}) {
    INFO("proxy " << proxy.service << " in " << proxy.namespace_);
    auto built = snapshots.forProxy(proxy);
    REQUIRE(built);
    CHECK(ofSnapshot(*built->snapshot) == ofReference(*state, proxy, security));
    CHECK(built->snapshot->find(res::kSecretTypeUrl, "ROOTCA") != nullptr);
  }
  // Off, there is no secret at all.
  MeshSnapshots plaintext(state, nullptr);
  auto built = plaintext.forProxy(sidecar("web", {8080}));
  REQUIRE(built);
  CHECK(built->snapshot->count(res::kSecretTypeUrl) == 0);
}

TEST_CASE("with tracing on, every proxy still gets exactly what buildForProxy builds for it", "[cp][mesh]") {
  auto state = std::make_shared<const MeshState>(smallMesh());
  for (auto format : {MeshTracing::Format::kOtlp, MeshTracing::Format::kZipkin}) {
    MeshTracing tracing;
    tracing.enabled = true;
    tracing.format = format;
    tracing.host = "10.9.0.1";
    tracing.port = 4318;
    tracing.path = "/v1/traces";
    tracing.sampling_percent = 10;
    MeshSnapshots snapshots(state, nullptr, {}, tracing);
    CHECK(snapshots.tracing() == tracing);
    ProxyIdentity own_address = sidecar("web", {8080});
    own_address.outbound_host = "127.0.0.1";
    own_address.outbound_port = 0;
    ProxyIdentity grpc_client;
    // Asked twice, "web" must get its own outbound listener both times, not
    // the one built for "reviews" or for clients.
    for (const ProxyIdentity& proxy : {sidecar("web", {8080}), sidecar("reviews", {9080}), sidecar("web", {8080}),
                                       own_address, grpc_client, sidecar("db", {5432}, "data")}) {
      INFO("proxy " << proxy.service << " in " << proxy.namespace_);
      auto built = snapshots.forProxy(proxy);
      REQUIRE(built);
      CHECK(ofSnapshot(*built->snapshot) == ofReference(*state, proxy, {}, tracing));
      CHECK(built->snapshot->find(res::kClusterTypeUrl, "remora-tracing-collector") != nullptr);
    }
  }
}

TEST_CASE("sidecars get no API listeners, gRPC clients do", "[cp][mesh]") {
  MeshSnapshots snapshots(std::make_shared<const MeshState>(smallMesh()), nullptr);
  ProxyIdentity client;
  auto for_client = snapshots.forProxy(client);
  auto for_sidecar = snapshots.forProxy(sidecar("web", {8080}));
  REQUIRE(for_client);
  REQUIRE(for_sidecar);
  CHECK(for_client->snapshot->find(res::kListenerTypeUrl, "reviews") != nullptr);
  CHECK(for_sidecar->snapshot->find(res::kListenerTypeUrl, "reviews") == nullptr);
  CHECK(for_sidecar->snapshot->find(res::kListenerTypeUrl, "outbound") != nullptr);
  CHECK(for_sidecar->snapshot->find(res::kListenerTypeUrl, "inbound") != nullptr);
}

TEST_CASE("proxies share the mesh-wide parts, and a rebuild keeps the parts that did not change", "[cp][mesh]") {
  MeshState mesh = smallMesh();
  auto first = std::make_shared<MeshSnapshots>(std::make_shared<const MeshState>(mesh), nullptr);
  auto web = first->forProxy(sidecar("web", {8080}));
  auto reviews = first->forProxy(sidecar("reviews", {9080}));
  REQUIRE(web);
  REQUIRE(reviews);
  const auto& web_clusters = web->snapshot->parts(res::kClusterTypeUrl);
  const auto& reviews_clusters = reviews->snapshot->parts(res::kClusterTypeUrl);
  CHECK(web_clusters.front() == reviews_clusters.front());

  // Same mesh again: every part is the one from before, so is the version.
  MeshSnapshots same(std::make_shared<const MeshState>(mesh), first.get());
  auto web_again = same.forProxy(sidecar("web", {8080}));
  REQUIRE(web_again);
  CHECK(web_again->snapshot->parts(res::kClusterTypeUrl) == web_clusters);
  CHECK(web_again->snapshot->parts(res::kListenerTypeUrl) == web->snapshot->parts(res::kListenerTypeUrl));
  CHECK(web_again->snapshot->version() == web->snapshot->version());

  // A new endpoint: new assignments, the same clusters and listeners.
  applyObject(mesh, R"({"kind":"Endpoint","metadata":{"name":"reviews-3"},"spec":{"service":"reviews","address":"10.0.0.3","port":9080,"labels":{"version":"v2"}}})");
  MeshSnapshots changed(std::make_shared<const MeshState>(mesh), first.get());
  auto web_changed = changed.forProxy(sidecar("web", {8080}));
  REQUIRE(web_changed);
  CHECK(web_changed->snapshot->parts(res::kClusterTypeUrl) == web_clusters);
  CHECK(web_changed->snapshot->parts(res::kClusterLoadAssignmentTypeUrl) !=
        web->snapshot->parts(res::kClusterLoadAssignmentTypeUrl));
  CHECK(web_changed->snapshot->version() != web->snapshot->version());
}

ProxyIdentity redirected(ProxyIdentity proxy) {
  proxy.interception = InterceptionMode::kRedirect;
  return proxy;
}

TEST_CASE("REDIRECT proxies get exactly what buildForProxy builds for them, under either policy", "[cp][mesh]") {
  MeshState mesh = smallMesh();
  applyObject(mesh, R"({"kind":"Service","metadata":{"name":"vip"},"spec":{"ports":[{"port":80}],"addresses":["10.96.0.9"]}})");
  auto state = std::make_shared<const MeshState>(std::move(mesh));
  MeshTracing tracing;
  tracing.enabled = true;
  tracing.host = "10.9.0.1";
  tracing.port = 4318;
  tracing.path = "/v1/traces";
  for (auto policy : {OutboundTrafficPolicy::kAllowAny, OutboundTrafficPolicy::kRegistryOnly}) {
    for (const MeshTracing& with : {MeshTracing{}, tracing}) {
      MeshSnapshots snapshots(state, nullptr, {}, with, policy);
      CHECK(snapshots.outboundTrafficPolicy() == policy);
      ProxyIdentity own_address = redirected(sidecar("web", {8080}));
      own_address.outbound_host = "127.0.0.1";
      own_address.outbound_port = 0;
      // Interleaved, so a shared part built for one mode is never handed to the other.
      for (const ProxyIdentity& proxy : {redirected(sidecar("web", {8080})), sidecar("web", {8080}),
                                         redirected(sidecar("reviews", {9080})), own_address,
                                         redirected(sidecar("db", {5432}, "data")), sidecar("reviews", {9080})}) {
        INFO("proxy " << proxy.service << " in " << proxy.namespace_ << " redirect "
                      << (proxy.interception == InterceptionMode::kRedirect));
        auto built = snapshots.forProxy(proxy);
        REQUIRE(built);
        CHECK(ofSnapshot(*built->snapshot) == ofReference(*state, proxy, {}, with, policy));
        const bool redirect = proxy.interception == InterceptionMode::kRedirect;
        CHECK((built->snapshot->find(res::kClusterTypeUrl, "PassthroughCluster") != nullptr) == redirect);
        // data/db has neither addresses nor endpoints: only REDIRECT proxies are told.
        const bool warned = std::any_of(built->warnings.begin(), built->warnings.end(), [](const std::string& w) {
          return w.find("'data/db' gets no filter chain") != std::string::npos;
        });
        CHECK(warned == redirect);
      }
    }
  }
}

TEST_CASE("a new endpoint changes a REDIRECT proxy's routes and listener, not a NONE proxy's listener",
          "[cp][mesh]") {
  MeshState mesh = smallMesh();
  auto first = std::make_shared<MeshSnapshots>(std::make_shared<const MeshState>(mesh), nullptr);
  auto version = [](const ProxySnapshot& built, std::string_view type, const std::string& name) {
    const xds::server::VersionedResource* found = built.snapshot->find(type, name);
    REQUIRE(found != nullptr);
    return found->version;
  };
  auto redirect_before = first->forProxy(redirected(sidecar("web", {8080})));
  auto none_before = first->forProxy(sidecar("web", {8080}));
  REQUIRE(redirect_before);
  REQUIRE(none_before);

  applyObject(mesh, R"({"kind":"Endpoint","metadata":{"name":"reviews-3"},"spec":{"service":"reviews","address":"10.0.0.3","port":9080,"labels":{"version":"v2"}}})");
  MeshSnapshots changed(std::make_shared<const MeshState>(mesh), first.get());
  auto redirect_after = changed.forProxy(redirected(sidecar("web", {8080})));
  auto none_after = changed.forProxy(sidecar("web", {8080}));
  REQUIRE(redirect_after);
  REQUIRE(none_after);
  // REDIRECT: the pod IP is a new route domain (and would be a TCP prefix range).
  CHECK(version(*redirect_after, res::kRouteConfigurationTypeUrl, "outbound") !=
        version(*redirect_before, res::kRouteConfigurationTypeUrl, "outbound"));
  CHECK(redirect_after->snapshot->version() != redirect_before->snapshot->version());
  // NONE: only the endpoints changed.
  CHECK(version(*none_after, res::kListenerTypeUrl, "outbound") ==
        version(*none_before, res::kListenerTypeUrl, "outbound"));
  CHECK(version(*none_after, res::kRouteConfigurationTypeUrl, "outbound") ==
        version(*none_before, res::kRouteConfigurationTypeUrl, "outbound"));

  // A TCP endpoint changes a REDIRECT proxy's listener (a new prefix range).
  applyObject(mesh, R"({"kind":"Endpoint","metadata":{"name":"db-1","namespace":"data"},"spec":{"service":"db","address":"10.0.9.1","port":5432}})");
  MeshSnapshots with_db(std::make_shared<const MeshState>(mesh), &changed);
  auto redirect_db = with_db.forProxy(redirected(sidecar("web", {8080})));
  auto none_db = with_db.forProxy(sidecar("web", {8080}));
  REQUIRE(redirect_db);
  REQUIRE(none_db);
  CHECK(version(*redirect_db, res::kListenerTypeUrl, "outbound") !=
        version(*redirect_after, res::kListenerTypeUrl, "outbound"));
  CHECK(version(*none_db, res::kListenerTypeUrl, "outbound") == version(*none_after, res::kListenerTypeUrl, "outbound"));
}

TEST_CASE("a proxy whose service does not exist is warned about and still served", "[cp][mesh]") {
  MeshSnapshots snapshots(std::make_shared<const MeshState>(smallMesh()), nullptr);
  auto built = snapshots.forProxy(sidecar("ghost", {7000}));
  REQUIRE(built);
  REQUIRE(built->warnings.size() == 1);
  CHECK_THAT(built->warnings[0], Catch::Contains("'default/ghost'"));
  CHECK(built->snapshot->find(res::kClusterTypeUrl, "inbound|7000") != nullptr);
}

}  // namespace remora::cp::mesh
