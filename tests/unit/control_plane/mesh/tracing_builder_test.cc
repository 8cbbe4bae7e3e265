// remora-cp's tracing settings, checked end to end: mesh objects ->
// buildForProxy -> the proxy's own converters (decodeResource, and the
// cluster-reference check every snapshot goes through).
#include "control-plane/mesh/tracing_builder.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "control-plane/mesh/snapshot_builder.h"
#include "control-plane/mesh/validation.h"
#include "xds/resources/bootstrap_converter.h"
#include "xds/resources/resource_decoder.h"

namespace remora::cp::mesh {
namespace {

namespace res = xds::resources;

void applyObject(MeshState& state, const std::string& json) {
  auto parsed = parseObject(json, state);
  INFO(json);
  INFO((parsed ? std::string() : parsed.error().message));
  REQUIRE(parsed.has_value());
  state.put(std::move(*parsed));
}

MeshState webMesh() {
  MeshState state;
  applyObject(state, R"({"kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":8080}]}})");
  applyObject(state, R"({"kind":"Service","metadata":{"name":"db"},"spec":{"ports":[{"port":5432,"protocol":"TCP"}]}})");
  applyObject(state, R"({"kind":"Endpoint","metadata":{"name":"web-1"},"spec":{"service":"web","address":"10.0.0.1","port":8080}})");
  return state;
}

ProxyIdentity webSidecar() {
  ProxyIdentity id;
  id.service = "web";
  id.pod_ip = "10.0.0.1";
  id.app_ports = {8080};
  id.api_listeners = false;
  return id;
}

MeshTracing otlp(double percent = 100.0) {
  MeshTracing tracing;
  tracing.enabled = true;
  tracing.format = MeshTracing::Format::kOtlp;
  tracing.host = "10.9.0.1";
  tracing.port = 4318;
  tracing.path = "/v1/traces";
  tracing.sampling_percent = percent;
  return tracing;
}

struct Decoded {
  std::map<std::string, res::Listener> listeners;
  std::vector<res::Cluster> clusters;
};

// Every listener and cluster through the proxy's own validation; then every
// listener's cluster references (the tracing collector's included) checked
// against the clusters, as the proxy does with an xDS snapshot.
Decoded decode(const ProxyResources& out) {
  Decoded decoded;
  for (const google::protobuf::Any& any : out.of(res::kClusterTypeUrl)) {
    auto result = res::decodeResource(res::ResourceType::kCluster, any);
    INFO((result ? std::string() : result.error().message));
    REQUIRE(result.has_value());
    decoded.clusters.push_back(std::get<res::Cluster>(result->value));
  }
  for (const google::protobuf::Any& any : out.of(res::kListenerTypeUrl)) {
    auto result = res::decodeResource(res::ResourceType::kListener, any);
    INFO((result ? std::string() : result.error().message));
    REQUIRE(result.has_value());
    const auto& listener = std::get<res::Listener>(result->value);
    auto references = res::checkClusterReferences(listener, decoded.clusters, listener.name);
    INFO((references ? std::string() : references.message()));
    CHECK(references);
    decoded.listeners.emplace(listener.name, listener);
  }
  return decoded;
}

// The HTTP connection managers of a listener, default chain included.
std::vector<res::HttpConnectionManager> managersOf(const res::Listener& listener) {
  std::vector<res::HttpConnectionManager> out;
  for (const res::FilterChain& chain : listener.filter_chains) {
    if (const auto* hcm = std::get_if<res::HttpConnectionManager>(&chain.filter)) out.push_back(*hcm);
  }
  if (listener.default_filter_chain) {
    if (const auto* hcm = std::get_if<res::HttpConnectionManager>(&listener.default_filter_chain->filter)) {
      out.push_back(*hcm);
    }
  }
  return out;
}

const res::Cluster* findCluster(const Decoded& decoded, std::string_view name) {
  for (const res::Cluster& cluster : decoded.clusters) {
    if (cluster.name == name) return &cluster;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("with an OTLP collector every sidecar HTTP listener traces to the collector cluster", "[cp][mesh]") {
  const Decoded decoded = decode(buildForProxy(webMesh(), webSidecar(), {}, otlp(2.5)));
  REQUIRE(decoded.listeners.count("inbound") == 1);
  REQUIRE(decoded.listeners.count("outbound") == 1);
  CHECK(decoded.listeners.at("inbound").direction == res::Listener::Direction::kInbound);
  CHECK(decoded.listeners.at("outbound").direction == res::Listener::Direction::kOutbound);
  for (const char* name : {"inbound", "outbound"}) {
    INFO(name);
    const auto managers = managersOf(decoded.listeners.at(name));
    REQUIRE_FALSE(managers.empty());
    for (const res::HttpConnectionManager& hcm : managers) {
      REQUIRE(hcm.tracing.has_value());
      CHECK(hcm.tracing->sampling == Approx(0.025));
      const res::TracingProvider& provider = hcm.tracing->provider;
      CHECK(provider.format == res::TracingProvider::Format::kOtlpHttp);
      CHECK(provider.cluster == "remora-tracing-collector");
      CHECK(provider.path == "/v1/traces");
      CHECK(provider.authority == "10.9.0.1:4318");
      CHECK(provider.service_name == "web");
    }
  }
  // The TCP chain of the outbound listener is not HTTP and carries nothing.
  const res::Cluster* collector = findCluster(decoded, "remora-tracing-collector");
  REQUIRE(collector != nullptr);
  CHECK(collector->type == res::Cluster::DiscoveryType::kStatic);
  CHECK(collector->endpoints ==
        std::vector<res::Endpoint>{res::Endpoint{{"10.9.0.1", 4318}, 1, res::HealthStatus::kUnknown}});
}

TEST_CASE("a Zipkin collector on IPv6 is named by its bracketed address and its own path", "[cp][mesh]") {
  MeshTracing zipkin;
  zipkin.enabled = true;
  zipkin.format = MeshTracing::Format::kZipkin;
  zipkin.host = "fd00::9";
  zipkin.port = 9411;
  zipkin.path = "/zipkin/spans";
  const Decoded decoded = decode(buildForProxy(webMesh(), webSidecar(), {}, zipkin));
  for (const char* name : {"inbound", "outbound"}) {
    INFO(name);
    for (const res::HttpConnectionManager& hcm : managersOf(decoded.listeners.at(name))) {
      REQUIRE(hcm.tracing.has_value());
      CHECK(hcm.tracing->sampling == 1.0);
      CHECK(hcm.tracing->provider.format == res::TracingProvider::Format::kZipkinJson);
      CHECK(hcm.tracing->provider.cluster == "remora-tracing-collector");
      CHECK(hcm.tracing->provider.path == "/zipkin/spans");
      CHECK(hcm.tracing->provider.authority == "[fd00::9]:9411");
    }
  }
  const res::Cluster* collector = findCluster(decoded, "remora-tracing-collector");
  REQUIRE(collector != nullptr);
  CHECK(collector->endpoints.at(0).address == res::SocketAddress{"fd00::9", 9411});
}

TEST_CASE("a client-only proxy traces too, its service named by its node", "[cp][mesh]") {
  ProxyIdentity client;
  client.api_listeners = false;
  const Decoded decoded = decode(buildForProxy(webMesh(), client, {}, otlp()));
  CHECK(decoded.listeners.count("inbound") == 0);
  const auto managers = managersOf(decoded.listeners.at("outbound"));
  REQUIRE(managers.size() == 1);
  REQUIRE(managers[0].tracing.has_value());
  CHECK(managers[0].tracing->provider.service_name.empty());
  CHECK(findCluster(decoded, "remora-tracing-collector") != nullptr);
}

TEST_CASE("without a collector the mesh carries no tracing at all", "[cp][mesh]") {
  const ProxyResources plain = buildForProxy(webMesh(), webSidecar());
  const Decoded decoded = decode(plain);
  for (const auto& [name, listener] : decoded.listeners) {
    for (const res::HttpConnectionManager& hcm : managersOf(listener)) CHECK_FALSE(hcm.tracing.has_value());
  }
  CHECK(findCluster(decoded, "remora-tracing-collector") == nullptr);
  // A disabled MeshTracing with a collector set is still nothing.
  MeshTracing off = otlp();
  off.enabled = false;
  const ProxyResources also_plain = buildForProxy(webMesh(), webSidecar(), {}, off);
  for (const auto& [type, bodies] : plain.resources) {
    REQUIRE(also_plain.of(type).size() == bodies.size());
    for (size_t i = 0; i < bodies.size(); ++i) CHECK(also_plain.of(type)[i].value() == bodies[i].value());
  }
}

}  // namespace remora::cp::mesh
