#include "xds/server/stream_session.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/server/session_fixtures.h"

using namespace remora::xds::server;
using namespace remora::xds::server::test;

namespace {

DiscoveryRequest request(std::string_view type, std::vector<std::string> names = {}, std::string version = "",
                         std::string nonce = "", bool with_node = false) {
  DiscoveryRequest r;
  r.set_type_url(std::string(type));
  for (auto& n : names) r.add_resource_names(n);
  r.set_version_info(version);
  r.set_response_nonce(nonce);
  if (with_node) {
    r.mutable_node()->set_id("sidecar-1");
    r.mutable_node()->set_cluster("reviews");
  }
  return r;
}

std::vector<DiscoveryResponse> send(StreamSession& s, const DiscoveryRequest& r) {
  auto out = s.onRequest(r);
  REQUIRE(out);
  return *out;
}

std::vector<std::string> names(const DiscoveryResponse& r) {
  std::vector<std::string> out;
  for (const auto& any : r.resources()) out.push_back(resourceName(any).value());
  return out;
}

}  // namespace

TEST_CASE("a stream whose first request has no node is refused", "[xds][server]") {
  StreamSession s(systemClock());
  auto out = s.onRequest(request(kClusterType));
  REQUIRE(!out);
  CHECK(out.error().code == remora::base::Error::kInvalidArgument);
}

TEST_CASE("an initial wildcard CDS request gets every cluster, once the snapshot is known", "[xds][server]") {
  FakeClock clock;
  StreamSession s(clock.clock());
  CHECK(send(s, request(kClusterType, {}, "", "", true)).empty());
  CHECK(s.nodeId() == "sidecar-1");
  auto out = s.onSnapshot(snapshot("v1", {cluster("a"), cluster("b"), endpoints("a", 80)}));
  REQUIRE(out.size() == 1);
  CHECK(out[0].type_url() == kClusterType);
  CHECK(out[0].version_info() == "v1");
  CHECK(names(out[0]) == std::vector<std::string>{"a", "b"});
  CHECK(s.status().types.at(std::string(kClusterType)).version_sent == "v1");
  CHECK(s.status().connected_since == clock.now);
}

TEST_CASE("EDS answers only the subscribed names, and a names change answers again", "[xds][server]") {
  StreamSession s(systemClock());
  s.onSnapshot(snapshot("v1", {endpoints("a", 1), endpoints("b", 2), endpoints("c", 3)}));
  auto out = send(s, request(kEndpointType, {"a"}, "", "", true));
  REQUIRE(out.size() == 1);
  CHECK(names(out[0]) == std::vector<std::string>{"a"});
  // The ACK alone sends nothing.
  CHECK(send(s, request(kEndpointType, {"a"}, "v1", out[0].nonce())).empty());
  CHECK(s.status().types.at(std::string(kEndpointType)).version_acked == "v1");
  // A new name, with the same nonce, is answered with the new set.
  auto more = send(s, request(kEndpointType, {"a", "c"}, "v1", out[0].nonce()));
  REQUIRE(more.size() == 1);
  CHECK(names(more[0]) == std::vector<std::string>{"a", "c"});
  CHECK(s.status().types.at(std::string(kEndpointType)).acks == 1);
}

TEST_CASE("a request with a stale nonce is ignored", "[xds][server]") {
  StreamSession s(systemClock());
  s.onSnapshot(snapshot("v1", {cluster("a")}));
  auto first = send(s, request(kClusterType, {}, "", "", true));
  REQUIRE(first.size() == 1);
  auto second = s.onSnapshot(snapshot("v2", {cluster("a", 2)}));
  REQUIRE(second.size() == 1);
  // The client ACKs the first response after the second was sent: stale.
  CHECK(send(s, request(kClusterType, {}, "v1", first[0].nonce())).empty());
  CHECK(s.status().types.at(std::string(kClusterType)).acks == 0);
  CHECK(send(s, request(kClusterType, {}, "v2", second[0].nonce())).empty());
  CHECK(s.status().types.at(std::string(kClusterType)).version_acked == "v2");
}

