// The resilience parts of a RouteAction (retry_policy, hash_policy,
// hedge_policy, max_stream_duration) -> the model. Split from
// route_converter.cc, which calls them; pure, any thread.
#pragma once

#include <string_view>
#include <vector>

#include "envoy/config/route/v3/route_components.pb.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

// Envoy's retry_on tokens the router implements, plus Remora's
// "non-idempotent"; anything else is refused rather than silently never firing.
inline constexpr std::string_view kRetryOnTokens[] = {
    "5xx",       "gateway-error",     "reset",    "connect-failure",    "retriable-4xx", "refused-stream",
    "retriable-status-codes", "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
    "non-idempotent"};

bool isRetryOnToken(std::string_view token);

base::Result<RetryPolicy> toRetryPolicy(const envoy::config::route::v3::RetryPolicy& proto, std::string_view path);

// hash_policy entries: header, cookie (passive: no ttl) and
// connection_properties.source_ip.
base::Result<std::vector<HashPolicy>> toHashPolicies(
    const google::protobuf::RepeatedPtrField<envoy::config::route::v3::RouteAction::HashPolicy>& proto,
    std::string_view path);

// hedge_policy (hedge_on_per_try_timeout) and max_stream_duration
// (grpc_timeout_header_max) into `out`.
base::Status toHedgePolicy(const envoy::config::route::v3::HedgePolicy& proto, std::string_view path,
                           RouteAction& out);
base::Status toMaxStreamDuration(const envoy::config::route::v3::RouteAction::MaxStreamDuration& proto,
                                 std::string_view path, RouteAction& out);

}  // namespace remora::xds::resources
