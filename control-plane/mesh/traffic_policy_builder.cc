#include "control-plane/mesh/traffic_policy_builder.h"

#include <google/protobuf/util/time_util.h>

#include <charconv>
#include <string>

#include "remora/extensions/load_balancing_policies/peak_ewma/v1/peak_ewma.pb.h"

namespace remora::cp::mesh {

namespace cluster = envoy::config::cluster::v3;
namespace core = envoy::config::core::v3;
namespace route = envoy::config::route::v3;
using google::protobuf::util::TimeUtil;

const char* const kDefaultRetryOn[5] = {"connect-failure", "refused-stream", "unavailable", "cancelled",
                                        "retriable-status-codes"};

namespace {

google::protobuf::Duration millis(int64_t ms) { return TimeUtil::MillisecondsToDuration(ms); }

// A mesh duration when set, else the default.
google::protobuf::Duration orDefault(bool has, const google::protobuf::Duration& value, int64_t default_ms) {
  return has ? value : millis(default_ms);
}

uint32_t orDefault(uint32_t value, uint32_t default_value) { return value != 0 ? value : default_value; }

void setLoadBalancer(const v1::TrafficPolicy* policy, cluster::Cluster& out) {
  out.set_lb_policy(cluster::Cluster::ROUND_ROBIN);
  if (policy == nullptr) return;
  switch (policy->load_balancer()) {
    case v1::TrafficPolicy::LEAST_REQUEST: out.set_lb_policy(cluster::Cluster::LEAST_REQUEST); break;
    case v1::TrafficPolicy::RANDOM: out.set_lb_policy(cluster::Cluster::RANDOM); break;
    case v1::TrafficPolicy::RING_HASH: out.set_lb_policy(cluster::Cluster::RING_HASH); break;
    case v1::TrafficPolicy::MAGLEV: out.set_lb_policy(cluster::Cluster::MAGLEV); break;
    case v1::TrafficPolicy::PEAK_EWMA: {
      out.set_lb_policy(cluster::Cluster::LOAD_BALANCING_POLICY_CONFIG);
      core::TypedExtensionConfig* config =
          out.mutable_load_balancing_policy()->add_policies()->mutable_typed_extension_config();
      config->set_name("remora.load_balancing_policies.peak_ewma");
      config->mutable_typed_config()->PackFrom(remora::extensions::load_balancing_policies::peak_ewma::v1::PeakEwma());
      break;
    }
    default: break;  // ROUND_ROBIN
  }
}

void setOutlierDetection(const v1::TrafficPolicy* policy, cluster::Cluster& out) {
  const v1::OutlierDetection empty;
  const v1::OutlierDetection& in = policy != nullptr ? policy->outlier_detection() : empty;
  if (in.disabled()) return;
  cluster::OutlierDetection* od = out.mutable_outlier_detection();
  od->mutable_consecutive_5xx()->set_value(orDefault(in.consecutive_5xx(), MeshDefaults::kConsecutive5xx));
  od->mutable_enforcing_consecutive_5xx()->set_value(100);
  od->mutable_consecutive_gateway_failure()->set_value(
      orDefault(in.consecutive_gateway_failure(), MeshDefaults::kConsecutiveGatewayFailure));
  od->mutable_enforcing_consecutive_gateway_failure()->set_value(100);  // Envoy's default is 0 (off)
  if (in.consecutive_local_origin_failure() != 0) {
    // Counting connect failures and timeouts apart only when asked: otherwise
    // they count as gateway failures, which is what callers expect.
    od->set_split_external_local_origin_errors(true);
    od->mutable_consecutive_local_origin_failure()->set_value(in.consecutive_local_origin_failure());
    od->mutable_enforcing_consecutive_local_origin_failure()->set_value(100);
  }
  *od->mutable_interval() = orDefault(in.has_interval(), in.interval(), MeshDefaults::kOutlierIntervalMs);
  *od->mutable_base_ejection_time() =
      orDefault(in.has_base_ejection_time(), in.base_ejection_time(), MeshDefaults::kBaseEjectionMs);
  // Never below the base ejection time (Envoy's rule; the converter checks it).
  google::protobuf::Duration max_ejection =
      orDefault(in.has_max_ejection_time(), in.max_ejection_time(), MeshDefaults::kMaxEjectionMs);
  if (max_ejection < od->base_ejection_time()) max_ejection = od->base_ejection_time();
  *od->mutable_max_ejection_time() = max_ejection;
  od->mutable_max_ejection_percent()->set_value(orDefault(in.max_ejection_percent(), MeshDefaults::kMaxEjectionPercent));

  const v1::SuccessRateEjection& rate = in.success_rate();
  od->mutable_enforcing_success_rate()->set_value(rate.disabled() ? 0 : 100);
  od->mutable_success_rate_minimum_hosts()->set_value(
      orDefault(rate.minimum_hosts(), MeshDefaults::kSuccessRateMinimumHosts));
  od->mutable_success_rate_request_volume()->set_value(
      orDefault(rate.request_volume(), MeshDefaults::kSuccessRateRequestVolume));
  const double factor = rate.stdev_factor() > 0 ? rate.stdev_factor() : MeshDefaults::kSuccessRateStdevFactor;
  od->mutable_success_rate_stdev_factor()->set_value(static_cast<uint32_t>(factor * 1000 + 0.5));

  if (in.has_failure_percentage()) {
    const v1::FailurePercentageEjection& failure = in.failure_percentage();
    od->mutable_enforcing_failure_percentage()->set_value(100);
    od->mutable_failure_percentage_threshold()->set_value(
        orDefault(failure.threshold(), MeshDefaults::kFailurePercentageThreshold));
    od->mutable_failure_percentage_minimum_hosts()->set_value(
        orDefault(failure.minimum_hosts(), MeshDefaults::kFailurePercentageMinimumHosts));
    od->mutable_failure_percentage_request_volume()->set_value(
        orDefault(failure.request_volume(), MeshDefaults::kFailurePercentageRequestVolume));
  }
}

// "200" -> [200, 201); "200-299" -> [200, 300). Validation has checked the form.
void addStatusRange(const std::string& text, core::HealthCheck::HttpHealthCheck& out) {
  const size_t dash = text.find('-');
  int64_t start = 0;
  std::from_chars(text.data(), text.data() + (dash == std::string::npos ? text.size() : dash), start);
  int64_t last = start;
  if (dash != std::string::npos) std::from_chars(text.data() + dash + 1, text.data() + text.size(), last);
  envoy::type::v3::Int64Range* range = out.add_expected_statuses();
  range->set_start(start);
  range->set_end(last + 1);
}

void setHealthCheck(const v1::TrafficPolicy* policy, bool http2, cluster::Cluster& out) {
  if (policy == nullptr || !policy->has_health_check()) return;
  const v1::HealthCheck& in = policy->health_check();
  core::HealthCheck* hc = out.add_health_checks();
  *hc->mutable_interval() = orDefault(in.has_interval(), in.interval(), MeshDefaults::kHealthCheckIntervalMs);
  *hc->mutable_timeout() = orDefault(in.has_timeout(), in.timeout(), MeshDefaults::kHealthCheckTimeoutMs);
  if (in.has_jitter()) *hc->mutable_interval_jitter() = in.jitter();
  hc->mutable_healthy_threshold()->set_value(orDefault(in.healthy_threshold(), MeshDefaults::kHealthyThreshold));
  hc->mutable_unhealthy_threshold()->set_value(orDefault(in.unhealthy_threshold(), MeshDefaults::kUnhealthyThreshold));
  if (in.has_grpc()) {
    hc->mutable_grpc_health_check()->set_service_name(in.grpc().service_name());
  } else if (!in.path().empty()) {
    core::HealthCheck::HttpHealthCheck* http = hc->mutable_http_health_check();
    http->set_path(in.path());
    if (http2) http->set_codec_client_type(envoy::type::v3::HTTP2);
    if (in.expected_statuses().empty()) {
      addStatusRange("200-299", *http);
    } else {
      for (const std::string& status : in.expected_statuses()) addStatusRange(status, *http);
    }
  } else {
    hc->mutable_tcp_health_check();
  }
}

void setCircuitBreakers(const v1::TrafficPolicy* policy, cluster::Cluster& out) {
  cluster::CircuitBreakers::Thresholds* thresholds = out.mutable_circuit_breakers()->add_thresholds();
  if (policy != nullptr && policy->has_circuit_breakers()) {
    const v1::CircuitBreakers& limits = policy->circuit_breakers();
    // 0 means "not set" in the mesh API (proto3 has no presence for scalars).
    if (limits.max_connections() != 0) thresholds->mutable_max_connections()->set_value(limits.max_connections());
    if (limits.max_pending_requests() != 0) {
      thresholds->mutable_max_pending_requests()->set_value(limits.max_pending_requests());
    }
    if (limits.max_requests() != 0) thresholds->mutable_max_requests()->set_value(limits.max_requests());
    if (limits.max_retries() != 0) thresholds->mutable_max_retries()->set_value(limits.max_retries());
  }
  // The budget is always sent, so Envoy sidecars get it too (Envoy has none
  // by default). Off is 100 %: remora-proxy reads it as "no budget".
  const v1::RetryBudget empty;
  const v1::RetryBudget& budget = policy != nullptr ? policy->retries().budget() : empty;
  cluster::CircuitBreakers::Thresholds::RetryBudget* out_budget = thresholds->mutable_retry_budget();
  if (budget.disabled()) {
    out_budget->mutable_budget_percent()->set_value(100.0);
    return;
  }
  out_budget->mutable_budget_percent()->set_value(budget.percent() > 0 ? budget.percent()
                                                                       : MeshDefaults::kRetryBudgetPercent);
  out_budget->mutable_min_retry_concurrency()->set_value(
      orDefault(budget.min_retries_per_second(), MeshDefaults::kMinRetriesPerSecond));
}

void setRetries(const v1::TrafficPolicy* policy, route::RouteAction& out) {
  const v1::RetryPolicy empty;
  const v1::RetryPolicy& in = policy != nullptr ? policy->retries() : empty;
  if (in.disabled()) return;
  route::RetryPolicy* retry = out.mutable_retry_policy();
  std::string retry_on;
  auto add = [&retry_on](std::string_view token) {
    if (!retry_on.empty()) retry_on += ',';
    retry_on += token;
  };
  bool by_codes = false;
  if (in.retry_on().empty()) {
    for (const char* token : kDefaultRetryOn) add(token);
    by_codes = true;
  } else {
    for (const std::string& token : in.retry_on()) {
      add(token);
      if (token == "retriable-status-codes") by_codes = true;
    }
  }
  if (in.retry_non_idempotent()) add("non-idempotent");
  retry->set_retry_on(retry_on);
  retry->mutable_num_retries()->set_value(orDefault(in.attempts(), MeshDefaults::kRetryAttempts));
  if (in.has_per_try_timeout()) *retry->mutable_per_try_timeout() = in.per_try_timeout();
  if (by_codes) {
    if (in.retriable_status_codes().empty()) {
      retry->add_retriable_status_codes(MeshDefaults::kRetriableStatusCode);
    } else {
      for (uint32_t code : in.retriable_status_codes()) retry->add_retriable_status_codes(code);
    }
  }
  if (in.has_backoff() && in.backoff().has_base_interval()) {
    route::RetryPolicy::RetryBackOff* backoff = retry->mutable_retry_back_off();
    *backoff->mutable_base_interval() = in.backoff().base_interval();
    if (in.backoff().has_max_interval()) *backoff->mutable_max_interval() = in.backoff().max_interval();
  }
  // What remora-proxy does anyway, spelled out for Envoy sidecars (Istio's).
  retry->add_retry_host_predicate()->set_name("envoy.retry_host_predicates.previous_hosts");
  retry->set_host_selection_retry_max_attempts(MeshDefaults::kHostSelectionRetryMaxAttempts);
  if (in.hedge()) out.mutable_hedge_policy()->set_hedge_on_per_try_timeout(true);
}

void setHashPolicy(const v1::TrafficPolicy& policy, route::RouteAction& out) {
  const auto lb = policy.load_balancer();
  if (lb != v1::TrafficPolicy::RING_HASH && lb != v1::TrafficPolicy::MAGLEV) return;
  const v1::HashOn& on = policy.hash_on();
  switch (on.source_case()) {
    case v1::HashOn::kHeader: out.add_hash_policy()->mutable_header()->set_header_name(on.header()); break;
    case v1::HashOn::kCookie: out.add_hash_policy()->mutable_cookie()->set_name(on.cookie()); break;
    case v1::HashOn::kSourceIp:
      out.add_hash_policy()->mutable_connection_properties()->set_source_ip(true);
      break;
    case v1::HashOn::SOURCE_NOT_SET: break;  // a random pick per request
  }
}

}  // namespace

void applyClusterPolicy(const v1::TrafficPolicy* policy, bool http2, cluster::Cluster& out) {
  setLoadBalancer(policy, out);
  setOutlierDetection(policy, out);
  setHealthCheck(policy, http2, out);
  setCircuitBreakers(policy, out);
  if (policy == nullptr) return;
  if (policy->has_connect_timeout()) *out.mutable_connect_timeout() = policy->connect_timeout();
  if (policy->has_panic_threshold()) {
    out.mutable_common_lb_config()->mutable_healthy_panic_threshold()->set_value(policy->panic_threshold().value());
  }
}

void applyRoutePolicy(const v1::TrafficPolicy* policy, route::RouteAction& out) {
  setRetries(policy, out);
  if (policy == nullptr) return;
  if (policy->has_idle_timeout()) *out.mutable_idle_timeout() = policy->idle_timeout();
  setHashPolicy(*policy, out);
}

}  // namespace remora::cp::mesh
