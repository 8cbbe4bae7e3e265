// RBAC protos (envoy.config.rbac.v3, in the envoy.filters.http.rbac and
// envoy.filters.network.rbac filters) -> the model's Rbac. Pure, any thread;
// called by the listener and HTTP connection manager converters.
//
// Stricter than the rest of xds/resources: besides fields we define but do
// not evaluate, fields unknown to our protos (a CEL condition, a metadata
// matcher) are refused too, because ignoring part of an access rule would
// silently change who gets in.
#pragma once

#include <optional>
#include <string_view>

#include "envoy/config/rbac/v3/rbac.pb.h"
#include "envoy/extensions/filters/http/rbac/v3/rbac.pb.h"
#include "envoy/extensions/filters/network/rbac/v3/rbac.pb.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

inline constexpr std::string_view kHttpRbacFilterName = "envoy.filters.http.rbac";
inline constexpr std::string_view kNetworkRbacFilterName = "envoy.filters.network.rbac";

// The policies of one filter. Policies are ordered by name (a proto map has
// no order), so evaluation and the policy a decision names are deterministic.
base::Result<Rbac> toRbac(const envoy::config::rbac::v3::RBAC& proto, std::string_view path,
                          std::string_view stat_prefix);

// The HTTP filter's config; nullopt when `rules` is absent (Envoy then
// enforces nothing).
base::Result<std::optional<Rbac>> toHttpRbac(const envoy::extensions::filters::http::rbac::v3::RBAC& proto,
                                             std::string_view path);

// The network filter's config; stat_prefix is required. nullopt when `rules`
// is absent.
base::Result<std::optional<Rbac>> toNetworkRbac(const envoy::extensions::filters::network::rbac::v3::RBAC& proto,
                                                std::string_view path);

}  // namespace remora::xds::resources
