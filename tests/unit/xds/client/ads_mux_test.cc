#include "xds/client/ads_mux.h"

#include <catch2/catch.hpp>
#include <functional>

using remora::base::Error;
using remora::base::Status;
using remora::xds::client::AdsMux;
using remora::xds::client::DeltaDiscoveryRequest;
using remora::xds::client::DeltaDiscoveryResponse;
using remora::xds::client::DiscoveryRequest;
using remora::xds::client::DiscoveryResponse;
using remora::xds::client::ResourceUpdate;
using remora::xds::client::SubscriptionWatcher;

namespace {

constexpr const char* kCds = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
constexpr const char* kEds = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
constexpr const char* kLds = "type.googleapis.com/envoy.config.listener.v3.Listener";

struct Call {
  std::string type_url;
  size_t updated = 0;
  std::vector<std::string> names;  // delta names
  std::vector<std::string> removed;
  bool sotw = false;
  std::string version;
};

class RecordingWatcher : public SubscriptionWatcher {
 public:
  Status onUpdate(std::string_view type_url, const std::vector<ResourceUpdate>& updated,
                  const std::vector<std::string>& removed, bool sotw, std::string_view version) override {
    Call c{std::string(type_url), updated.size(), {}, removed, sotw, std::string(version)};
    for (const auto& u : updated) c.names.push_back(u.name);
    calls.push_back(c);
    if (hook) hook(type_url);
    if (!reject.empty()) return remora::base::fail(Error::kInvalidArgument, reject);
    return {};
  }
  std::vector<Call> calls;
  std::string reject;  // non-empty: the next updates fail with this
  std::function<void(std::string_view)> hook;
};

envoy::config::core::v3::Node node() {
  envoy::config::core::v3::Node n;
  n.set_id("sidecar-1");
  n.set_cluster("reviews");
  return n;
}

DiscoveryResponse sotwResponse(const char* type, const char* version, const char* nonce, int resources = 1) {
  DiscoveryResponse r;
  r.set_type_url(type);
  r.set_version_info(version);
  r.set_nonce(nonce);
  for (int i = 0; i < resources; ++i) r.add_resources()->set_type_url(type);
  return r;
}

DiscoveryRequest sotw(const AdsMux::Request& r) { return std::get<DiscoveryRequest>(r); }
DeltaDiscoveryRequest delta(const AdsMux::Request& r) { return std::get<DeltaDiscoveryRequest>(r); }

}  // namespace

TEST_CASE("a new SotW stream requests every watched type in order, with the node only in the first", "[xds][client]") {
  RecordingWatcher w;
  AdsMux mux(AdsMux::Mode::kStateOfTheWorld, node(), w);
  mux.watch(kCds, true);
  mux.watch(kEds, false, {"reviews"});
  mux.watch(kLds, true);
  mux.onStreamStarted();
  auto out = mux.takeRequests();
  REQUIRE(out.size() == 3);
  CHECK(sotw(out[0]).type_url() == kCds);
  CHECK(sotw(out[0]).node().id() == "sidecar-1");
  CHECK(sotw(out[0]).resource_names_size() == 0);
  CHECK(sotw(out[1]).type_url() == kEds);
  CHECK_FALSE(sotw(out[1]).has_node());
  REQUIRE(sotw(out[1]).resource_names_size() == 1);
  CHECK(sotw(out[1]).resource_names(0) == "reviews");
  CHECK(sotw(out[2]).type_url() == kLds);
  CHECK(sotw(out[2]).version_info().empty());
  CHECK(sotw(out[2]).response_nonce().empty());
  CHECK_FALSE(mux.hasRequests());
}

TEST_CASE("an accepted SotW response is ACKed with its version and nonce", "[xds][client]") {
  RecordingWatcher w;
  AdsMux mux(AdsMux::Mode::kStateOfTheWorld, node(), w);
  mux.watch(kCds, true);
  mux.onStreamStarted();
  mux.takeRequests();
  CHECK(mux.onResponse(sotwResponse(kCds, "v1", "n1", 2)));
  REQUIRE(w.calls.size() == 1);
  CHECK(w.calls[0].updated == 2);
  CHECK(w.calls[0].sotw);
  CHECK(w.calls[0].version == "v1");
  auto out = mux.takeRequests();
  REQUIRE(out.size() == 1);
  CHECK(sotw(out[0]).version_info() == "v1");
  CHECK(sotw(out[0]).response_nonce() == "n1");
  CHECK_FALSE(sotw(out[0]).has_error_detail());
  CHECK(mux.state(kCds)->accepted_version == "v1");
  CHECK(mux.state(kCds)->accepted == 1);
}

