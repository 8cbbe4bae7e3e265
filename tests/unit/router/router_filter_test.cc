// RouterFilter on a real loop: a RouteTable built from a model
// RouteConfiguration, a ClusterManager whose cluster points at a loopback
// backend, and a fake DownstreamStream that records what the router did to
// the client side. Every test ends with every handle closed.
#include "proxy/router/router_filter.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/upstream/strict_loop_fixture.h"
#include "tests/unit/upstream/loopback_backend.h"
#include "tests/unit/upstream/test_counters.h"

using namespace std::chrono_literals;
using remora::base::Error;
using remora::testing::StrictLoopFixture;
using remora::testing::LoopbackBackend;
using remora::testing::MetricSink;
namespace http = remora::http;
namespace net = remora::net;
namespace router = remora::router;
namespace upstream = remora::upstream;
namespace model = remora::xds::resources;

namespace {

// Records every call the router makes on the client's side of the stream.
class FakeDownstream : public http::manager::DownstreamStream {
 public:
  FakeDownstream(net::Dispatcher& dispatcher, http::Protocol protocol = http::Protocol::kHttp11)
      : dispatcher_(dispatcher), protocol_(protocol) {
    remote_ = *net::Address::fromIpPort("127.0.0.1", 40000);
  }
  void encodeHeaders(http::HeaderMapPtr h, bool end_stream) override {
    started = true;
    headers = std::move(h);
    if (end_stream) ended = true;
  }
  void encodeData(net::Buffer& data, bool end_stream) override {
    body += data.toString();
    data.clear();
    if (end_stream) ended = true;
  }
  void encodeTrailers(http::HeaderMapPtr t) override {
    trailers = std::move(t);
    ended = true;
  }
  void encodeInformational(const http::HeaderMap&) override { ++informational; }
  void sendLocalReply(uint32_t status, Error reason, std::string_view detail) override {
    local_status = status;
    local_reason = reason;
    local_detail = std::string(detail);
    ended = true;
  }
  void resetDownstream(Error reason, std::string_view detail) override {
    reset_reason = reason;
    ended = true;
  }
  void readDisableDownstream(bool disable) override { read_disables.push_back(disable); }
  bool responseStarted() const override { return started; }
  http::Protocol protocol() const override { return protocol_; }
  const net::Address& remoteAddress() const override { return remote_; }
  net::Dispatcher& dispatcher() override { return dispatcher_; }

  uint32_t status() const { return headers ? headers->status() : 0; }

  bool started = false;
  bool ended = false;
  http::HeaderMapPtr headers;
  std::string body;
  http::HeaderMapPtr trailers;
  int informational = 0;
  std::optional<uint32_t> local_status;
  std::optional<Error> local_reason;
  std::string local_detail;
  std::optional<Error> reset_reason;
  std::vector<bool> read_disables;

 private:
  net::Dispatcher& dispatcher_;
  http::Protocol protocol_;
  net::Address remote_;
};

model::Route clusterRoute(std::string name, std::string prefix, std::string cluster,
                          std::chrono::milliseconds timeout = 15000ms) {
  model::Route route;
  route.name = std::move(name);
  route.match.path_kind = model::RouteMatch::PathKind::kPrefix;
  route.match.path = std::move(prefix);
  model::RouteAction action;
  action.cluster = std::move(cluster);
  action.timeout = timeout;
  route.action = action;
  return route;
}

// Routes for example.com: /slow (50 ms timeout) and / go to "backend",
// /ghost names a cluster that does not exist.
model::RouteConfiguration routeConfig() {
  model::RouteConfiguration config;
  config.name = "test-routes";
  model::VirtualHost vhost;
  vhost.name = "example";
  vhost.domains = {"example.com"};
  vhost.routes.push_back(clusterRoute("slow", "/slow", "backend", 50ms));
  vhost.routes.push_back(clusterRoute("ghost", "/ghost", "ghost"));
  vhost.routes.push_back(clusterRoute("default", "/", "backend"));
  config.virtual_hosts.push_back(vhost);
  return config;
}

std::shared_ptr<const model::Cluster> clusterConfig(const net::Address& backend, uint32_t max_requests = 1024) {
  auto cluster = std::make_shared<model::Cluster>();
  cluster->name = "backend";
  model::Endpoint endpoint;
  endpoint.address.address = backend.ip();
  endpoint.address.port = backend.port();
  cluster->endpoints.push_back(endpoint);
  cluster->circuit_breakers.max_requests = max_requests;
  return cluster;
}

http::HeaderMapPtr request(std::string_view path, std::string_view authority = "example.com",
                           std::string_view method = "GET") {
  auto h = std::make_unique<http::HeaderMap>();
  h->add(":method", method);
  h->add(":scheme", "http");
  h->add(":authority", authority);
  h->add(":path", path);
  return h;
}

// The router's world: routes, clusters (metrics enabled) and the factory.
struct RouterRig {
  RouterRig(net::Dispatcher& dispatcher, const net::Address& backend, uint32_t max_requests = 1024)
      : clusters(dispatcher, [this](const std::string&) { return counters; }) {
    auto table = router::RouteTable::build(routeConfig());
    REQUIRE(table);
    routes = *table;
    clusters.update({clusterConfig(backend, max_requests)});
    factory = std::make_unique<router::RouterFilterFactory>(routes, clusters, random, router_counters, false, false);
  }
  std::unique_ptr<http::manager::StreamHandler> handler(FakeDownstream& downstream) {
    return factory->createHandler(downstream);
  }
  upstream::Cluster& cluster() { return *clusters.get("backend"); }

