// RetryState: the retry rules of one routed request — which failures and
// answers are worth another try, how many tries are left, whether the method
// allows a retry once the upstream may have acted on it, and how long to back
// off. The router asks; it owns the budget and the timers.
//
// Worker-local, one per request that has a retry policy.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "proxy/upstream/load_balancer.h"
#include "xds/resources/model.h"

namespace remora::router {

// How a try ended without a usable answer.
enum class TryFailure : uint8_t {
  kConnectFailure,  // the connection never came up (refused, unreachable, connect timeout)
  kRefusedStream,   // HTTP/2 REFUSED_STREAM: the upstream never processed the request
  kReset,           // reset or closed before the response headers
  kPerTryTimeout,   // no response headers within the per-try timeout
};

// A retry policy's retry_on tokens as bit sets: compiled once per route
// (RouteTable), so a request does no string work to learn its conditions.
struct RetryConditions {
  uint32_t conditions = 0;       // bit set of retry_state.cc's Condition
  uint32_t grpc_conditions = 0;  // bit per gRPC status code
  static RetryConditions parse(const xds::resources::RetryPolicy& policy);
};

class RetryState {
 public:
  // `method`: the request's; `grpc`: the request is a gRPC call;
  // `conditions`: the policy's, compiled with the route.
  RetryState(const xds::resources::RetryPolicy& policy, RetryConditions conditions, std::string_view method,
             bool grpc);

  // Whether an answer calls for a retry under the policy's conditions (not
  // counting tries left or the method): `grpc_status` is the grpc-status of a
  // trailers-only gRPC answer.
  bool retriableAnswer(uint32_t status, std::optional<uint32_t> grpc_status) const;
  bool retriableFailure(TryFailure failure) const;
  // Whether a try that may have reached the upstream can be repeated: true for
  // idempotent methods (RFC 9110: GET, HEAD, OPTIONS, TRACE, PUT, DELETE), for
  // routes that opt in with "non-idempotent", and for gRPC answers with a
  // status the policy lists (the server said it did not act). A try that
  // provably never reached the upstream (connect failure, REFUSED_STREAM) can
  // always be repeated.
  bool mayRepeat(bool reached_upstream, bool grpc_answer) const;

  std::optional<std::chrono::milliseconds> perTryTimeout() const { return policy_.per_try_timeout; }
  bool triesLeft() const { return retries_done_ < max_retries_; }
  uint32_t retriesDone() const { return retries_done_; }
  // Counts a retry and returns its backoff: full jitter over an exponential
  // ceiling, min(base * (2^n - 1), max) for the n-th retry.
  std::chrono::milliseconds nextBackoff(upstream::Random& random);

 private:
  uint32_t conditions_ = 0;  // bit set of Condition
  uint32_t grpc_conditions_ = 0;  // bit per gRPC status code
  const xds::resources::RetryPolicy& policy_;
  uint32_t max_retries_;
  uint32_t retries_done_ = 0;
  bool idempotent_;
  bool grpc_;
};

// A gRPC timeout header value ("100m", "5S", "1H") in milliseconds; nullopt
// when malformed (gRPC's grammar: 1..8 digits and a unit of H M S m u n).
std::optional<std::chrono::milliseconds> parseGrpcTimeout(std::string_view value);
// The header value for a timeout: milliseconds, or seconds when too large.
std::string formatGrpcTimeout(std::chrono::milliseconds timeout);

}  // namespace remora::router
