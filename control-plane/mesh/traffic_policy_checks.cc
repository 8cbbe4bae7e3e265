// checkTrafficPolicySpec (declared in spec_checks.h): a TrafficPolicy's
// fields, each against the rule remora-proxy's converters apply to what it
// becomes (traffic_policy_builder.cc), so a policy the API accepts never
// turns into a NACK. Split from spec_checks.cc by size.
#include <charconv>
#include <string>

#include "control-plane/mesh/spec_checks.h"
#include "xds/resources/retry_policy_converter.h"

namespace remora::cp::mesh {

namespace v1 = ::remora::mesh::v1;
using base::Status;

namespace {

constexpr uint32_t kMaxRetryAttempts = 10;

int64_t totalNanos(const google::protobuf::Duration& d) { return d.seconds() * 1000000000 + d.nanos(); }


bool parseStatus(std::string_view text, uint32_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 100 && out <= 599;
}

// "200" or "200-299", inclusive, within 100..599.
Status checkStatusRange(const std::string& text, std::string_view path) {
  const size_t dash = text.find('-');
  uint32_t first = 0;
  uint32_t last = 0;
  const bool ok = dash == std::string::npos
                      ? parseStatus(text, first)
                      : parseStatus(std::string_view(text).substr(0, dash), first) &&
                            parseStatus(std::string_view(text).substr(dash + 1), last) && first <= last;
  if (!ok) return invalidAt(path, "\"" + text + "\" is not a status (\"200\") or range (\"200-299\") within 100..599");
  return Status::ok();
}

Status checkRetries(const v1::RetryPolicy& policy, std::string_view retries) {
  if (policy.attempts() > kMaxRetryAttempts) return invalidAt(pathOf(retries, "attempts"), "must be 0..10");
  if (Status s = checkDuration(policy.has_per_try_timeout(), policy.per_try_timeout(),
                               pathOf(retries, "per_try_timeout"), true);
      !s) {
    return s;
  }
  for (int i = 0; i < policy.retry_on_size(); ++i) {
    const std::string& token = policy.retry_on(i);
    if (token == "non-idempotent") {
      return invalidAt(pathOf(pathOf(retries, "retry_on"), i), "use retry_non_idempotent: true instead");
    }
    if (!xds::resources::isRetryOnToken(token)) {
      return invalidAt(pathOf(pathOf(retries, "retry_on"), i),
                       "\"" + token +
                           "\" is not one of 5xx, gateway-error, reset, connect-failure, retriable-4xx, "
                           "refused-stream, retriable-status-codes, cancelled, deadline-exceeded, internal, "
                           "resource-exhausted, unavailable");
    }
  }
  for (int i = 0; i < policy.retriable_status_codes_size(); ++i) {
    const uint32_t code = policy.retriable_status_codes(i);
    if (code < 100 || code > 599) return invalidAt(pathOf(pathOf(retries, "retriable_status_codes"), i), "must be 100..599");
  }
  const std::string backoff = pathOf(retries, "backoff");
  const v1::RetryBackoff& b = policy.backoff();
  if (Status s = checkDuration(b.has_base_interval(), b.base_interval(), pathOf(backoff, "base_interval"), true); !s) {
    return s;
  }
  if (Status s = checkDuration(b.has_max_interval(), b.max_interval(), pathOf(backoff, "max_interval"), true); !s) {
    return s;
  }
  if (b.has_max_interval() && !b.has_base_interval()) {
    return invalidAt(pathOf(backoff, "base_interval"), "is required with max_interval");
  }
  if (b.has_max_interval() && totalNanos(b.max_interval()) < totalNanos(b.base_interval())) {
    return invalidAt(pathOf(backoff, "max_interval"), "must not be less than base_interval");
  }
  const v1::RetryBudget& budget = policy.budget();
  if (!(budget.percent() >= 0 && budget.percent() < 100)) {
    return invalidAt(pathOf(pathOf(retries, "budget"), "percent"),
                     "must be 0..100 (0: the default, 20); use disabled: true to turn the budget off");
  }
  // A hedge starts on a per-try timeout; without one it could never fire.
  if (policy.hedge() && !policy.has_per_try_timeout()) {
    return invalidAt(pathOf(retries, "hedge"), "needs per_try_timeout");
  }
  return Status::ok();
}

Status checkOutlier(const v1::OutlierDetection& od, std::string_view outlier) {
  if (od.max_ejection_percent() > 100) return invalidAt(pathOf(outlier, "max_ejection_percent"), "must be 0..100");
  if (Status s = checkDuration(od.has_interval(), od.interval(), pathOf(outlier, "interval"), true); !s) return s;
  if (Status s = checkDuration(od.has_base_ejection_time(), od.base_ejection_time(),
                               pathOf(outlier, "base_ejection_time"), true);
      !s) {
    return s;
  }
  if (Status s = checkDuration(od.has_max_ejection_time(), od.max_ejection_time(),
                               pathOf(outlier, "max_ejection_time"), true);
      !s) {
    return s;
  }
  if (od.has_max_ejection_time() && od.has_base_ejection_time() &&
      totalNanos(od.max_ejection_time()) < totalNanos(od.base_ejection_time())) {
    return invalidAt(pathOf(outlier, "max_ejection_time"), "must not be less than base_ejection_time");
  }
  if (!(od.success_rate().stdev_factor() >= 0 && od.success_rate().stdev_factor() <= 1000)) {
    return invalidAt(pathOf(pathOf(outlier, "success_rate"), "stdev_factor"), "must be 0..1000");
  }
  if (od.failure_percentage().threshold() > 100) {
    return invalidAt(pathOf(pathOf(outlier, "failure_percentage"), "threshold"), "must be 0..100");
  }
  return Status::ok();
}

Status checkHealthCheck(const v1::HealthCheck& check, std::string_view hc) {
  if (!check.path().empty() && check.path().front() != '/') return invalidAt(pathOf(hc, "path"), "must start with '/'");
  if (check.path().find_first_of(std::string_view("\r\n\0 ", 4)) != std::string::npos) {
    return invalidAt(pathOf(hc, "path"), "must not contain spaces or control characters");
  }
  if (check.has_grpc() && !check.path().empty()) return invalidAt(pathOf(hc, "grpc"), "set either path or grpc, not both");
  if (!check.expected_statuses().empty() && check.path().empty()) {
    return invalidAt(pathOf(hc, "expected_statuses"), "is for HTTP checks (set path)");
  }
  for (int i = 0; i < check.expected_statuses_size(); ++i) {
    if (Status s = checkStatusRange(check.expected_statuses(i), pathOf(pathOf(hc, "expected_statuses"), i)); !s) {
      return s;
    }
  }
  if (Status s = checkDuration(check.has_interval(), check.interval(), pathOf(hc, "interval"), true); !s) return s;
  if (Status s = checkDuration(check.has_timeout(), check.timeout(), pathOf(hc, "timeout"), true); !s) return s;
  return checkDuration(check.has_jitter(), check.jitter(), pathOf(hc, "jitter"), false);
}

Status checkHashOn(const v1::TrafficPolicy& spec, std::string_view path) {
  const std::string hash = pathOf(path, "hash_on");
  const auto lb = spec.load_balancer();
  if (lb != v1::TrafficPolicy::RING_HASH && lb != v1::TrafficPolicy::MAGLEV) {
    return invalidAt(hash, "is only for load_balancer RING_HASH or MAGLEV");
  }
  const v1::HashOn& on = spec.hash_on();
  switch (on.source_case()) {
    case v1::HashOn::kHeader:
      if (!isHeaderName(on.header())) return invalidAt(pathOf(hash, "header"), "must be a lower-case header name");
      break;
    case v1::HashOn::kCookie:
      if (on.cookie().empty()) return invalidAt(pathOf(hash, "cookie"), "must not be empty");
      break;
    case v1::HashOn::kSourceIp:
      if (!on.source_ip()) return invalidAt(pathOf(hash, "source_ip"), "must be true");
      break;
    case v1::HashOn::SOURCE_NOT_SET: return invalidAt(hash, "one of header, cookie or source_ip is required");
  }
  return Status::ok();
}

}  // namespace

Status checkTrafficPolicySpec(const v1::TrafficPolicy& spec, std::string_view path) {
  if (spec.service().empty()) return invalidAt(pathOf(path, "service"), "is required");
  if (!isDnsLabel(spec.service())) {
    return invalidAt(pathOf(path, "service"), "must be a DNS-1123 label (a service name)");
  }
  if (Status s = checkDuration(spec.has_connect_timeout(), spec.connect_timeout(), pathOf(path, "connect_timeout"),
                               true);
      !s) {
    return s;
  }
  if (Status s = checkDuration(spec.has_request_timeout(), spec.request_timeout(), pathOf(path, "request_timeout"),
                               false);
      !s) {
    return s;
  }
  if (Status s = checkDuration(spec.has_idle_timeout(), spec.idle_timeout(), pathOf(path, "idle_timeout"), true); !s) {
    return s;
  }
  if (spec.has_retries()) {
    if (Status s = checkRetries(spec.retries(), pathOf(path, "retries")); !s) return s;
  }
  if (spec.has_outlier_detection()) {
    if (Status s = checkOutlier(spec.outlier_detection(), pathOf(path, "outlier_detection")); !s) return s;
  }
  if (spec.has_health_check()) {
    if (Status s = checkHealthCheck(spec.health_check(), pathOf(path, "health_check")); !s) return s;
  }
  if (spec.has_hash_on()) {
    if (Status s = checkHashOn(spec, path); !s) return s;
  }
  if (spec.has_panic_threshold()) {
    const double value = spec.panic_threshold().value();
    if (!(value >= 0 && value <= 100)) return invalidAt(pathOf(path, "panic_threshold"), "must be 0..100");
  }
  return Status::ok();
}

}  // namespace remora::cp::mesh
