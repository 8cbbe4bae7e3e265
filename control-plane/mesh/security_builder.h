// The mTLS and authorization pieces of a proxy's config (the "mesh's config"
// of the mTLS contract, docs/api.md): TLS contexts for outbound clusters and
// inbound filter chains, RBAC filters from AuthorizationPolicies, and the
// ROOTCA secret. The cluster and listener builders call these only when
// MeshSecurity.enabled, so a plaintext mesh is unchanged.
//
// Internal to control-plane/mesh. Pure; any thread.
#pragma once

#include <google/protobuf/any.pb.h>

#include <string>
#include <vector>

#include "control-plane/mesh/mesh_security.h"
#include "control-plane/mesh/service_plan.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"

namespace remora::cp::mesh {

// The outbound side: UpstreamTlsContext on `cluster` (one of `plan`'s) unless
// the service is DISABLE. SNI is the cluster's name; the peer must present
// one of the service's accounts' SPIFFE IDs; ALPN h2 or http/1.1 by the
// port's protocol (none for TCP).
void addUpstreamTls(const PortPlan& plan, const MeshSecurity& security, envoy::config::cluster::v3::Cluster& cluster);

// The inbound side: a DownstreamTlsContext presenting "default", requiring a
// client certificate that chains to ROOTCA and names an identity in the
// mesh's trust domain. ALPN h2 and http/1.1 for HTTP chains.
void setDownstreamTls(bool http, const MeshSecurity& security, envoy::config::listener::v3::FilterChain& chain);

// The RBAC filters (DENY first, then ALLOW) for the inbound chain of `plan`
// (nullptr: the proxy's service does not exist; no policies apply), as
// envoy.config.rbac.v3.RBAC bodies ready to be wrapped. Empty when no policy
// names the service. Rules with a `ports` list apply only to the chains of
// those ports, resolved here rather than matched per connection, because an
// explicit (non-intercepted) connection arrives on the inbound listener's
// own port. On TCP ports, HTTP-only fields make an allow rule unusable (left
// out) and a deny rule broader (the fields are dropped): both are warned.
// Each Any is a filter's typed_config: envoy.filters.http.rbac's when `http`,
// else envoy.filters.network.rbac's (with `stat_prefix`).
std::vector<google::protobuf::Any> buildRbac(const PortPlan* plan, bool http, const MeshSecurity& security,
                                             const std::string& stat_prefix, std::vector<std::string>& warnings);

// Secret "ROOTCA": validation_context.trusted_ca = the trust bundle.
google::protobuf::Any rootCaSecret(const MeshSecurity& security);

}  // namespace remora::cp::mesh