TEST_CASE("a NACK is recorded and the rejected content is not sent again", "[xds][server]") {
  FakeClock clock;
  StreamSession s(clock.clock());
  s.onSnapshot(snapshot("v1", {cluster("a")}));
  auto first = send(s, request(kClusterType, {}, "", "", true));
  send(s, request(kClusterType, {}, "v1", first[0].nonce()));
  auto bad = s.onSnapshot(snapshot("v2", {cluster("a", -1)}));
  REQUIRE(bad.size() == 1);
  clock.now += std::chrono::seconds(5);
  auto nack = request(kClusterType, {}, "v1", bad[0].nonce());
  nack.mutable_error_detail()->set_code(3);
  nack.mutable_error_detail()->set_message("Cluster 'a': connect_timeout: must not be negative");
  CHECK(send(s, nack).empty());
  const TypeStatus& t = s.status().types.at(std::string(kClusterType));
  REQUIRE(t.last_nack);
  CHECK(t.last_nack->version == "v2");
  CHECK(t.last_nack->nonce == bad[0].nonce());
  CHECK_THAT(t.last_nack->error, Catch::Contains("connect_timeout"));
  CHECK(t.last_nack->time == clock.now);
  CHECK(t.version_acked == "v1");
  // The same content under another snapshot version (e.g. an unrelated type
  // changed) is still not re-sent; a fix is.
  CHECK(s.onSnapshot(snapshot("v3", {cluster("a", -1), listener("l")})).empty());
  auto fixed = s.onSnapshot(snapshot("v4", {cluster("a", 3)}));
  REQUIRE(fixed.size() == 1);
  CHECK(fixed[0].version_info() == "v4");
}

TEST_CASE("a snapshot change pushes only the types whose content changed", "[xds][server]") {
  StreamSession s(systemClock());
  s.onSnapshot(snapshot("v1", {cluster("a"), listener("l"), endpoints("a", 1), endpoints("b", 1)}));
  auto c = send(s, request(kClusterType, {}, "", "", true));
  auto l = send(s, request(kListenerType, {"*"}));
  auto e = send(s, request(kEndpointType, {"a"}));
  REQUIRE(c.size() == 1);
  REQUIRE(l.size() == 1);
  REQUIRE(e.size() == 1);
  // Endpoints of "b" change: this proxy does not watch them.
  CHECK(s.onSnapshot(snapshot("v2", {cluster("a"), listener("l"), endpoints("a", 1), endpoints("b", 2)})).empty());
  // Endpoints of "a" change: only EDS is pushed.
  auto out = s.onSnapshot(snapshot("v3", {cluster("a"), listener("l"), endpoints("a", 2), endpoints("b", 2)}));
  REQUIRE(out.size() == 1);
  CHECK(out[0].type_url() == kEndpointType);
  CHECK(out[0].version_info() == "v3");
  // A cluster removed: CDS is pushed with the remaining set (empty).
  auto removed = s.onSnapshot(snapshot("v4", {listener("l"), endpoints("a", 2)}));
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].type_url() == kClusterType);
  CHECK(removed[0].resources_size() == 0);
}

TEST_CASE("nonces are unique across the types of a stream", "[xds][server]") {
  StreamSession s(systemClock());
  s.onSnapshot(snapshot("v1", {cluster("a"), listener("l")}));
  auto c = send(s, request(kClusterType, {}, "", "", true));
  auto l = send(s, request(kListenerType));
  REQUIRE(c.size() == 1);
  REQUIRE(l.size() == 1);
  CHECK(c[0].nonce() != l[0].nonce());
}

TEST_CASE("an EDS push carries only the assignments that changed, while CDS carries every cluster", "[xds][server]") {
  StreamSession s(systemClock());
  s.onSnapshot(snapshot("v1", {cluster("a"), cluster("b"), endpoints("a", 1), endpoints("b", 2)}));
  auto cds = send(s, request(kClusterType, {}, "", "", true));
  auto eds = send(s, request(kEndpointType, {"a", "b"}, "", ""));
  REQUIRE(cds.size() == 1);
  REQUIRE(eds.size() == 1);
  send(s, request(kClusterType, {}, "v1", cds[0].nonce()));
  send(s, request(kEndpointType, {"a", "b"}, "v1", eds[0].nonce()));

  auto pushed = s.onSnapshot(snapshot("v2", {cluster("a"), cluster("b", 7), endpoints("a", 1), endpoints("b", 9)}));
  REQUIRE(pushed.size() == 2);
  for (const auto& response : pushed) {
    INFO(response.type_url());
    if (response.type_url() == kClusterType) CHECK(names(response) == std::vector<std::string>{"a", "b"});
    if (response.type_url() == kEndpointType) CHECK(names(response) == std::vector<std::string>{"b"});
  }
}