  MetricSink sink;
  upstream::PoolCounters counters = sink.poolCounters();
  std::shared_ptr<const router::RouteTable> routes;
  upstream::ClusterManager clusters;
  router::Random random{42};
  router::RouterCounters router_counters;
  std::unique_ptr<router::RouterFilterFactory> factory;
};

}  // namespace

TEST_CASE_METHOD(StrictLoopFixture, "the router sends a request to its route's cluster and relays the response",
                 "[router][filter]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  std::string seen_path, seen_authority;
  backend.on_request = [&](LoopbackBackend::Exchange& e) {
    seen_path = std::string(e.headers->path());
    seen_authority = std::string(e.headers->authority());
  };
  backend.response_body = "hello from backend";
  RouterRig rig(dispatcher(), backend.address());
  FakeDownstream downstream(dispatcher());
  auto filter = rig.handler(downstream);

  filter->onRequestHeaders(request("/api/items?x=1"), true);
  REQUIRE(runUntil([&] { return downstream.ended; }));
  CHECK_FALSE(downstream.local_status.has_value());
  CHECK(downstream.status() == 200);
  CHECK(downstream.body == "hello from backend");
  CHECK(seen_path == "/api/items?x=1");
  CHECK(seen_authority == "example.com");
  CHECK(rig.counters.streams_total.value() == 1);
  CHECK(rig.cluster().activeRequests() == 0);
  filter.reset();
}

TEST_CASE_METHOD(StrictLoopFixture, "a request that matches no route gets 404 no_route", "[router][filter]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  RouterRig rig(dispatcher(), backend.address());
  FakeDownstream downstream(dispatcher());
  auto filter = rig.handler(downstream);

  filter->onRequestHeaders(request("/", "other.test"), true);
  REQUIRE(downstream.local_status.has_value());
  CHECK(*downstream.local_status == 404);
  CHECK(*downstream.local_reason == Error::kNoRoute);
  CHECK_THAT(downstream.local_detail, Catch::Contains("other.test"));
  runFor(10ms);
  CHECK(backend.accepted() == 0);
}

TEST_CASE_METHOD(StrictLoopFixture, "a route naming a missing cluster gets 503 no_cluster", "[router][filter]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  RouterRig rig(dispatcher(), backend.address());
  FakeDownstream downstream(dispatcher());
  auto filter = rig.handler(downstream);

  filter->onRequestHeaders(request("/ghost/x"), true);
  REQUIRE(downstream.local_status.has_value());
  CHECK(*downstream.local_status == 503);
  CHECK(*downstream.local_reason == Error::kNoCluster);
  CHECK_THAT(downstream.local_detail, Catch::Contains("ghost"));
  runFor(10ms);
  CHECK(backend.accepted() == 0);
}

TEST_CASE_METHOD(StrictLoopFixture, "a request over the cluster's max_requests gets 503 overflow", "[router][filter]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  backend.mode = LoopbackBackend::Mode::kHold;
  RouterRig rig(dispatcher(), backend.address(), /*max_requests=*/1);
  FakeDownstream first_client(dispatcher()), second_client(dispatcher());
  auto first = rig.handler(first_client);
  auto second = rig.handler(second_client);

  first->onRequestHeaders(request("/one"), true);
  REQUIRE(runUntil([&] { return backend.held() == 1; }));
  second->onRequestHeaders(request("/two"), true);
  REQUIRE(second_client.local_status.has_value());
  CHECK(*second_client.local_status == 503);
  CHECK(*second_client.local_reason == Error::kOverflow);
  CHECK(rig.counters.overflows.value() == 1);

  // The request within the limit is unaffected, and its end frees the slot.
  backend.respondAll();
  REQUIRE(runUntil([&] { return first_client.ended; }));
  CHECK(first_client.status() == 200);
  CHECK(rig.cluster().activeRequests() == 0);
  backend.mode = LoopbackBackend::Mode::kRespond;
  FakeDownstream third_client(dispatcher());
  auto third = rig.handler(third_client);
  third->onRequestHeaders(request("/three"), true);
  REQUIRE(runUntil([&] { return third_client.ended; }));
  CHECK(third_client.status() == 200);
}

