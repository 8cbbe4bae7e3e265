#include "proxy/config/xds_cache.h"

#include <google/protobuf/util/json_util.h>

#include <catch2/catch.hpp>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "tests/support/pki/test_pki.h"

using remora::base::Error;
using remora::base::Status;
using remora::config::Snapshot;
using remora::config::XdsCache;
using remora::xds::client::AdsMux;
using remora::xds::client::ResourceUpdate;
using remora::xds::client::SubscriptionWatcher;
namespace res = remora::xds::resources;

namespace {

constexpr std::string_view kCds = res::kClusterTypeUrl;
constexpr std::string_view kEds = res::kClusterLoadAssignmentTypeUrl;
constexpr std::string_view kLds = res::kListenerTypeUrl;
constexpr std::string_view kRds = res::kRouteConfigurationTypeUrl;

template <typename Message>
google::protobuf::Any pack(const std::string& json) {
  Message m;
  auto s = google::protobuf::util::JsonStringToMessage(json, &m);
  INFO(json);
  REQUIRE(s.ok());
  google::protobuf::Any any;
  any.PackFrom(m);
  return any;
}

google::protobuf::Any cluster(const std::string& name, int timeout_s = 1) {
  return pack<envoy::config::cluster::v3::Cluster>(
      R"({"name":")" + name + R"(","type":"EDS","connectTimeout":")" + std::to_string(timeout_s) +
      R"(s","edsClusterConfig":{"edsConfig":{"ads":{}}}})");
}

google::protobuf::Any endpoints(const std::string& name, const std::vector<int>& ports) {
  std::string eps;
  for (int p : ports) {
    if (!eps.empty()) eps += ",";
    eps += R"({"endpoint":{"address":{"socketAddress":{"address":"127.0.0.1","portValue":)" + std::to_string(p) +
           "}}}}";
  }
  return pack<envoy::config::endpoint::v3::ClusterLoadAssignment>(R"({"clusterName":")" + name +
                                                                  R"(","endpoints":[{"lbEndpoints":[)" + eps + "]}]}");
}

google::protobuf::Any listener(const std::string& name, int port, const std::string& rds) {
  // Referenced so the linker keeps the types the typed_configs name.
  (void)envoy::extensions::filters::http::router::v3::Router::descriptor();
  (void)envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager::descriptor();
  return pack<envoy::config::listener::v3::Listener>(
      R"({"name":")" + name + R"(","address":{"socketAddress":{"address":"127.0.0.1","portValue":)" +
      std::to_string(port) +
      R"(}},"filterChains":[{"filters":[{"name":"hcm","typedConfig":{"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager","statPrefix":"in","rds":{"configSource":{"ads":{}},"routeConfigName":")" +
      rds +
      R"("},"httpFilters":[{"name":"router","typedConfig":{"@type":"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]})");
}

google::protobuf::Any routes(const std::string& name, const std::string& cluster) {
  return pack<envoy::config::route::v3::RouteConfiguration>(
      R"({"name":")" + name + R"(","virtualHosts":[{"name":"all","domains":["*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":")" +
      cluster + R"("}}]}]})");
}

std::vector<ResourceUpdate> sotw(const std::vector<google::protobuf::Any>& anys) {
  std::vector<ResourceUpdate> out;
  for (const auto& a : anys) out.push_back({"", "", &a});
  return out;
}

