#include "xds/resources/resource_decoder.h"

#include <string>
#include <utility>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"
#include "xds/resources/cluster_converter.h"
#include "xds/resources/field_path.h"
#include "xds/resources/listener_converter.h"
#include "xds/resources/route_converter.h"
#include "xds/resources/tls_converter.h"

namespace remora::xds::resources {

using base::Result;

namespace {

// "<Type> '<name>': <converter message>", keeping the converter's error code.
base::Failure named(ResourceType type, std::string_view name, const base::Failure& failure) {
  std::string message(shortTypeName(type));
  message += " '";
  message += name;
  message += "': ";
  message += failure.message;
  return base::fail(failure.code, std::move(message));
}

base::Failure unnamed(ResourceType type, std::string_view name_field) {
  std::string message(shortTypeName(type));
  message += " without a name: ";
  message += name_field;
  message += ": is required";
  return base::fail(base::Error::kInvalidArgument, std::move(message));
}

template <typename Proto>
Result<Proto> unpack(ResourceType type, const google::protobuf::Any& any) {
  Proto proto;
  if (!any.UnpackTo(&proto)) {
    return base::fail(base::Error::kInvalidArgument, std::string(shortTypeName(type)) + ": cannot be decoded as " +
                                                         Proto::descriptor()->full_name());
  }
  return proto;
}

// A converter result, or the failure prefixed with the resource's name.
template <typename Model>
Result<DecodedResource> finish(ResourceType type, const std::string& name, Result<Model> converted) {
  if (!converted) return named(type, name, converted.error());
  return DecodedResource{name, std::move(*converted)};
}

Result<DecodedResource> decodeListener(const google::protobuf::Any& any) {
  constexpr ResourceType kType = ResourceType::kListener;
  Result<envoy::config::listener::v3::Listener> proto = unpack<envoy::config::listener::v3::Listener>(kType, any);
  if (!proto) return proto.error();
  if (proto->name().empty()) return unnamed(kType, "name");
  // Servers that also serve gRPC's proxyless clients send their API listeners
  // to every wildcard LDS subscriber; refusing them would NACK every update.
  if (proto->has_api_listener() && !proto->has_address()) {
    return DecodedResource{proto->name(),
                           Skipped{"an API listener (api_listener, no address) is for gRPC's xDS clients; "
                                   "remora-proxy has no use for it"}};
  }
  return finish(kType, proto->name(), toListener(*proto));
}

Result<DecodedResource> decodeRoutes(const google::protobuf::Any& any) {
  constexpr ResourceType kType = ResourceType::kRouteConfiguration;
  Result<envoy::config::route::v3::RouteConfiguration> proto =
      unpack<envoy::config::route::v3::RouteConfiguration>(kType, any);
  if (!proto) return proto.error();
  if (proto->name().empty()) return unnamed(kType, "name");
  return finish(kType, proto->name(), toRouteConfiguration(*proto));
}

Result<DecodedResource> decodeCluster(const google::protobuf::Any& any) {
  constexpr ResourceType kType = ResourceType::kCluster;
  Result<envoy::config::cluster::v3::Cluster> proto = unpack<envoy::config::cluster::v3::Cluster>(kType, any);
  if (!proto) return proto.error();
  if (proto->name().empty()) return unnamed(kType, "name");
  return finish(kType, proto->name(), toCluster(*proto));
}

Result<DecodedResource> decodeAssignment(const google::protobuf::Any& any) {
  constexpr ResourceType kType = ResourceType::kClusterLoadAssignment;
  Result<envoy::config::endpoint::v3::ClusterLoadAssignment> proto =
      unpack<envoy::config::endpoint::v3::ClusterLoadAssignment>(kType, any);
  if (!proto) return proto.error();
  if (proto->cluster_name().empty()) return unnamed(kType, "cluster_name");
  return finish(kType, proto->cluster_name(), toClusterLoadAssignment(*proto));
}

Result<DecodedResource> decodeSecret(const google::protobuf::Any& any) {
  constexpr ResourceType kType = ResourceType::kSecret;
  Result<envoy::extensions::transport_sockets::tls::v3::Secret> proto =
      unpack<envoy::extensions::transport_sockets::tls::v3::Secret>(kType, any);
  if (!proto) return proto.error();
  if (proto->name().empty()) return unnamed(kType, "name");
  return finish(kType, proto->name(), toSecret(*proto));
}

}  // namespace

std::string_view typeUrlOf(ResourceType type) {
  switch (type) {
    case ResourceType::kListener: return kListenerTypeUrl;
    case ResourceType::kRouteConfiguration: return kRouteConfigurationTypeUrl;
    case ResourceType::kCluster: return kClusterTypeUrl;
    case ResourceType::kClusterLoadAssignment: return kClusterLoadAssignmentTypeUrl;
    case ResourceType::kSecret: return kSecretTypeUrl;
  }
  return {};
}

std::optional<ResourceType> resourceTypeOf(std::string_view type_url) {
  for (ResourceType type : {ResourceType::kListener, ResourceType::kRouteConfiguration, ResourceType::kCluster,
                            ResourceType::kClusterLoadAssignment, ResourceType::kSecret}) {
    if (typeUrlOf(type) == type_url) return type;
  }
  return std::nullopt;
}

std::string_view shortTypeName(ResourceType type) {
  switch (type) {
    case ResourceType::kListener: return "Listener";
    case ResourceType::kRouteConfiguration: return "RouteConfiguration";
    case ResourceType::kCluster: return "Cluster";
    case ResourceType::kClusterLoadAssignment: return "ClusterLoadAssignment";
    case ResourceType::kSecret: return "Secret";
  }
  return {};
}

Result<DecodedResource> decodeResource(ResourceType type, const google::protobuf::Any& any) {
  if (any.type_url() != typeUrlOf(type)) {
    return base::fail(base::Error::kInvalidArgument, std::string(shortTypeName(type)) + ": resource type_url " +
                                                         quoted(any.type_url()) + " is not " +
                                                         quoted(typeUrlOf(type)));
  }
  switch (type) {
    case ResourceType::kListener: return decodeListener(any);
    case ResourceType::kRouteConfiguration: return decodeRoutes(any);
    case ResourceType::kCluster: return decodeCluster(any);
    case ResourceType::kClusterLoadAssignment: return decodeAssignment(any);
    case ResourceType::kSecret: return decodeSecret(any);
  }
  return base::fail(base::Error::kInternal, "unknown resource type");
}

}  // namespace remora::xds::resources
