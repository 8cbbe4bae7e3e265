#include "control-plane/mesh/cluster_builder.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "control-plane/mesh/validation.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "xds/resources/cluster_converter.h"

namespace remora::cp::mesh {
namespace {

namespace endpoint = envoy::config::endpoint::v3;

std::string endpointJson(const std::string& name, const std::string& address, const std::string& region,
                         const std::string& zone) {
  return R"({"kind":"Endpoint","metadata":{"name":")" + name + R"("},"spec":{"service":"web","address":")" + address +
         R"(","port":8080,"locality":{"region":")" + region + R"(","zone":")" + zone + R"("}}})";
}

// web: two hosts in eu/a, one in eu/b, one in us/c.
MeshState spreadMesh() {
  MeshState state;
  for (const std::string& json :
       {std::string(R"({"kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":80,"targetPort":8080}]}})"),
        endpointJson("a1", "10.0.0.1", "eu", "a"), endpointJson("a2", "10.0.0.2", "eu", "a"),
        endpointJson("b1", "10.0.1.1", "eu", "b"), endpointJson("c1", "10.0.2.1", "us", "c")}) {
    auto parsed = parseObject(json, state);
    INFO((parsed ? std::string() : parsed.error().message));
    REQUIRE(parsed.has_value());
    state.put(std::move(*parsed));
  }
  return state;
}

// address -> priority, through the proxy's own converter.
std::map<std::string, uint32_t> priorities(const CallerLocality& caller) {
  const MeshState state = spreadMesh();
  std::vector<google::protobuf::Any> assignments;
  buildOutboundAssignments(planServices(state), caller, assignments);
  REQUIRE(assignments.size() == 1);
  endpoint::ClusterLoadAssignment proto;
  REQUIRE(assignments[0].UnpackTo(&proto));
  auto converted = xds::resources::toClusterLoadAssignment(proto);
  REQUIRE(converted.has_value());
  std::map<std::string, uint32_t> out;
  for (const auto& host : converted->endpoints) out[host.address.address] = host.priority;
  return out;
}

}  // namespace

TEST_CASE("endpoints in the caller's zone come first, then its region, then other regions", "[mesh][locality]") {
  const auto ranked = priorities({"eu", "a"});
  CHECK(ranked.at("10.0.0.1") == 0);
  CHECK(ranked.at("10.0.0.2") == 0);
  CHECK(ranked.at("10.0.1.1") == 1);
  CHECK(ranked.at("10.0.2.1") == 2);
  const auto from_b = priorities({"eu", "b"});
  CHECK(from_b.at("10.0.1.1") == 0);
  CHECK(from_b.at("10.0.0.1") == 1);
  CHECK(from_b.at("10.0.2.1") == 2);
}

TEST_CASE("priorities are renumbered without gaps when the caller's zone has no endpoint", "[mesh][locality]") {
  // A caller in eu/z: nothing in its zone, so its region is priority 0.
  const auto ranked = priorities({"eu", "z"});
  CHECK(ranked.at("10.0.0.1") == 0);
  CHECK(ranked.at("10.0.1.1") == 0);
  CHECK(ranked.at("10.0.2.1") == 1);
  // A caller in another region entirely: one priority.
  const auto far = priorities({"ap", "x"});
  for (const auto& [address, priority] : far) CHECK(priority == 0);
}

TEST_CASE("a caller without a locality gets every endpoint at priority 0", "[mesh][locality]") {
  for (const auto& [address, priority] : priorities({})) {
    INFO(address);
    CHECK(priority == 0);
  }
}

}  // namespace remora::cp::mesh