TEST_CASE("a rejected SotW response is NACKed with the last good version and the error, then a good one is ACKed",
          "[xds][client]") {
  RecordingWatcher w;
  AdsMux mux(AdsMux::Mode::kStateOfTheWorld, node(), w);
  mux.watch(kCds, true);
  mux.onStreamStarted();
  mux.takeRequests();
  mux.onResponse(sotwResponse(kCds, "v1", "n1"));
  mux.takeRequests();

  w.reject = "Cluster 'a': connect_timeout: must be positive";
  CHECK_FALSE(mux.onResponse(sotwResponse(kCds, "v2", "n2")));
  auto nack = mux.takeRequests();
  REQUIRE(nack.size() == 1);
  CHECK(sotw(nack[0]).version_info() == "v1");
  CHECK(sotw(nack[0]).response_nonce() == "n2");
  REQUIRE(sotw(nack[0]).has_error_detail());
  CHECK(sotw(nack[0]).error_detail().code() == 3);
  CHECK(sotw(nack[0]).error_detail().message() == "Cluster 'a': connect_timeout: must be positive");
  CHECK(mux.state(kCds)->accepted_version == "v1");
  CHECK(mux.state(kCds)->rejected == 1);
  CHECK(mux.state(kCds)->last_error == w.reject);

  w.reject.clear();
  mux.onResponse(sotwResponse(kCds, "v3", "n3"));
  auto ack = mux.takeRequests();
  REQUIRE(ack.size() == 1);
  CHECK(sotw(ack[0]).version_info() == "v3");
  CHECK(sotw(ack[0]).response_nonce() == "n3");
  CHECK_FALSE(sotw(ack[0]).has_error_detail());
  CHECK_FALSE(mux.state(kCds)->last_error.has_value());
}

TEST_CASE("a SotW response carrying a resource of another type is NACKed without calling the watcher",
          "[xds][client]") {
  RecordingWatcher w;
  AdsMux mux(AdsMux::Mode::kStateOfTheWorld, node(), w);
  mux.watch(kCds, true);
  mux.onStreamStarted();
  mux.takeRequests();
  auto r = sotwResponse(kCds, "v1", "n1");
  r.add_resources()->set_type_url(kLds);
  mux.onResponse(r);
  CHECK(w.calls.empty());
  auto out = mux.takeRequests();
  REQUIRE(out.size() == 1);
  CHECK(sotw(out[0]).has_error_detail());
  CHECK_THAT(sotw(out[0]).error_detail().message(), Catch::Contains("envoy.config.listener.v3.Listener"));
}

TEST_CASE("a response for a type never subscribed to is NACKed and changes nothing", "[xds][client]") {
  RecordingWatcher w;
  AdsMux mux(AdsMux::Mode::kStateOfTheWorld, node(), w);
  mux.watch(kCds, true);
  mux.onStreamStarted();
  mux.takeRequests();
  CHECK_FALSE(mux.onResponse(sotwResponse(kLds, "v1", "n1")));
  CHECK(w.calls.empty());
  auto out = mux.takeRequests();
  REQUIRE(out.size() == 1);
  CHECK(sotw(out[0]).type_url() == kLds);
  CHECK_THAT(sotw(out[0]).error_detail().message(), Catch::Contains("not subscribed"));
}

TEST_CASE("names changed inside an update are requested after that update's ACK", "[xds][client]") {
  RecordingWatcher w;
  AdsMux mux(AdsMux::Mode::kStateOfTheWorld, node(), w);
  mux.watch(kCds, true);
  mux.watch(kEds, false);
  w.hook = [&](std::string_view type) {
    if (type == kCds) mux.setNames(kEds, {"a", "b"});
  };
  mux.onStreamStarted();
  mux.takeRequests();
  mux.onResponse(sotwResponse(kCds, "v1", "n1"));
  auto out = mux.takeRequests();
  REQUIRE(out.size() == 2);
  CHECK(sotw(out[0]).type_url() == kCds);
  CHECK(sotw(out[0]).response_nonce() == "n1");
  CHECK(sotw(out[1]).type_url() == kEds);
  CHECK(sotw(out[1]).resource_names_size() == 2);

  // The same names again ask for nothing.
  mux.setNames(kEds, {"a", "b"});
  CHECK_FALSE(mux.hasRequests());
}

TEST_CASE("a reconnect re-sends the accepted versions with fresh nonces and the node again", "[xds][client]") {
  RecordingWatcher w;
  AdsMux mux(AdsMux::Mode::kStateOfTheWorld, node(), w);
  mux.watch(kCds, true);
  mux.onStreamStarted();
  mux.takeRequests();
  mux.onResponse(sotwResponse(kCds, "v7", "n1"));
  mux.onStreamClosed();
  CHECK_FALSE(mux.hasRequests());
  mux.onStreamStarted();
  auto out = mux.takeRequests();
  REQUIRE(out.size() == 1);
  CHECK(sotw(out[0]).version_info() == "v7");
  CHECK(sotw(out[0]).response_nonce().empty());
  CHECK(sotw(out[0]).node().id() == "sidecar-1");
}