TEST_CASE_METHOD(StrictLoopFixture, "an upstream slower than the route timeout gets 504 route_timeout", "[router][filter]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  backend.mode = LoopbackBackend::Mode::kHold;
  RouterRig rig(dispatcher(), backend.address());
  FakeDownstream downstream(dispatcher());
  auto filter = rig.handler(downstream);

  refreshClock();  // the route timer is armed from the loop's clock
  const auto start = std::chrono::steady_clock::now();
  filter->onRequestHeaders(request("/slow"), true);
  REQUIRE(runUntil([&] { return downstream.ended; }, 3s));
  REQUIRE(downstream.local_status.has_value());
  CHECK(*downstream.local_status == 504);
  CHECK(*downstream.local_reason == Error::kRouteTimeout);
  CHECK(std::chrono::steady_clock::now() - start >= 45ms);
  CHECK(rig.counters.route_timeouts.value() == 1);
  CHECK(backend.requests() == 1);
  // The abandoned HTTP/1 exchange cannot be reused: its connection goes.
  REQUIRE(runUntil([&] { return backend.openSessions() == 0; }, 2s));
  CHECK(rig.cluster().activeRequests() == 0);
}

TEST_CASE_METHOD(StrictLoopFixture, "an upstream reset before the response gets 502 upstream_reset", "[router][filter]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  backend.mode = LoopbackBackend::Mode::kCloseOnRequest;
  RouterRig rig(dispatcher(), backend.address());
  FakeDownstream downstream(dispatcher());
  auto filter = rig.handler(downstream);

  filter->onRequestHeaders(request("/"), true);
  REQUIRE(runUntil([&] { return downstream.ended; }));
  REQUIRE(downstream.local_status.has_value());
  CHECK(*downstream.local_status == 502);
  CHECK(*downstream.local_reason == Error::kUpstreamReset);
  CHECK(rig.counters.resets_before_response.value() == 1);
  CHECK(rig.cluster().activeRequests() == 0);
}

// Also guards TcpConnection: a deferred flush that takes every byte must
// still report "below", or the watermark's pause here is never undone.
TEST_CASE_METHOD(StrictLoopFixture, "a body over the pending limit while connecting pauses the client until the upstream is ready",
                 "[router][filter]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  size_t received = 0;
  backend.on_request = [&](LoopbackBackend::Exchange& e) { received = e.body.size(); };
  RouterRig rig(dispatcher(), backend.address());
  FakeDownstream downstream(dispatcher());
  auto filter = rig.handler(downstream);

  filter->onRequestHeaders(request("/upload", "example.com", "POST"), false);
  // No loop iteration has run: the upstream connection is still connecting.
  net::Buffer small(std::string(512 * 1024, 'a'));
  filter->onRequestData(small, false);
  CHECK(downstream.read_disables.empty());
  net::Buffer big(std::string(600 * 1024, 'b'));
  filter->onRequestData(big, false);
  REQUIRE(downstream.read_disables.size() == 1);
  CHECK(downstream.read_disables[0] == true);

  // Resumed once the buffered body went upstream. Pausing nests: writing the
  // buffered megabyte may itself push the upstream connection over its
  // watermark (another pause, undone when it drains), so wait for balance.
  auto balanced = [&] {
    int depth = 0;
    for (bool d : downstream.read_disables) depth += d ? 1 : -1;
    return depth == 0;
  };
  const bool resumed = runUntil(balanced, 3s);
  std::string calls;
  for (bool d : downstream.read_disables) calls += d ? "T" : "F";
  INFO("readDisableDownstream calls (T pause, F resume): " << calls);
  REQUIRE(resumed);
  CHECK(downstream.read_disables.size() >= 2);
  CHECK(downstream.read_disables.back() == false);
  net::Buffer tail("end");
  filter->onRequestData(tail, true);
  REQUIRE(runUntil([&] { return downstream.ended; }));
  CHECK(downstream.status() == 200);
  CHECK(received == 512 * 1024 + 600 * 1024 + 3);
}
