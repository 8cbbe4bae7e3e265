#include "xds/base/error.h"

namespace remora::base {

std::string_view errorName(Error error) {
  switch (error) {
    case Error::kOk: return "ok";
    case Error::kInvalidArgument: return "invalid_argument";
    case Error::kUnsupported: return "unsupported";
    case Error::kNotFound: return "not_found";
    case Error::kAlreadyExists: return "already_exists";
    case Error::kConflict: return "conflict";
    case Error::kIo: return "io";
    case Error::kProtocol: return "protocol_error";
    case Error::kHeadersTooLarge: return "headers_too_large";
    case Error::kBodyTooLarge: return "body_too_large";
    case Error::kFlood: return "flood";
    case Error::kNoRoute: return "no_route";
    case Error::kNoCluster: return "no_cluster";
    case Error::kNoHealthyUpstream: return "no_healthy_upstream";
    case Error::kConnectFailed: return "connect_failed";
    case Error::kConnectTimeout: return "connect_timeout";
    case Error::kUpstreamReset: return "upstream_reset";
    case Error::kUpstreamProtocol: return "upstream_protocol_error";
    case Error::kRouteTimeout: return "route_timeout";
    case Error::kOverflow: return "overflow";
    case Error::kDirectResponse: return "direct_response";
    case Error::kDownstreamReset: return "downstream_reset";
    case Error::kIdleTimeout: return "idle_timeout";
    case Error::kRequestTimeout: return "request_timeout";
    case Error::kDraining: return "draining";
    case Error::kRbacDenied: return "rbac_denied";
    case Error::kPerTryTimeout: return "per_try_timeout";
    case Error::kStreamIdleTimeout: return "stream_idle_timeout";
    case Error::kNoOriginalDestination: return "no_original_destination";
    case Error::kPassthroughLoop: return "passthrough_loop";
    case Error::kUnavailable: return "unavailable";
    case Error::kInternal: return "internal";
  }
  return "unknown";
}

}  // namespace remora::base
