// The one flat list of failure kinds in Remora, shared by proxy, xds and
// control plane. Immutable vocabulary; usable on any thread.
//
// A value here is what a failure *is*; the words a user sees come from
// errorName() (stable, used in x-remora-error headers and metric labels) and
// from the message carried beside it in a Status.
#pragma once

#include <cstdint>
#include <string_view>

namespace remora::base {

enum class Error : uint8_t {
  kOk = 0,
  // Configuration and input.
  kInvalidArgument,    // a value is malformed or out of range; the message names the field
  kUnsupported,        // a field or feature we do not implement was set
  kNotFound,           // a named thing (cluster, route, file) does not exist
  kAlreadyExists,      // a name is used twice where names must be unique
  kConflict,           // stale resource version (control plane 409)
  kIo,                 // a file or socket operation failed (errno in the message)
  // HTTP protocol errors, from the codecs.
  kProtocol,           // bytes that break HTTP/1 or HTTP/2 rules
  kHeadersTooLarge,    // header block over the size or count limit (431)
  kBodyTooLarge,       // body over a configured limit (413)
  kFlood,              // a peer abusing HTTP/2 frames (rapid reset, PING/SETTINGS floods)
  // Local replies on the request path: each is a reason a user can read.
  kNoRoute,            // no virtual host or route matched (404)
  kNoCluster,          // the route names a cluster that does not exist (503)
  kNoHealthyUpstream,  // the cluster has no host to send to (503)
  kConnectFailed,      // connecting to the upstream host failed (503)
  kConnectTimeout,     // connecting took longer than the cluster's connect timeout (503)
  kUpstreamReset,      // the upstream reset or closed the stream before it finished (502)
  kUpstreamProtocol,   // the upstream answered with bytes that are not valid HTTP (502)
  kRouteTimeout,       // the route's timeout expired before the response finished (504)
  kOverflow,           // a connection pool or circuit breaker limit was reached (503)
  kDirectResponse,     // not a failure: the route answers locally
  kDownstreamReset,    // the client went away
  kIdleTimeout,        // a connection or stream was idle too long
  kRequestTimeout,     // the client took too long to send its request (408)
  kDraining,           // the proxy is shutting down and refuses new work
  kRbacDenied,         // an authorization policy refused the caller (403)
  kPerTryTimeout,      // one try of a request timed out and no retry was left (504)
  kStreamIdleTimeout,  // a routed request saw no bytes either way for the route's idle timeout (504)
  // Transparent interception (ORIGINAL_DST clusters), both answered 502:
  kNoOriginalDestination,  // the connection did not come through a redirect, so it has no original destination
  kPassthroughLoop,        // the original destination is one of this proxy's own listeners
  // The control plane's store (etcd) cannot be reached or has no quorum:
  // nothing was written; the API answers 503 and the caller may retry.
  kUnavailable,
  kInternal,           // a bug: an impossible state was reached
};

// Stable, lower_snake_case name of an error, used in x-remora-error headers,
// metric labels and logs. Never changes once released.
std::string_view errorName(Error error);

}  // namespace remora::base