// A cache over a bootstrap with ADS for LDS and CDS, publishing into `published`.
struct Fixture {
  Fixture() {
    auto b = std::make_shared<res::Bootstrap>();
    b->node.id = "n";
    b->dynamic = res::DynamicResources{};
    b->dynamic->ads_cluster = "xds";
    b->dynamic->lds = true;
    b->dynamic->cds = true;
    bootstrap = b;
    auto initial = std::make_shared<Snapshot>();
    initial->bootstrap = bootstrap;
    cache = std::make_unique<XdsCache>(
        bootstrap, initial,
        [this](std::shared_ptr<const Snapshot> s) -> Status {
          if (!refuse.empty()) return remora::base::fail(Error::kIo, refuse);
          published.push_back(s);
          return {};
        },
        [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1000)); }, tls);
    mux = std::make_unique<AdsMux>(AdsMux::Mode::kStateOfTheWorld, envoy::config::core::v3::Node{}, *cache);
    cache->attach(*mux);
    mux->onStreamStarted();
    mux->takeRequests();
  }
  Status update(std::string_view type, const std::vector<google::protobuf::Any>& anys, std::string version = "1") {
    return cache->onUpdate(type, sotw(anys), {}, true, version);
  }
  const Snapshot& last() const { return *published.back(); }

  std::shared_ptr<const res::Bootstrap> bootstrap;
  remora::config::TlsRegistry tls;  // before the cache, which refers to it
  std::unique_ptr<XdsCache> cache;
  std::unique_ptr<AdsMux> mux;
  std::vector<std::shared_ptr<const Snapshot>> published;
  std::string refuse;
};

}  // namespace

TEST_CASE("an EDS cluster serves the endpoints of its assignment once it arrives", "[config][xds]") {
  Fixture f;
  CHECK_FALSE(f.cache->initialized());
  CHECK_THAT(f.cache->waitingFor(), Catch::Contains("no Cluster (CDS) response"));
  REQUIRE(f.update(kCds, {cluster("backend")}));
  REQUIRE(f.last().clusters.size() == 1);
  CHECK(f.last().clusters[0]->endpoints.empty());
  CHECK_THAT(f.cache->waitingFor(), Catch::Contains("no Listener (LDS) response"));
  // The EDS subscription followed the cluster.
  REQUIRE(f.mux->state(kEds) != nullptr);
  CHECK(f.mux->state(kEds)->names == std::set<std::string>{"backend"});

  REQUIRE(f.update(kEds, {endpoints("backend", {8080, 8081})}));
  REQUIRE(f.last().clusters.size() == 1);
  CHECK(f.last().clusters[0]->endpoints.size() == 2);
}

TEST_CASE("a listener waits for its routes, and the proxy is initialized once everything arrived", "[config][xds]") {
  Fixture f;
  REQUIRE(f.update(kCds, {cluster("backend")}));
  REQUIRE(f.update(kEds, {endpoints("backend", {8080})}));
  REQUIRE(f.update(kLds, {listener("in", 0, "r1")}));
  CHECK(f.last().listeners.empty());
  CHECK(f.cache->warmingListeners() == std::set<std::string>{"in"});
  CHECK_FALSE(f.cache->initialized());
  CHECK_THAT(f.cache->waitingFor(), Catch::Contains("listener 'in' waits for its routes"));
  CHECK(f.mux->state(kRds)->names == std::set<std::string>{"r1"});

  REQUIRE(f.update(kRds, {routes("r1", "backend")}));
  REQUIRE(f.last().listeners.size() == 1);
  CHECK(f.last().listeners[0].route_tables.size() == 1);
  CHECK(f.last().listeners[0].route_tables[0] != nullptr);
  CHECK(f.cache->initialized());
  CHECK(f.cache->waitingFor().empty());
}

TEST_CASE("a running listener keeps serving while its new routes warm", "[config][xds]") {
  Fixture f;
  REQUIRE(f.update(kLds, {listener("in", 0, "r1")}));
  REQUIRE(f.update(kRds, {routes("r1", "a")}));
  const auto running = f.last().listeners.at(0).config;
  // The listener now names routes that have not arrived.
  REQUIRE(f.update(kLds, {listener("in", 0, "r2")}, "2"));
  REQUIRE(f.last().listeners.size() == 1);
  CHECK(f.last().listeners[0].config == running);
  CHECK(f.cache->warmingListeners().count("in") == 1);
}

