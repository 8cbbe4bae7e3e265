// AdsMux: the client side of one Aggregated Discovery Service stream, as a
// state machine with no I/O. Per type URL it tracks what we subscribe to, the
// version we accepted, the last nonce, and the last rejection; it turns each
// response into the next request (an ACK, or a NACK with error_detail) and a
// change of subscribed names into a new request. State of the world (SotW)
// and incremental (delta) variants follow the xDS protocol:
//   SotW ACK:   version_info = the response's version, response_nonce = its nonce
//   SotW NACK:  version_info = the last accepted version, response_nonce = the
//               response's nonce, error_detail = why
//   delta:      response_nonce (+ error_detail on NACK); per-resource versions
//               are remembered and sent back as initial_resource_versions on
//               a new stream, so the server can skip what we already have.
// The node goes in the first request of each stream only.
//
// The transport (the proxy's gRPC stream) feeds responses in and sends what
// takeRequests() returns; the watcher (the proxy's config cache) decides what a
// response means and may change subscriptions from inside onUpdate.
//
// Main thread only (or any single thread); not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "envoy/config/core/v3/base.pb.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "xds/base/status.h"

namespace remora::xds::client {

using DiscoveryRequest = envoy::service::discovery::v3::DiscoveryRequest;
using DiscoveryResponse = envoy::service::discovery::v3::DiscoveryResponse;
using DeltaDiscoveryRequest = envoy::service::discovery::v3::DeltaDiscoveryRequest;
using DeltaDiscoveryResponse = envoy::service::discovery::v3::DeltaDiscoveryResponse;

// One resource of a response. In SotW the name is not on the wire outside the
// resource itself, so it is empty and the watcher reads it from the body.
struct ResourceUpdate {
  std::string name;
  std::string version;  // delta only: the resource's own version
  const google::protobuf::Any* body = nullptr;
};

class SubscriptionWatcher {
 public:
  virtual ~SubscriptionWatcher() = default;
  // A response for `type_url`. SotW: `updated` is every resource the server
  // sent (for Listener and Cluster, the complete set: anything absent is gone;
  // for the named types, only what changed may be sent) and `removed` is empty.
  // Delta: `updated` and `removed` are the changes. A failure NACKs the whole
  // response and keeps the last accepted state: the watcher must apply all of
  // it or nothing.
  virtual base::Status onUpdate(std::string_view type_url, const std::vector<ResourceUpdate>& updated,
                                const std::vector<std::string>& removed, bool state_of_the_world,
                                std::string_view version) = 0;
};

// Per type URL, for /config_dump and metrics.
struct TypeState {
  std::string type_url;
  bool wildcard = false;             // all resources of the type (Listener, Cluster)
  std::set<std::string> names;       // what we subscribe to when not wildcard
  std::string accepted_version;      // SotW version_info / delta system_version_info
  std::string nonce;                 // of the last response received
  std::optional<std::string> last_error;  // the last NACK's error_detail, cleared by an accept
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  // Delta: the version of every resource we hold.
  std::map<std::string, std::string> resource_versions;
};

class AdsMux {
 public:
  enum class Mode { kStateOfTheWorld, kDelta };
  using Request = std::variant<DiscoveryRequest, DeltaDiscoveryRequest>;

  AdsMux(Mode mode, envoy::config::core::v3::Node node, SubscriptionWatcher& watcher);

  // Adds a type to the stream. Types are requested in the order they were
  // added (clusters and endpoints before listeners and routes, as xDS asks), on
  // every new stream. `wildcard` asks for every resource of the type.
  void watch(std::string_view type_url, bool wildcard, std::set<std::string> names = {});
  // Changes the names of a non-wildcard type; queues a request when they differ.
  void setNames(std::string_view type_url, std::set<std::string> names);

  // A new stream is up: queues the initial request of every watched type.
  void onStreamStarted();
  // The stream ended: requests not yet sent are dropped (the next stream
  // starts afresh); accepted state is kept.
  void onStreamClosed();

  // A response arrived; true when it was accepted (ACK queued), false when it
  // was NACKed. Malformed ones (unknown type URL) are NACKed too.
  bool onResponse(const DiscoveryResponse& response);
  bool onDeltaResponse(const DeltaDiscoveryResponse& response);

  // Requests to send, in order; empties the queue.
  std::vector<Request> takeRequests();
  bool hasRequests() const { return !queue_.empty(); }

  Mode mode() const { return mode_; }
  const TypeState* state(std::string_view type_url) const;
  const std::vector<TypeState>& states() const { return types_; }

 private:
  TypeState* find(std::string_view type_url);
  void queueInitial(TypeState& type);
  void queueSotw(const TypeState& type, std::string_view version, std::string_view nonce,
                 const std::optional<std::string>& error);
  void queueDelta(TypeState& type, std::vector<std::string> subscribe, std::vector<std::string> unsubscribe,
                  std::string_view nonce, const std::optional<std::string>& error, bool initial);
  void attachNode(DiscoveryRequest& request);
  void attachNode(DeltaDiscoveryRequest& request);

  Mode mode_;
  envoy::config::core::v3::Node node_;
  SubscriptionWatcher& watcher_;
  std::vector<TypeState> types_;
  std::vector<Request> queue_;
  bool stream_open_ = false;
  bool node_sent_ = false;
};

}  // namespace remora::xds::client
