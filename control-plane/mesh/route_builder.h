// The outbound RouteConfiguration ("outbound"): one virtual host per HTTP
// service port, named "<name>.<ns>:<port>".
//
// Domains of a port's virtual host, for a service <n> in namespace <s>:
//   <n>.<s>, <n>.<s>.svc, <n>.<s>.svc.cluster.local, and <n> alone when <s> is
//   the proxy's own namespace (as Kubernetes DNS resolves short names; a
//   short name in every namespace would collide across namespaces) — each
//   with ":<port>", and without a port only on the service's first HTTP port
//   (two virtual hosts may not share a domain).
// Routes: each RouteRule route of the service (rules in name order), then a
// catch-all "/" to the port's cluster. A split becomes weighted clusters
// over subset clusters; one share of 100 becomes a plain cluster.
//
// Emitted: path/header matches, splits, timeout (route timeout, else the
// TrafficPolicy's request_timeout). Not yet (refused by remora-proxy's route
// converter until issue 6; each becomes a warning): retries, fault injection.
//
// Known gap: remora-proxy's RouteTable strips ports before matching hosts, so
// a service with two HTTP ports yields two virtual hosts it considers
// duplicates; Envoy and gRPC match "host:port" exactly and are fine.
//
// Internal to control-plane/mesh; called by buildForProxy. Pure; any thread.
#pragma once

#include <google/protobuf/any.pb.h>

#include <string>
#include <vector>

#include "control-plane/mesh/interception_builder.h"
#include "control-plane/mesh/proxy_identity.h"
#include "control-plane/mesh/service_plan.h"

namespace remora::cp::mesh {

// The host names (without ports) a port's virtual host answers to, short first.
std::vector<std::string> serviceHostNames(const PortPlan& plan, const ProxyIdentity& proxy);

// INTERCEPTION_MODE REDIRECT adds, to each virtual host, the authorities
// an intercepted request to one of the service's addresses carries
// ("<vip>:<port>", "<endpoint ip>:<port>", IPv6 in brackets, the bare IP on
// port 80; interception_builder.h's addressDomains), each only in the first
// virtual host claiming it (later ones are warned about); and a last
// virtual host "passthrough" (domains "*") for every other host, shaped by
// `policy`. `policy` only matters there.
google::protobuf::Any buildOutboundRoutes(const std::vector<PortPlan>& plans, const ProxyIdentity& proxy,
                                          std::vector<std::string>& warnings,
                                          OutboundTrafficPolicy policy = OutboundTrafficPolicy::kAllowAny);

}  // namespace remora::cp::mesh
