#include "proxy/router/retry_state.h"

#include <algorithm>
#include <string>

namespace remora::router {
namespace {

enum Condition : uint32_t {
  k5xx = 1 << 0,
  kGatewayError = 1 << 1,
  kReset = 1 << 2,
  kConnectFailure = 1 << 3,
  kRetriable4xx = 1 << 4,
  kRefusedStream = 1 << 5,
  kRetriableStatusCodes = 1 << 6,
  kNonIdempotent = 1 << 7,
};

// gRPC status codes by their retry_on names (Envoy's x-envoy-retry-grpc-on).
struct GrpcCondition {
  std::string_view name;
  uint32_t code;
};
constexpr GrpcCondition kGrpcConditions[] = {
    {"cancelled", 1}, {"deadline-exceeded", 4}, {"resource-exhausted", 8}, {"internal", 13}, {"unavailable", 14}};

bool isIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" || method == "PUT" ||
         method == "DELETE";
}

}  // namespace

RetryConditions RetryConditions::parse(const xds::resources::RetryPolicy& policy) {
  RetryConditions out;
  for (const std::string& on : policy.retry_on) {
    if (on == "5xx") out.conditions |= k5xx;
    else if (on == "gateway-error") out.conditions |= kGatewayError;
    else if (on == "reset") out.conditions |= kReset;
    else if (on == "connect-failure") out.conditions |= kConnectFailure;
    else if (on == "retriable-4xx") out.conditions |= kRetriable4xx;
    else if (on == "refused-stream") out.conditions |= kRefusedStream;
    else if (on == "retriable-status-codes") out.conditions |= kRetriableStatusCodes;
    else if (on == "non-idempotent") out.conditions |= kNonIdempotent;
    for (const GrpcCondition& g : kGrpcConditions) {
      if (on == g.name) out.grpc_conditions |= 1u << g.code;
    }
  }
  return out;
}

RetryState::RetryState(const xds::resources::RetryPolicy& policy, RetryConditions conditions, std::string_view method,
                       bool grpc)
    : conditions_(conditions.conditions), grpc_conditions_(conditions.grpc_conditions), policy_(policy),
      max_retries_(policy.num_retries), idempotent_(isIdempotent(method)), grpc_(grpc) {}

bool RetryState::retriableAnswer(uint32_t status, std::optional<uint32_t> grpc_status) const {
  if (grpc_ && grpc_status && *grpc_status < 32 && (grpc_conditions_ & (1u << *grpc_status)) != 0) return true;
  if ((conditions_ & k5xx) && status >= 500 && status <= 599) return true;
  if ((conditions_ & kGatewayError) && (status == 502 || status == 503 || status == 504)) return true;
  if ((conditions_ & kRetriable4xx) && status == 409) return true;
  if (conditions_ & kRetriableStatusCodes) {
    const auto& codes = policy_.retriable_status_codes;
    if (std::find(codes.begin(), codes.end(), status) != codes.end()) return true;
  }
  return false;
}

bool RetryState::retriableFailure(TryFailure failure) const {
  // As in Envoy, "5xx" and "gateway-error" cover the failures a proxy would
  // itself answer with 502/503/504.
  const bool broad = (conditions_ & (k5xx | kGatewayError)) != 0;
  switch (failure) {
    case TryFailure::kConnectFailure: return broad || (conditions_ & (kConnectFailure | kReset)) != 0;
    case TryFailure::kRefusedStream: return broad || (conditions_ & (kRefusedStream | kReset)) != 0;
    case TryFailure::kReset: return broad || (conditions_ & kReset) != 0;
    case TryFailure::kPerTryTimeout: return broad || (conditions_ & kReset) != 0;
  }
  return false;
}

bool RetryState::mayRepeat(bool reached_upstream, bool grpc_answer) const {
  if (!reached_upstream || idempotent_ || (conditions_ & kNonIdempotent) != 0) return true;
  return grpc_answer;
}

std::chrono::milliseconds RetryState::nextBackoff(upstream::Random& random) {
  ++retries_done_;
  const int64_t base = std::max<int64_t>(policy_.base_interval.count(), 1);
  const int64_t cap = std::max<int64_t>(policy_.max_interval.count(), base);
  const uint32_t shift = std::min<uint32_t>(retries_done_, 20);
  const int64_t ceiling = std::min<int64_t>(base * ((int64_t{1} << shift) - 1), cap);
  return std::chrono::milliseconds(static_cast<int64_t>(random.next() % static_cast<uint64_t>(ceiling + 1)));
}

std::optional<std::chrono::milliseconds> parseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  uint64_t n = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  using std::chrono::milliseconds;
  switch (value.back()) {
    case 'H': return milliseconds(n * 3600 * 1000);
    case 'M': return milliseconds(n * 60 * 1000);
    case 'S': return milliseconds(n * 1000);
    case 'm': return milliseconds(n);
    case 'u': return milliseconds((n + 999) / 1000);  // rounded up: a deadline never shrinks to zero
    case 'n': return milliseconds((n + 999999) / 1000000);
    default: return std::nullopt;
  }
}

std::string formatGrpcTimeout(std::chrono::milliseconds timeout) {
  const int64_t ms = std::max<int64_t>(timeout.count(), 0);
  // At most 8 digits: milliseconds up to ~27 hours, seconds beyond.
  if (ms < 100000000) return std::to_string(ms) + "m";
  return std::to_string(std::min<int64_t>(ms / 1000, 99999999)) + "S";
}

}  // namespace remora::router
