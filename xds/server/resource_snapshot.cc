#include "xds/server/resource_snapshot.h"

#include <cstdint>
#include <cstdio>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"

namespace remora::xds::server {

bool isWildcardCapable(std::string_view type_url) { return type_url == kListenerType || type_url == kClusterType; }

std::string hashVersion(std::string_view bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(h));
  return out;
}

namespace {

template <typename Message>
base::Result<std::string> unpackName(const google::protobuf::Any& body, std::string (*name)(const Message&)) {
  Message m;
  if (!body.UnpackTo(&m)) {
    return base::fail(base::Error::kInvalidArgument, "resource of type " + body.type_url() + " does not decode");
  }
  return name(m);
}

}  // namespace

base::Result<std::string> resourceName(const google::protobuf::Any& body) {
  namespace cfg = envoy::config;
  const std::string& t = body.type_url();
  if (t == kListenerType) {
    return unpackName<cfg::listener::v3::Listener>(body, [](const auto& m) { return m.name(); });
  }
  if (t == kRouteType) {
    return unpackName<cfg::route::v3::RouteConfiguration>(body, [](const auto& m) { return m.name(); });
  }
  if (t == kClusterType) {
    return unpackName<cfg::cluster::v3::Cluster>(body, [](const auto& m) { return m.name(); });
  }
  if (t == kEndpointType) {
    return unpackName<cfg::endpoint::v3::ClusterLoadAssignment>(body, [](const auto& m) { return m.cluster_name(); });
  }
  if (t == kSecretType) {
    return unpackName<envoy::extensions::transport_sockets::tls::v3::Secret>(body,
                                                                            [](const auto& m) { return m.name(); });
  }
  return base::fail(base::Error::kUnsupported, "no known name field for resource type " + t);
}

base::Result<std::shared_ptr<const ResourceSnapshot>> ResourceSnapshot::create(std::string version,
                                                                               std::vector<NamedResource> resources) {
  std::shared_ptr<ResourceSnapshot> snap(new ResourceSnapshot());
  for (auto& r : resources) {
    if (r.name.empty()) return base::fail(base::Error::kInvalidArgument, "a resource of type " + r.body.type_url() + " has no name");
    auto& of_type = snap->by_type_[r.body.type_url()];
    std::string v = hashVersion(r.body.type_url() + '\0' + r.body.value());
    auto [it, inserted] = of_type.emplace(r.name, VersionedResource{std::move(r.body), std::move(v)});
    if (!inserted) {
      return base::fail(base::Error::kAlreadyExists, "two resources of type " + it->second.body.type_url() +
                                                         " are named '" + r.name + "'");
    }
  }
  if (version.empty()) {
    std::string all;
    for (const auto& [type, of_type] : snap->by_type_) {
      for (const auto& [name, res] : of_type) all += type + '\0' + name + '\0' + res.version + '\0';
    }
    version = hashVersion(all);
  }
  snap->version_ = std::move(version);
  return std::shared_ptr<const ResourceSnapshot>(std::move(snap));
}

const ResourceSnapshot::Resources& ResourceSnapshot::resources(std::string_view type_url) const {
  static const Resources kNone;
  auto it = by_type_.find(type_url);
  return it == by_type_.end() ? kNone : it->second;
}

std::vector<std::string> ResourceSnapshot::typeUrls() const {
  std::vector<std::string> out;
  for (const auto& [type, of_type] : by_type_) out.push_back(type);
  return out;
}

}  // namespace remora::xds::server
