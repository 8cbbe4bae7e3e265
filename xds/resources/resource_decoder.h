// One xDS resource as it arrives on the wire (a google.protobuf.Any in a
// DiscoveryResponse, or a delta Resource) -> a validated model value. The
// proxy's ADS client calls decodeResource for every resource of a response on
// the main thread, and the control plane can call it to check what it is about
// to send; pure, any thread.
//
// Errors name the resource and then the field, so one NACK's error_detail
// tells an operator exactly what to fix:
//   "Listener 'outbound_15001': filter_chains[0].filters[0].typed_config...: why"
// Checks that span resources (does a route's cluster exist?) are not made
// here: resources of other types arrive separately; the snapshot builder does them.
#pragma once

#include <google/protobuf/any.pb.h>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

enum class ResourceType { kListener, kRouteConfiguration, kCluster, kClusterLoadAssignment, kSecret };

inline constexpr std::string_view kListenerTypeUrl = "type.googleapis.com/envoy.config.listener.v3.Listener";
inline constexpr std::string_view kRouteConfigurationTypeUrl =
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
inline constexpr std::string_view kClusterTypeUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
inline constexpr std::string_view kClusterLoadAssignmentTypeUrl =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
inline constexpr std::string_view kSecretTypeUrl =
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

// The type URL a DiscoveryRequest subscribes with.
std::string_view typeUrlOf(ResourceType type);

// The type a type URL names, or nullopt for a type remora-proxy does not know.
std::optional<ResourceType> resourceTypeOf(std::string_view type_url);

// "Listener", "RouteConfiguration", "Cluster", "ClusterLoadAssignment",
// "Secret": for messages, metric labels and /config_dump.
std::string_view shortTypeName(ResourceType type);

// A resource remora-proxy accepts but has no use for (e.g. an API listener for
// gRPC's proxyless clients, sent to every wildcard subscriber by some
// servers). It is reported, not applied, and does not fail the update.
struct Skipped {
  std::string reason;
  bool operator==(const Skipped&) const = default;
};

struct DecodedResource {
  std::string name;  // the resource's xDS name (cluster_name for an assignment)
  std::variant<Skipped, Listener, RouteConfiguration, Cluster, ClusterLoadAssignment, Secret> value;
};

// Unpacks `any` (its type_url must be typeUrlOf(type)), converts and validates
// it. Fails with kInvalidArgument (malformed, wrong type, empty name) or
// kUnsupported (a field remora-proxy does not implement). Fields unknown to our
// protos are ignored, as protobuf keeps them aside (except inside RBAC rules,
// see rbac_converter.h). A Secret decodes to the model's Secret.
base::Result<DecodedResource> decodeResource(ResourceType type, const google::protobuf::Any& any);

}  // namespace remora::xds::resources