TEST_CASE("after an EDS NACK the next push carries every subscribed assignment again", "[xds][server]") {
  StreamSession s(systemClock());
  s.onSnapshot(snapshot("v1", {endpoints("a", 1), endpoints("b", 2)}));
  auto first = send(s, request(kEndpointType, {"a", "b"}, "", "", true));
  REQUIRE(first.size() == 1);
  send(s, request(kEndpointType, {"a", "b"}, "v1", first[0].nonce()));
  auto second = s.onSnapshot(snapshot("v2", {endpoints("a", 1), endpoints("b", 3)}));
  REQUIRE(second.size() == 1);
  CHECK(names(second[0]) == std::vector<std::string>{"b"});
  DiscoveryRequest nack = request(kEndpointType, {"a", "b"}, "v1", second[0].nonce());
  nack.mutable_error_detail()->set_message("b: bad port");
  CHECK(send(s, nack).empty());
  auto third = s.onSnapshot(snapshot("v3", {endpoints("a", 1), endpoints("b", 4)}));
  REQUIRE(third.size() == 1);
  CHECK(names(third[0]) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a new stream that claims the snapshot's version of a wildcard type is ACKED without a resend",
          "[xds][server][resume]") {
  StreamSession s(systemClock());
  s.onSnapshot(snapshot("v1", {cluster("a"), listener("l"), endpoints("a", 1)}));
  // A proxy that got v1 from another replica reconnects here.
  CHECK(send(s, request(kClusterType, {}, "v1", "", true)).empty());
  CHECK(send(s, request(kListenerType, {}, "v1")).empty());
  const TypeStatus& cds = s.status().types.at(std::string(kClusterType));
  CHECK(cds.version_sent == "v1");
  CHECK(cds.version_acked == "v1");
  CHECK(cds.responses == 0);
  // The next change is sent as usual, and only the changed type.
  auto out = s.onSnapshot(snapshot("v2", {cluster("a"), cluster("b"), listener("l"), endpoints("a", 1)}));
  REQUIRE(out.size() == 1);
  CHECK(out[0].type_url() == kClusterType);
  CHECK(out[0].version_info() == "v2");
  CHECK(names(out[0]) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a resuming request is honoured when the snapshot arrives after it", "[xds][server][resume]") {
  StreamSession s(systemClock());
  CHECK(send(s, request(kClusterType, {}, "v1", "", true)).empty());
  CHECK(s.onSnapshot(snapshot("v1", {cluster("a")})).empty());
  CHECK(s.status().types.at(std::string(kClusterType)).version_acked == "v1");
}

TEST_CASE("a new stream that claims another version gets the content", "[xds][server][resume]") {
  StreamSession s(systemClock());
  s.onSnapshot(snapshot("v2", {cluster("a"), cluster("b")}));
  auto out = send(s, request(kClusterType, {}, "v1", "", true));
  REQUIRE(out.size() == 1);
  CHECK(out[0].version_info() == "v2");
  CHECK(names(out[0]) == std::vector<std::string>{"a", "b"});
  // The claim only counts for the stream's first answer: the snapshot going
  // back to v1 later is a change the client has not seen on this stream.
  auto back = s.onSnapshot(snapshot("v1", {cluster("a")}));
  REQUIRE(back.size() == 1);
  CHECK(names(back[0]) == std::vector<std::string>{"a"});
}

TEST_CASE("a by-name type is sent again on a new stream even when its version matches", "[xds][server][resume]") {
  // An EDS version does not say which names the client got: it may have
  // subscribed to one after its last response.
  StreamSession s(systemClock());
  s.onSnapshot(snapshot("v1", {cluster("a"), endpoints("a", 1), endpoints("b", 1)}));
  auto out = send(s, request(kEndpointType, {"a", "b"}, "v1", "", true));
  REQUIRE(out.size() == 1);
  CHECK(names(out[0]) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("an explicitly named Cluster subscription is not resumed", "[xds][server][resume]") {
  StreamSession s(systemClock());
  s.onSnapshot(snapshot("v1", {cluster("a"), cluster("b")}));
  auto out = send(s, request(kClusterType, {"a"}, "v1", "", true));
  REQUIRE(out.size() == 1);
  CHECK(names(out[0]) == std::vector<std::string>{"a"});
}