TEST_CASE("a SotW cluster response is the complete set: clusters not in it are removed", "[config][xds]") {
  Fixture f;
  REQUIRE(f.update(kCds, {cluster("a"), cluster("b")}));
  CHECK(f.last().clusters.size() == 2);
  REQUIRE(f.update(kCds, {cluster("b")}, "2"));
  REQUIRE(f.last().clusters.size() == 1);
  CHECK(f.last().clusters[0]->name == "b");
  CHECK(f.mux->state(kEds)->names == std::set<std::string>{"b"});
}

TEST_CASE("a resource that did not change keeps the same object across updates", "[config][xds]") {
  Fixture f;
  REQUIRE(f.update(kCds, {cluster("a"), cluster("b")}));
  REQUIRE(f.update(kEds, {endpoints("a", {1}), endpoints("b", {2})}));
  const auto before = f.last().clusters;
  REQUIRE(f.update(kCds, {cluster("a"), cluster("b", 2)}, "2"));
  const auto after = f.last().clusters;
  REQUIRE(after.size() == 2);
  CHECK(after[0] == before[0]);  // "a": same object, its pools stay
  CHECK(after[1] != before[1]);  // "b": replaced
  CHECK(after[1]->connect_timeout == std::chrono::seconds(2));
}

TEST_CASE("an update that fails anywhere is refused whole and changes nothing", "[config][xds]") {
  Fixture f;
  REQUIRE(f.update(kCds, {cluster("a")}));
  REQUIRE(f.update(kRds, {routes("r", "a")}));
  const size_t published = f.published.size();

  SECTION("a malformed resource, named in the error") {
    auto s = f.update(kCds, {cluster("a"), cluster("b", -1)}, "2");
    REQUIRE_FALSE(s);
    CHECK_THAT(s.message(), Catch::Contains("Cluster 'b'"));
    CHECK_THAT(s.message(), Catch::Contains("connect_timeout"));
  }
  SECTION("the same name twice") {
    auto s = f.update(kCds, {cluster("a"), cluster("a")}, "2");
    REQUIRE_FALSE(s);
    CHECK_THAT(s.message(), Catch::Contains("Cluster 'a' appears twice"));
  }
  SECTION("the proxy cannot apply it (a listener port in use)") {
    f.refuse = "listener 'x': bind 127.0.0.1:80: address already in use";
    auto s = f.update(kCds, {cluster("c")}, "2");
    REQUIRE_FALSE(s);
    CHECK_THAT(s.message(), Catch::Contains("address already in use"));
  }
  SECTION("two listeners on one port") {
    auto s = f.update(kLds, {listener("one", 15001, "r"), listener("two", 15001, "r")});
    REQUIRE_FALSE(s);
    CHECK_THAT(s.message(), Catch::Contains("already used by listener 'one'"));
  }
  CHECK(f.published.size() == published);
  CHECK(f.cache->entries(res::ResourceType::kCluster).size() == 1);
  CHECK(f.cache->entries(res::ResourceType::kCluster).count("a") == 1);
  CHECK(f.cache->entries(res::ResourceType::kListener).empty());
}

TEST_CASE("delta updates add and remove resources by name", "[config][xds]") {
  Fixture f;
  auto a = cluster("a");
  auto b = cluster("b");
  REQUIRE(f.cache->onUpdate(kCds, {{"a", "va", &a}, {"b", "vb", &b}}, {}, false, "s1"));
  CHECK(f.last().clusters.size() == 2);
  CHECK(f.cache->entries(res::ResourceType::kCluster).at("a").version == "va");
  REQUIRE(f.cache->onUpdate(kCds, {}, {"a"}, false, "s2"));
  REQUIRE(f.last().clusters.size() == 1);
  CHECK(f.last().clusters[0]->name == "b");
  // A name that does not match the resource inside is refused.
  auto s = f.cache->onUpdate(kCds, {{"c", "v", &a}}, {}, false, "s3");
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("names must match"));
}

