// RouteConfiguration protos (inline in a connection manager, or from RDS) ->
// the validated model. Called by the listener converter and, for RDS, by the
// xDS client on the main thread; pure, any thread.
//
// Checks here are local to the route table (names, domains, matchers, weights,
// regexes). Whether the clusters a route names exist is checked by the caller
// that knows the cluster set (toBootstrap, or the snapshot builder).
#pragma once

#include <string_view>

#include "envoy/config/route/v3/route.pb.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

// Errors name the field under `path` ("" for a resource on its own).
base::Result<RouteConfiguration> toRouteConfiguration(const envoy::config::route::v3::RouteConfiguration& proto,
                                                      std::string_view path = "");

// One header matcher (a route's, or an RBAC permission's/principal's).
base::Result<HeaderMatcher> toHeaderMatcher(const envoy::config::route::v3::HeaderMatcher& proto,
                                            std::string_view path);

}  // namespace remora::xds::resources
