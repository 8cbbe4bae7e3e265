#include "xds/server/delta_stream_session.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/server/session_fixtures.h"

using namespace remora::xds::server;
using namespace remora::xds::server::test;

namespace {

DeltaDiscoveryRequest request(std::string_view type, std::vector<std::string> subscribe = {},
                              std::vector<std::string> unsubscribe = {}, std::string nonce = "",
                              bool with_node = false) {
  DeltaDiscoveryRequest r;
  r.set_type_url(std::string(type));
  for (auto& n : subscribe) r.add_resource_names_subscribe(n);
  for (auto& n : unsubscribe) r.add_resource_names_unsubscribe(n);
  r.set_response_nonce(nonce);
  if (with_node) r.mutable_node()->set_id("sidecar-1");
  return r;
}

std::vector<DeltaDiscoveryResponse> send(DeltaStreamSession& s, const DeltaDiscoveryRequest& r) {
  auto out = s.onRequest(r);
  REQUIRE(out);
  return *out;
}

std::vector<std::string> names(const DeltaDiscoveryResponse& r) {
  std::vector<std::string> out;
  for (const auto& res : r.resources()) out.push_back(res.name());
  return out;
}

std::vector<std::string> removed(const DeltaDiscoveryResponse& r) {
  return {r.removed_resources().begin(), r.removed_resources().end()};
}

}  // namespace

TEST_CASE("a delta wildcard subscription gets every resource with its own version", "[xds][server]") {
  DeltaStreamSession s(systemClock());
  auto snap = snapshot("v1", {cluster("a"), cluster("b")});
  s.onSnapshot(snap);
  auto out = send(s, request(kClusterType, {}, {}, "", true));
  REQUIRE(out.size() == 1);
  CHECK(names(out[0]) == std::vector<std::string>{"a", "b"});
  CHECK(out[0].resources(0).version() == snap->find(kClusterType, "a")->version);
  CHECK(out[0].system_version_info() == "v1");
  CHECK(s.status().delta);
}

TEST_CASE("a delta wildcard type with no resources is still answered once", "[xds][server]") {
  DeltaStreamSession s(systemClock());
  s.onSnapshot(snapshot("v1", {cluster("a")}));
  auto out = send(s, request(kListenerType, {}, {}, "", true));
  REQUIRE(out.size() == 1);
  CHECK(out[0].resources_size() == 0);
  CHECK(send(s, request(kListenerType, {}, {}, out[0].nonce())).empty());
}

TEST_CASE("delta sends only changed resources and names the removed ones", "[xds][server]") {
  DeltaStreamSession s(systemClock());
  s.onSnapshot(snapshot("v1", {cluster("a"), cluster("b"), cluster("c")}));
  auto first = send(s, request(kClusterType, {}, {}, "", true));
  send(s, request(kClusterType, {}, {}, first[0].nonce()));
  CHECK(s.status().types.at(std::string(kClusterType)).version_acked == "v1");
  auto out = s.onSnapshot(snapshot("v2", {cluster("a"), cluster("b", 9)}));
  REQUIRE(out.size() == 1);
  CHECK(names(out[0]) == std::vector<std::string>{"b"});
  CHECK(removed(out[0]) == std::vector<std::string>{"c"});
  // Nothing changed for clusters: no push.
  CHECK(s.onSnapshot(snapshot("v3", {cluster("a"), cluster("b", 9), listener("l")})).empty());
}

TEST_CASE("initial_resource_versions spare a reconnecting client what it already has", "[xds][server]") {
  auto snap = snapshot("v1", {cluster("a"), cluster("b")});
  DeltaStreamSession s(systemClock());
  s.onSnapshot(snap);
  auto r = request(kClusterType, {}, {}, "", true);
  (*r.mutable_initial_resource_versions())["a"] = snap->find(kClusterType, "a")->version;
  (*r.mutable_initial_resource_versions())["b"] = "old";
  (*r.mutable_initial_resource_versions())["gone"] = "old";
  auto out = send(s, r);
  REQUIRE(out.size() == 1);
  CHECK(names(out[0]) == std::vector<std::string>{"b"});
  CHECK(removed(out[0]) == std::vector<std::string>{"gone"});
}

TEST_CASE("delta named subscriptions follow subscribe and unsubscribe", "[xds][server]") {
  DeltaStreamSession s(systemClock());
  s.onSnapshot(snapshot("v1", {endpoints("a", 1), endpoints("b", 1)}));
  auto out = send(s, request(kEndpointType, {"a"}, {}, "", true));
  REQUIRE(out.size() == 1);
  CHECK(names(out[0]) == std::vector<std::string>{"a"});
  auto more = send(s, request(kEndpointType, {"b"}));
  REQUIRE(more.size() == 1);
  CHECK(names(more[0]) == std::vector<std::string>{"b"});
  // Unsubscribed: no removal is sent, and later changes to it are not pushed.
  CHECK(send(s, request(kEndpointType, {}, {"a"})).empty());
  CHECK(s.onSnapshot(snapshot("v2", {endpoints("a", 2), endpoints("b", 1)})).empty());
  // A name that does not exist yet is sent once it appears.
  CHECK(send(s, request(kEndpointType, {"z"})).empty());
  auto z = s.onSnapshot(snapshot("v3", {endpoints("a", 2), endpoints("b", 1), endpoints("z", 1)}));
  REQUIRE(z.size() == 1);
  CHECK(names(z[0]) == std::vector<std::string>{"z"});
}

TEST_CASE("a delta NACK is recorded, stale nonces are ignored and the rejected version is not re-sent",
          "[xds][server]") {
  DeltaStreamSession s(systemClock());
  s.onSnapshot(snapshot("v1", {cluster("a")}));
  auto first = send(s, request(kClusterType, {}, {}, "", true));
  auto bad = s.onSnapshot(snapshot("v2", {cluster("a", -1)}));
  REQUIRE(bad.size() == 1);
  // An ACK of the first response, arriving late: stale.
  CHECK(send(s, request(kClusterType, {}, {}, first[0].nonce())).empty());
  CHECK(s.status().types.at(std::string(kClusterType)).acks == 0);
  auto nack = request(kClusterType, {}, {}, bad[0].nonce());
  nack.mutable_error_detail()->set_message("connect_timeout: must not be negative");
  CHECK(send(s, nack).empty());
  const TypeStatus& t = s.status().types.at(std::string(kClusterType));
  REQUIRE(t.last_nack);
  CHECK(t.last_nack->version == "v2");
  CHECK(t.last_nack->error == "connect_timeout: must not be negative");
  CHECK(s.onSnapshot(snapshot("v3", {cluster("a", -1)})).empty());
  auto fixed = s.onSnapshot(snapshot("v4", {cluster("a", 4)}));
  REQUIRE(fixed.size() == 1);
}
