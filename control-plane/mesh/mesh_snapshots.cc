#include "control-plane/mesh/mesh_snapshots.h"

#include "control-plane/mesh/cluster_builder.h"
#include "control-plane/mesh/interception_builder.h"
#include "control-plane/mesh/listener_builder.h"
#include "control-plane/mesh/route_builder.h"
#include "control-plane/mesh/security_builder.h"
#include "control-plane/mesh/snapshot_builder.h"
#include "xds/resources/resource_decoder.h"

namespace remora::cp::mesh {

namespace resources = xds::resources;
namespace server = xds::server;

namespace {

// A proxy at the default listener addresses, in namespace `ns`: what the
// shared parts are built for.
ProxyIdentity sharedIdentity(const std::string& ns, InterceptionMode interception = InterceptionMode::kNone) {
  ProxyIdentity identity;
  identity.namespace_ = ns;
  identity.interception = interception;
  return identity;
}

bool redirected(const ProxyIdentity& proxy) { return proxy.interception == InterceptionMode::kRedirect; }

bool defaultOutboundAddress(const ProxyIdentity& proxy) {
  const ProxyIdentity defaults;
  return proxy.outbound_host == defaults.outbound_host && proxy.outbound_port == defaults.outbound_port;
}

}  // namespace

MeshSnapshots::MeshSnapshots(std::shared_ptr<const MeshState> state, const MeshSnapshots* previous,
                             MeshSecurity security, MeshTracing tracing, OutboundTrafficPolicy policy)
    : state_(std::move(state)),
      security_(std::move(security)),
      tracing_(std::move(tracing)),
      policy_(policy),
      plans_(planServices(*state_)) {
  if (previous != nullptr) {
    std::lock_guard<std::mutex> lock(previous->mutex_);
    previous_ = previous->interned_;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<google::protobuf::Any> listener;
  listener.push_back(buildOutboundListener(plans_, sharedIdentity("default"), warnings_, tracing_));
  std::vector<google::protobuf::Any> clusters;
  buildOutboundClusters(plans_, clusters, security_);
  addTracingCollectorCluster(tracing_, clusters);
  // Names are unique by construction (one per service port and subset), so
  // these cannot fail; a failure would leave the part empty, and every proxy
  // would then fail loudly in forProxy rather than get half a config.
  if (auto part = makeInterned(resources::kListenerTypeUrl, std::move(listener))) outbound_listener_.part = *part;
  if (auto part = makeInterned(resources::kClusterTypeUrl, std::move(clusters))) clusters_ = *part;
  std::vector<google::protobuf::Any> interception;
  addInterceptionClusters(interception);
  if (auto part = makeInterned(resources::kClusterTypeUrl, std::move(interception))) interception_clusters_ = *part;
  if (security_.enabled) {
    if (security_.trust_bundle_pem.empty()) {
      warnings_.push_back("mTLS is on but the trust bundle is empty: proxies cannot verify any peer");
    }
    if (auto part = makeInterned(resources::kSecretTypeUrl, {rootCaSecret(security_)})) secrets_ = *part;
  }
}

MeshSnapshots::Part MeshSnapshots::intern(Part part) {
  const std::string key = part->type_url + '\0' + part->hash;
  if (auto it = interned_.find(key); it != interned_.end()) return it->second;
  if (auto it = previous_.find(key); it != previous_.end()) part = it->second;
  interned_.emplace(key, part);
  return part;
}

base::Result<MeshSnapshots::Part> MeshSnapshots::makeInterned(std::string_view type_url,
                                                              std::vector<google::protobuf::Any> bodies) {
  std::vector<server::NamedResource> named;
  named.reserve(bodies.size());
  for (google::protobuf::Any& body : bodies) {
    auto name = server::resourceName(body);
    if (!name) return name.error();
    named.push_back(server::NamedResource{std::move(*name), std::move(body)});
  }
  auto part = server::ResourceSnapshot::makePart(std::string(type_url), std::move(named));
  if (!part) return part.error();
  return intern(std::move(*part));
}

base::Result<const MeshSnapshots::NamespaceParts*> MeshSnapshots::namespaceParts(const ProxyIdentity& proxy) {
  // API listeners or not is part of the key: sidecars and gRPC clients of
  // one namespace get different listener sets; so is interception, which
  // shapes the route table.
  const std::string key =
      proxy.namespace_ + (proxy.api_listeners ? "|api" : "") + (redirected(proxy) ? "|redirect" : "");
  if (auto it = by_namespace_.find(key); it != by_namespace_.end()) return &it->second;
  NamespaceParts parts;
  const ProxyIdentity shared = sharedIdentity(proxy.namespace_, proxy.interception);
  auto routes = makeInterned(resources::kRouteConfigurationTypeUrl,
                             {buildOutboundRoutes(plans_, shared, parts.warnings, policy_)});
  if (!routes) return routes.error();
  parts.routes = *routes;
  if (proxy.api_listeners) {
    auto api = makeInterned(resources::kListenerTypeUrl, buildApiListeners(plans_, shared));
    if (!api) return api.error();
    parts.api_listeners = *api;
  }
  return &by_namespace_.emplace(key, std::move(parts)).first->second;
}

base::Result<const MeshSnapshots::ListenerPart*> MeshSnapshots::outboundListenerFor(const ProxyIdentity& proxy) {
  const bool by_service = tracingNamesService(tracing_) && !proxy.service.empty();
  if (!by_service && !redirected(proxy)) return &outbound_listener_;
  const auto key = std::make_pair(proxy.interception, by_service ? proxy.service : std::string());
  if (auto it = outbound_by_kind_.find(key); it != outbound_by_kind_.end()) return &it->second;
  ProxyIdentity shared = sharedIdentity("default", proxy.interception);
  shared.service = key.second;
  ListenerPart built;
  // NONE: the same warnings as the shared listener's, already the mesh's.
  std::vector<std::string> warnings;
  auto part = makeInterned(resources::kListenerTypeUrl,
                           {buildOutboundListener(plans_, shared, warnings, tracing_, policy_)});
  if (!part) return part.error();
  built.part = *part;
  if (redirected(proxy)) built.warnings = std::move(warnings);
  return &outbound_by_kind_.emplace(key, std::move(built)).first->second;
}

base::Result<MeshSnapshots::Part> MeshSnapshots::assignmentsFor(const ProxyIdentity& proxy) {
  const CallerLocality caller{proxy.region, proxy.zone};
  if (auto it = assignments_.find(caller); it != assignments_.end()) return it->second;
  std::vector<google::protobuf::Any> assignments;
  buildOutboundAssignments(plans_, caller, assignments);
  auto part = makeInterned(resources::kClusterLoadAssignmentTypeUrl, std::move(assignments));
  if (!part) return part.error();
  assignments_.emplace(caller, *part);
  return *part;
}

base::Result<ProxySnapshot> MeshSnapshots::forProxy(const ProxyIdentity& proxy) {
  ProxySnapshot out;
  InboundResources inbound = buildInbound(plans_, proxy, security_, tracing_);
  out.warnings = std::move(inbound.warnings);
  std::vector<google::protobuf::Any> listeners = std::move(inbound.listeners);
  std::vector<google::protobuf::Any> inbound_clusters = std::move(inbound.clusters);

  std::lock_guard<std::mutex> lock(mutex_);
  auto assignments = assignmentsFor(proxy);
  if (!assignments) return assignments.error();
  std::vector<Part> parts = {clusters_, *assignments};
  if (secrets_) parts.push_back(secrets_);
  if (redirected(proxy)) parts.push_back(interception_clusters_);
  if (defaultOutboundAddress(proxy)) {
    auto outbound = outboundListenerFor(proxy);
    if (!outbound) return outbound.error();
    parts.push_back((*outbound)->part);
    out.warnings.insert(out.warnings.end(), (*outbound)->warnings.begin(), (*outbound)->warnings.end());
  } else {
    std::vector<std::string> warnings;  // NONE: the same as the shared listener's
    listeners.push_back(buildOutboundListener(plans_, proxy, warnings, tracing_, policy_));
    if (redirected(proxy)) out.warnings.insert(out.warnings.end(), warnings.begin(), warnings.end());
  }
  auto ns = namespaceParts(proxy);
  if (!ns) return ns.error();
  parts.push_back((*ns)->routes);
  if ((*ns)->api_listeners) parts.push_back((*ns)->api_listeners);
  out.warnings.insert(out.warnings.end(), (*ns)->warnings.begin(), (*ns)->warnings.end());
  auto own_listeners = makeInterned(resources::kListenerTypeUrl, std::move(listeners));
  if (!own_listeners) return own_listeners.error();
  parts.push_back(*own_listeners);
  auto own_clusters = makeInterned(resources::kClusterTypeUrl, std::move(inbound_clusters));
  if (!own_clusters) return own_clusters.error();
  parts.push_back(*own_clusters);

  auto snapshot = server::ResourceSnapshot::compose("", std::move(parts));
  if (!snapshot) return snapshot.error();
  out.snapshot = std::move(*snapshot);
  return out;
}

}  // namespace remora::cp::mesh
