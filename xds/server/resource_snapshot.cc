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

uint64_t fnv1a64(std::string_view bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hashVersion(std::string_view bytes) {
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(fnv1a64(bytes)));
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

base::Result<ResourcePartPtr> ResourceSnapshot::makePart(std::string type_url, std::vector<NamedResource> resources) {
  auto part = std::make_shared<ResourcePart>();
  part->type_url = std::move(type_url);
  std::string all;
  for (auto& r : resources) {
    if (r.name.empty()) return base::fail(base::Error::kInvalidArgument, "a resource of type " + r.body.type_url() + " has no name");
    if (r.body.type_url() != part->type_url) {
      return base::fail(base::Error::kInvalidArgument, "resource '" + r.name + "' of type " + r.body.type_url() +
                                                           " in a part of type " + part->type_url);
    }
    std::string v = hashVersion(r.body.type_url() + '\0' + r.body.value());
    auto [it, inserted] = part->resources.emplace(r.name, VersionedResource{std::move(r.body), std::move(v)});
    if (!inserted) {
      return base::fail(base::Error::kAlreadyExists, "two resources of type " + part->type_url + " are named '" +
                                                         r.name + "'");
    }
  }
  for (const auto& [name, res] : part->resources) all += name + '\0' + res.version + '\0';
  part->hash = hashVersion(part->type_url + '\0' + all);
  return ResourcePartPtr(std::move(part));
}

base::Result<std::shared_ptr<const ResourceSnapshot>> ResourceSnapshot::create(std::string version,
                                                                               std::vector<NamedResource> resources) {
  std::map<std::string, std::vector<NamedResource>> by_type;
  for (auto& r : resources) {
    std::string type = r.body.type_url();
    by_type[type].push_back(std::move(r));
  }
  std::vector<ResourcePartPtr> parts;
  for (auto& [type, of_type] : by_type) {
    auto part = makePart(type, std::move(of_type));
    if (!part) return part.error();
    parts.push_back(std::move(*part));
  }
  return compose(std::move(version), std::move(parts));
}

base::Result<std::shared_ptr<const ResourceSnapshot>> ResourceSnapshot::compose(std::string version,
                                                                                std::vector<ResourcePartPtr> parts) {
  std::shared_ptr<ResourceSnapshot> snap(new ResourceSnapshot());
  for (ResourcePartPtr& part : parts) {
    if (!part || part->resources.empty()) continue;
    std::vector<ResourcePartPtr>& of_type = snap->by_type_[part->type_url];
    // Check the smaller side's names against the other's: the small
    // per-proxy part against the big shared one.
    for (const ResourcePartPtr& other : of_type) {
      const ResourcePart& small = other->resources.size() < part->resources.size() ? *other : *part;
      const ResourcePart& big = &small == other.get() ? *part : *other;
      for (const auto& [name, res] : small.resources) {
        if (big.resources.count(name) > 0) {
          return base::fail(base::Error::kAlreadyExists, "two resources of type " + part->type_url +
                                                             " are named '" + name + "'");
        }
      }
    }
    of_type.push_back(std::move(part));
  }
  if (version.empty()) {
    std::string all;
    for (const auto& [type, of_type] : snap->by_type_) {
      for (const ResourcePartPtr& part : of_type) all += part->hash + '\0';
    }
    version = hashVersion(all);
  }
  snap->version_ = std::move(version);
  return std::shared_ptr<const ResourceSnapshot>(std::move(snap));
}

const std::vector<ResourcePartPtr>& ResourceSnapshot::parts(std::string_view type_url) const {
  static const std::vector<ResourcePartPtr> kNone;
  auto it = by_type_.find(type_url);
  return it == by_type_.end() ? kNone : it->second;
}

const VersionedResource* ResourceSnapshot::find(std::string_view type_url, const std::string& name) const {
  for (const ResourcePartPtr& part : parts(type_url)) {
    auto it = part->resources.find(name);
    if (it != part->resources.end()) return &it->second;
  }
  return nullptr;
}

size_t ResourceSnapshot::count(std::string_view type_url) const {
  size_t n = 0;
  for (const ResourcePartPtr& part : parts(type_url)) n += part->resources.size();
  return n;
}

std::vector<std::string> ResourceSnapshot::typeUrls() const {
  std::vector<std::string> out;
  for (const auto& [type, of_type] : by_type_) out.push_back(type);
  return out;
}

}  // namespace remora::xds::server
