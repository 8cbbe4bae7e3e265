#include "control-plane/main/sidecar_endpoints.h"

#include <catch2/catch.hpp>

#include "control-plane/mesh/validation.h"

namespace remora::cp {
namespace {

using namespace std::chrono_literals;
using TimePoint = SidecarEndpoints::TimePoint;

mesh::ProxyIdentity reviewsPod(const std::string& ip) {
  mesh::ProxyIdentity id;
  id.service = "reviews";
  id.pod_ip = ip;
  id.app_ports = {9080, 15090};
  id.zone = "eu-a";
  id.labels = {{"version", "v2"}};
  return id;
}

mesh::MeshState meshWithReviews() {
  mesh::MeshState state;
  auto service = mesh::parseObject(
      R"({"kind":"Service","metadata":{"name":"reviews"},"spec":{"ports":[{"name":"http","port":80,"targetPort":9080},{"name":"admin","port":81,"targetPort":9999}]}})");
  REQUIRE(service);
  state.put(std::move(*service));
  return state;
}

}  // namespace

TEST_CASE("a connected sidecar is an endpoint of its service on the ports its service targets", "[cp]") {
  SidecarEndpoints sidecars(10s);
  CHECK(sidecars.connected("pod-1", reviewsPod("10.0.0.7")));
  mesh::MeshState state = meshWithReviews();
  sidecars.addTo(state);
  REQUIRE(state.endpoints().size() == 1);  // 9080 is a target port, 15090 is not
  const auto& endpoint = state.endpoints().begin()->second;
  CHECK(endpoint.spec().service() == "reviews");
  CHECK(endpoint.spec().address() == "10.0.0.7");
  CHECK(endpoint.spec().port() == 9080);
  CHECK(endpoint.spec().port_name() == "http");
  CHECK(endpoint.spec().locality().zone() == "eu-a");
  CHECK(endpoint.spec().labels().at("version") == "v2");
}

TEST_CASE("a sidecar of a service that does not exist adds nothing until it does", "[cp]") {
  SidecarEndpoints sidecars(10s);
  mesh::ProxyIdentity id = reviewsPod("10.0.0.7");
  id.service = "ratings";
  sidecars.connected("pod-1", id);
  mesh::MeshState state = meshWithReviews();
  sidecars.addTo(state);
  CHECK(state.endpoints().empty());
  CHECK(sidecars.size() == 1);
}

TEST_CASE("a client that serves nothing registers nothing", "[cp]") {
  SidecarEndpoints sidecars(10s);
  mesh::ProxyIdentity client;
  client.service = "reviews";  // no pod IP, no app ports
  CHECK_FALSE(sidecars.connected("client", client));
  CHECK(sidecars.size() == 0);
}

TEST_CASE("a sidecar stays an endpoint for the grace period after its last stream closes", "[cp]") {
  SidecarEndpoints sidecars(10s);
  const TimePoint t0{};
  CHECK(sidecars.connected("pod-1", reviewsPod("10.0.0.7")));
  CHECK_FALSE(sidecars.connected("pod-1", reviewsPod("10.0.0.7")));  // a second stream, same identity
  CHECK_FALSE(sidecars.nextExpiry());  // connected: nothing to expire
  sidecars.disconnected("pod-1", t0 + 1s);
  REQUIRE(sidecars.nextExpiry());
  CHECK(*sidecars.nextExpiry() == t0 + 11s);
  CHECK(sidecars.expire(t0 + 10s).empty());
  CHECK(sidecars.size() == 1);
  CHECK(sidecars.expire(t0 + 11s) == std::vector<std::string>{"pod-1"});
  CHECK(sidecars.size() == 0);
}

TEST_CASE("a sidecar that reconnects within the grace period is kept", "[cp]") {
  SidecarEndpoints sidecars(10s);
  const TimePoint t0{};
  sidecars.connected("pod-1", reviewsPod("10.0.0.7"));
  sidecars.disconnected("pod-1", t0);
  CHECK_FALSE(sidecars.connected("pod-1", reviewsPod("10.0.0.7")));
  CHECK(sidecars.expire(t0 + 1h).empty());
  CHECK(sidecars.size() == 1);
  // A new pod IP under the same node id is a change.
  CHECK(sidecars.connected("pod-1", reviewsPod("10.0.0.8")));
}

TEST_CASE("a sidecar that says goodbye is withdrawn at once, with no grace period", "[cp]") {
  SidecarEndpoints sidecars(10s);
  sidecars.connected("pod-1", reviewsPod("10.0.0.7"));
  sidecars.connected("pod-2", reviewsPod("10.0.0.8"));
  CHECK(sidecars.left("pod-1"));
  CHECK(sidecars.size() == 1);
  CHECK_FALSE(sidecars.nextExpiry());
  CHECK_FALSE(sidecars.left("pod-1"));  // already gone
}
}  // namespace remora::cp
