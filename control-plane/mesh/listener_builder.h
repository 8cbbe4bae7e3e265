// Listeners for one proxy: "outbound" (:15001), "inbound" (:15006) and the
// API listeners gRPC's proxyless clients ask for.
//
// TCP service ports (INTERCEPTION_MODE NONE): the outbound listener gets one
// TCP proxy filter chain per TCP port, matched on the connection's
// destination port (an explicit connection names no service address). A
// port is therefore one TCP service mesh-wide: a TCP port also used by an
// HTTP service port, or by a second TCP service, is left out with a warning
// (first by namespace/name wins).
// Everything else takes the default filter chain: the HTTP connection manager
// with RDS "outbound".
//
// API listeners (no address; remora-proxy skips them, gRPC uses them): for
// each HTTP service port, "<name>.<ns>.svc.cluster.local:<port>", plus
// "<name>.<ns>.svc.cluster.local" on the service's first HTTP port, plus the
// short "<name>:<port>" / "<name>" when the service is in the proxy's
// namespace — i.e. xds:///<name> and xds:///<fqdn>:<port> both resolve. Each
// names a domain of the outbound route configuration, which the API
// listener's HCM loads by RDS, so gRPC finds a virtual host for its authority.
//
// Internal to control-plane/mesh; called by buildForProxy. Pure; any thread.
#pragma once

#include <google/protobuf/any.pb.h>

#include <string>
#include <vector>

#include "control-plane/mesh/interception_builder.h"
#include "control-plane/mesh/mesh_security.h"
#include "control-plane/mesh/proxy_identity.h"
#include "control-plane/mesh/service_plan.h"
#include "control-plane/mesh/tracing_builder.h"

namespace remora::cp::mesh {

// Binds where `proxy` says (its outbound host and port); nothing else of the
// proxy shapes it, so proxies with the default address can share one —
// except, with OTLP tracing, its service (the spans' service.name), and its
// interception mode.
//
// INTERCEPTION_MODE REDIRECT (interception_builder.h) builds another shape:
// listener filters original_dst then http_inspector; one TCP proxy chain per
// TCP service port and destination port, matched on destination_port and
// prefix_ranges (the service's virtual IPs and endpoint IPs), so one port
// may serve several TCP services and HTTP ones; an "http|<port>" chain
// (destination_port, application_protocols) for each such port HTTP
// services also use; the "http" chain, matched on application_protocols
// ["http/1.1", "h2c"], with the HCM (RDS "outbound"); and a default chain
// "passthrough" (tcp_proxy to PassthroughCluster) or, under `policy`
// registry-only, "blackhole" (to BlackHoleCluster). `policy` only matters
// there.
google::protobuf::Any buildOutboundListener(const std::vector<PortPlan>& plans, const ProxyIdentity& proxy,
                                            std::vector<std::string>& warnings, const MeshTracing& tracing = {},
                                            OutboundTrafficPolicy policy = OutboundTrafficPolicy::kAllowAny);

// Empty when the proxy has no app ports (a client-only proxy). With security
// enabled, by the proxy's service's mtls mode: STRICT, every chain
// terminates mTLS; PERMISSIVE, each app port has a "tls" chain and a
// "raw_buffer" one, told apart by the tls_inspector listener filter (and a
// port-less "tls" chain serves explicit connections to the listener's own
// port, whose plaintext ones take the default chain); DISABLE, plaintext.
// Each chain carries the RBAC filters of the AuthorizationPolicies naming
// the service; warnings about rules that cannot apply go to `warnings`.
// With tracing enabled, every HTTP chain traces (tracing_builder.h).
// INTERCEPTION_MODE REDIRECT adds the original_dst listener filter, first,
// so the chains match the app port the caller dialled, not :15006.
std::vector<google::protobuf::Any> buildInboundListener(const ProxyIdentity& proxy,
                                                        const std::vector<const PortPlan*>& own_ports,
                                                        const MeshSecurity& security,
                                                        std::vector<std::string>& warnings,
                                                        const MeshTracing& tracing = {});

std::vector<google::protobuf::Any> buildApiListeners(const std::vector<PortPlan>& plans, const ProxyIdentity& proxy);

}  // namespace remora::cp::mesh