TEST_CASE("delta: initial subscriptions, ACK, NACK, and resource versions resent on reconnect", "[xds][client]") {
  RecordingWatcher w;
  AdsMux mux(AdsMux::Mode::kDelta, node(), w);
  mux.watch(kCds, true);
  mux.watch(kEds, false, {"a"});
  mux.onStreamStarted();
  auto first = mux.takeRequests();
  REQUIRE(first.size() == 2);
  CHECK(delta(first[0]).node().id() == "sidecar-1");
  CHECK(delta(first[0]).resource_names_subscribe_size() == 0);
  REQUIRE(delta(first[1]).resource_names_subscribe_size() == 1);
  CHECK(delta(first[1]).resource_names_subscribe(0) == "a");

  DeltaDiscoveryResponse r;
  r.set_type_url(kCds);
  r.set_system_version_info("s1");
  r.set_nonce("d1");
  for (const char* n : {"x", "y"}) {
    auto* res = r.add_resources();
    res->set_name(n);
    res->set_version(std::string("ver-") + n);
    res->mutable_resource()->set_type_url(kCds);
  }
  mux.onDeltaResponse(r);
  REQUIRE(w.calls.size() == 1);
  CHECK_FALSE(w.calls[0].sotw);
  CHECK(w.calls[0].names == std::vector<std::string>{"x", "y"});
  auto ack = mux.takeRequests();
  REQUIRE(ack.size() == 1);
  CHECK(delta(ack[0]).response_nonce() == "d1");
  CHECK_FALSE(delta(ack[0]).has_error_detail());

  // A removal, rejected: versions stay as they were.
  DeltaDiscoveryResponse removal;
  removal.set_type_url(kCds);
  removal.set_nonce("d2");
  removal.add_removed_resources("x");
  w.reject = "no";
  CHECK_FALSE(mux.onDeltaResponse(removal));
  auto nack = mux.takeRequests();
  REQUIRE(nack.size() == 1);
  CHECK(delta(nack[0]).response_nonce() == "d2");
  CHECK(delta(nack[0]).error_detail().message() == "no");
  CHECK(mux.state(kCds)->resource_versions.size() == 2);

  // Accepted this time.
  w.reject.clear();
  removal.set_nonce("d3");
  CHECK(mux.onDeltaResponse(removal));
  CHECK(w.calls.back().removed == std::vector<std::string>{"x"});
  CHECK(mux.state(kCds)->resource_versions.count("x") == 0);
  mux.takeRequests();

  mux.onStreamClosed();
  mux.onStreamStarted();
  auto again = mux.takeRequests();
  REQUIRE(again.size() == 2);
  const DeltaDiscoveryRequest resumed = delta(again[0]);
  const auto& initial = resumed.initial_resource_versions();
  REQUIRE(initial.size() == 1);
  CHECK(initial.at("y") == "ver-y");
}

TEST_CASE("delta: a resource without a name or body is NACKed", "[xds][client]") {
  RecordingWatcher w;
  AdsMux mux(AdsMux::Mode::kDelta, node(), w);
  mux.watch(kCds, true);
  mux.onStreamStarted();
  mux.takeRequests();
  DeltaDiscoveryResponse r;
  r.set_type_url(kCds);
  r.set_nonce("d1");
  r.add_resources()->set_name("bodiless");
  mux.onDeltaResponse(r);
  CHECK(w.calls.empty());
  auto out = mux.takeRequests();
  REQUIRE(out.size() == 1);
  CHECK_THAT(delta(out[0]).error_detail().message(), Catch::Contains("'bodiless' has no body"));
}

TEST_CASE("delta: changing names subscribes and unsubscribes the difference", "[xds][client]") {
  RecordingWatcher w;
  AdsMux mux(AdsMux::Mode::kDelta, node(), w);
  mux.watch(kEds, false, {"a", "b"});
  mux.onStreamStarted();
  mux.takeRequests();
  mux.setNames(kEds, {"b", "c"});
  auto out = mux.takeRequests();
  REQUIRE(out.size() == 1);
  REQUIRE(delta(out[0]).resource_names_subscribe_size() == 1);
  CHECK(delta(out[0]).resource_names_subscribe(0) == "c");
  REQUIRE(delta(out[0]).resource_names_unsubscribe_size() == 1);
  CHECK(delta(out[0]).resource_names_unsubscribe(0) == "a");
}