namespace {

// A cluster that originates mTLS with the workload certificate and verifies
// its peer against the ROOTCA secret (what remora-cp sends).
google::protobuf::Any meshCluster(const std::string& name) {
  (void)envoy::extensions::transport_sockets::tls::v3::UpstreamTlsContext::descriptor();
  return pack<envoy::config::cluster::v3::Cluster>(
      R"({"name":")" + name + R"(","type":"EDS","connectTimeout":"1s","edsClusterConfig":{"edsConfig":{"ads":{}}},
          "transportSocket":{"name":"envoy.transport_sockets.tls","typedConfig":{
            "@type":"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
            "commonTlsContext":{
              "tlsCertificateSdsSecretConfigs":[{"name":"default","sdsConfig":{"ads":{}}}],
              "combinedValidationContext":{
                "defaultValidationContext":{"matchTypedSubjectAltNames":[{"sanType":"URI","matcher":{"exact":"spiffe://cluster.local/ns/a/sa/b"}}]},
                "validationContextSdsSecretConfig":{"name":"ROOTCA","sdsConfig":{"ads":{}}}}}}}})");
}

google::protobuf::Any rootSecret(const std::string& name, const std::string& pem) {
  envoy::extensions::transport_sockets::tls::v3::Secret secret;
  secret.set_name(name);
  secret.mutable_validation_context()->mutable_trusted_ca()->set_inline_string(pem);
  google::protobuf::Any any;
  any.PackFrom(secret);
  return any;
}

}  // namespace

TEST_CASE("secrets a cluster names are subscribed over ADS and fill its TLS context when they arrive",
          "[config][xds][tls]") {
  Fixture f;
  const auto root = remora::testing::pki::makeRoot("mesh");
  const auto workload = remora::testing::pki::issue(root, "spiffe://cluster.local/ns/a/sa/me");
  REQUIRE(f.tls.setSecret("default", {workload.certificate_chain_pem, workload.private_key_pem, ""}));
  auto c = meshCluster("reviews");
  REQUIRE(f.update(kLds, {}));
  REQUIRE(f.update(kCds, {c}));
  REQUIRE(f.update(kEds, {endpoints("reviews", {9080})}));
  REQUIRE(f.last().cluster_tls.count("reviews") == 1);
  const auto& settings = *f.last().cluster_tls.at("reviews");
  CHECK(settings.validation.exact == std::vector<std::string>{"spiffe://cluster.local/ns/a/sa/b"});
  // Only ROOTCA goes over the wire: "default" is the proxy's own.
  const auto* secrets = f.mux->state(res::kSecretTypeUrl);
  REQUIRE(secrets != nullptr);
  CHECK(secrets->names == std::set<std::string>{"ROOTCA"});
  CHECK(settings.slot->current() == nullptr);
  CHECK_THAT(f.cache->waitingFor(), Catch::Contains("ROOTCA"));

  REQUIRE(f.update(res::kSecretTypeUrl, {rootSecret("ROOTCA", root.certificate_pem)}));
  auto context = settings.slot->current();
  REQUIRE(context != nullptr);
  CHECK(context->identity() == "spiffe://cluster.local/ns/a/sa/me");
  CHECK(f.cache->waitingFor().find("ROOTCA") == std::string::npos);

  SECTION("a rotated bundle swaps the context in place, keeping the snapshot's settings") {
    const auto next_root = remora::testing::pki::makeRoot("next");
    REQUIRE(f.update(res::kSecretTypeUrl, {rootSecret("ROOTCA", root.certificate_pem + next_root.certificate_pem)}, "2"));
    CHECK(settings.slot->current() != context);
    CHECK(f.last().cluster_tls.at("reviews").get() == &settings);
  }
  SECTION("a secret named like the workload certificate is refused") {
    auto s = f.update(res::kSecretTypeUrl, {rootSecret("default", root.certificate_pem)}, "2");
    REQUIRE_FALSE(s);
    CHECK_THAT(s.message(), Catch::Contains("never received over xDS"));
  }
  SECTION("a bundle that is not PEM is refused and the old one stays") {
    auto s = f.update(res::kSecretTypeUrl, {rootSecret("ROOTCA", "not a certificate")}, "2");
    REQUIRE_FALSE(s);
    CHECK(settings.slot->current() == context);
  }
}
