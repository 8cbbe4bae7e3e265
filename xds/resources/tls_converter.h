// TLS protos -> the model: a cluster's or filter chain's transport_socket
// (envoy.transport_sockets.tls with an Upstream/DownstreamTlsContext) and SDS
// Secret resources. Pure, any thread; called by the cluster and listener
// converters and by decodeResource for Secrets.
//
// Secrets are fetched by name over ADS only: an SdsSecretConfig's sds_config
// must be `ads: {}`, except that the proxy's own certificate ("default") may
// omit it, since the proxy makes that one itself.
#pragma once

#include <string_view>

#include "envoy/config/core/v3/base.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

// The transport socket name Envoy registers for TLS.
inline constexpr std::string_view kTlsTransportSocketName = "envoy.transport_sockets.tls";

// The secret name of the proxy's own workload certificate.
inline constexpr std::string_view kDefaultSecretName = "default";

// A cluster's transport_socket (`path` names it). A missing validation
// context is accepted here (the server is then not verified); the mesh
// builders never emit one.
base::Result<UpstreamTls> toUpstreamTls(const envoy::config::core::v3::TransportSocket& proto, std::string_view path);

// A filter chain's transport_socket. A certificate is required, and
// require_client_certificate needs a validation context.
base::Result<DownstreamTls> toDownstreamTls(const envoy::config::core::v3::TransportSocket& proto,
                                            std::string_view path);

// The context messages themselves, for callers that already unpacked them.
base::Result<UpstreamTls> toUpstreamTlsContext(
    const envoy::extensions::transport_sockets::tls::v3::UpstreamTlsContext& proto, std::string_view path);
base::Result<DownstreamTls> toDownstreamTlsContext(
    const envoy::extensions::transport_sockets::tls::v3::DownstreamTlsContext& proto, std::string_view path);

// An SDS resource: a tls_certificate (inline PEM chain and key) or a
// validation_context (inline trusted_ca, optional URI SAN matchers). Other
// secret kinds are refused.
base::Result<Secret> toSecret(const envoy::extensions::transport_sockets::tls::v3::Secret& proto,
                              std::string_view path = "");

}  // namespace remora::xds::resources
