// ResourceSnapshot: the complete set of xDS resources one proxy (or every
// proxy) should hold, by type URL and name, each with a version derived from
// its bytes. Built by the control plane (mesh builder, test server), then
// immutable and shared across threads as shared_ptr<const ResourceSnapshot>.
// Sessions compare resource versions to decide what a proxy still needs.
#pragma once

#include <google/protobuf/any.pb.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xds/base/status.h"

namespace remora::xds::server {

inline constexpr std::string_view kListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener";
inline constexpr std::string_view kRouteType = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
inline constexpr std::string_view kClusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
inline constexpr std::string_view kEndpointType =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
inline constexpr std::string_view kSecretType =
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

// Listener and Cluster are the types a client may ask for "everything" of
// (empty names or "*"); the others are always asked for by name.
bool isWildcardCapable(std::string_view type_url);

struct VersionedResource {
  google::protobuf::Any body;
  std::string version;  // hex hash of type URL and bytes: equal bytes, equal version
};

// A resource before it is put in a snapshot.
struct NamedResource {
  std::string name;
  google::protobuf::Any body;
};

// The name of a resource of one of the known types (read from its body), so
// callers that only have an Any (the JSON test server) need not unpack it.
base::Result<std::string> resourceName(const google::protobuf::Any& body);

// Stable 64-bit FNV-1a hash as 16 hex digits: versions must be equal across
// processes and restarts, which std::hash does not promise.
std::string hashVersion(std::string_view bytes);
// The same hash as a number.
uint64_t fnv1a64(std::string_view bytes);

// Resources of one type, each hashed once, shared by every snapshot that
// holds them: the control plane builds the mesh's clusters once and gives
// the same part to a thousand proxies, each with its own small part on top
// (its inbound listener). Immutable once made.
struct ResourcePart {
  std::string type_url;
  std::map<std::string, VersionedResource> resources;  // by name
  std::string hash;  // of every name and version: equal contents, equal hash
};
using ResourcePartPtr = std::shared_ptr<const ResourcePart>;

class ResourceSnapshot {
 public:
  // Hashes the resources (all of `type_url`); two with one name fail with
  // kAlreadyExists, a body of another type with kInvalidArgument.
  static base::Result<ResourcePartPtr> makePart(std::string type_url, std::vector<NamedResource> resources);

  // `version` names the snapshot on the wire (version_info); empty: derived
  // from every resource's version. Two resources of one type with one name
  // fail with kAlreadyExists.
  static base::Result<std::shared_ptr<const ResourceSnapshot>> create(std::string version,
                                                                      std::vector<NamedResource> resources);
  // A snapshot made of parts (any order, several of one type); the names of
  // one type must not repeat across parts (kAlreadyExists). Costs no hashing
  // of resources, only of the parts' hashes when `version` is empty.
  static base::Result<std::shared_ptr<const ResourceSnapshot>> compose(std::string version,
                                                                       std::vector<ResourcePartPtr> parts);

  const std::string& version() const { return version_; }
  // The parts holding resources of a type (empty when the type has none).
  const std::vector<ResourcePartPtr>& parts(std::string_view type_url) const;
  // One resource, or nullptr.
  const VersionedResource* find(std::string_view type_url, const std::string& name) const;
  // Calls f(name, resource) for every resource of a type.
  template <typename F>
  void forEach(std::string_view type_url, F&& f) const {
    for (const ResourcePartPtr& part : parts(type_url)) {
      for (const auto& [name, resource] : part->resources) f(name, resource);
    }
  }
  size_t count(std::string_view type_url) const;
  std::vector<std::string> typeUrls() const;

 private:
  ResourceSnapshot() = default;

  std::string version_;
  std::map<std::string, std::vector<ResourcePartPtr>, std::less<>> by_type_;
};

}  // namespace remora::xds::server
