#include "xds/resources/retry_policy_converter.h"

#include <algorithm>
#include <string>

#include "xds/resources/common_converters.h"

namespace remora::xds::resources {

namespace route = envoy::config::route::v3;
using base::Result;
using base::Status;

namespace {

// Remora always moves a retry to a host not tried yet when one exists, which
// is exactly this predicate; control planes (Istio) send it on every route.
constexpr std::string_view kPreviousHostsPredicate = "envoy.retry_host_predicates.previous_hosts";

std::string tokenList() {
  std::string out;
  for (std::string_view token : kRetryOnTokens) {
    if (!out.empty()) out += ", ";
    out += token;
  }
  return out;
}

Status toRetryOn(const std::string& text, std::string_view path, RetryPolicy& out) {
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    if (!isRetryOnToken(item)) {
      return unsupportedField(path, "retry condition " + quoted(item) + "; supported: " + tokenList());
    }
    if (std::find(out.retry_on.begin(), out.retry_on.end(), item) == out.retry_on.end()) {
      out.retry_on.emplace_back(item);
    }
  }
  // "non-idempotent" widens the others; on its own nothing would be retried.
  const bool only_modifier = out.retry_on.size() == 1 && out.retry_on.front() == "non-idempotent";
  if (out.retry_on.empty() || only_modifier) return invalidField(path, "names no retry condition");
  return Status::ok();
}

Status toBackOff(const route::RetryPolicy::RetryBackOff& proto, std::string_view path, RetryPolicy& out) {
  if (Status s = onlySupportedFields(proto, path, {"base_interval", "max_interval"}); !s) return s;
  const std::string base_path = fieldPath(path, "base_interval");
  if (!proto.has_base_interval()) return invalidField(base_path, "is required");
  Result<Millis> base = toPositiveMillis(proto.base_interval(), base_path);
  if (!base) return base.status();
  out.base_interval = *base;
  out.max_interval = *base * 10;  // Envoy's default: ten times the base
  if (proto.has_max_interval()) {
    const std::string max_path = fieldPath(path, "max_interval");
    Result<Millis> max = toMillis(proto.max_interval(), max_path);
    if (!max) return max.status();
    if (*max < *base) return invalidField(max_path, "must not be less than base_interval");
    out.max_interval = *max;
  }
  return Status::ok();
}

Status toHostPredicates(const route::RetryPolicy& proto, std::string_view path) {
  for (int i = 0; i < proto.retry_host_predicate_size(); ++i) {
    const route::RetryPolicy::RetryHostPredicate& predicate = proto.retry_host_predicate(i);
    const std::string item = indexPath(fieldPath(path, "retry_host_predicate"), static_cast<size_t>(i));
    if (Status s = onlySupportedFields(predicate, item, {"name", "typed_config"}); !s) return s;
    if (predicate.name() != kPreviousHostsPredicate) {
      return unsupportedField(fieldPath(item, "name"),
                              quoted(predicate.name()) + "; supported: " + std::string(kPreviousHostsPredicate));
    }
  }
  return Status::ok();
}

}  // namespace

bool isRetryOnToken(std::string_view token) {
  return std::find(std::begin(kRetryOnTokens), std::end(kRetryOnTokens), token) != std::end(kRetryOnTokens);
}

Result<RetryPolicy> toRetryPolicy(const route::RetryPolicy& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path,
                                     {"retry_on", "num_retries", "per_try_timeout", "retriable_status_codes",
                                      "retry_back_off", "retry_host_predicate", "host_selection_retry_max_attempts"});
      !s) {
    return s.error();
  }
  RetryPolicy out;
  const std::string retry_on_path = fieldPath(path, "retry_on");
  if (Status s = toRetryOn(proto.retry_on(), retry_on_path, out); !s) return s.error();
  if (proto.has_num_retries()) out.num_retries = proto.num_retries().value();
  if (proto.has_per_try_timeout()) {
    Result<Millis> timeout = toMillis(proto.per_try_timeout(), fieldPath(path, "per_try_timeout"));
    if (!timeout) return timeout.error();
    out.per_try_timeout = *timeout;
  }
  const std::string codes_path = fieldPath(path, "retriable_status_codes");
  for (int i = 0; i < proto.retriable_status_codes_size(); ++i) {
    const uint32_t code = proto.retriable_status_codes(i);
    if (code < 100 || code > 599) {
      return invalidField(indexPath(codes_path, static_cast<size_t>(i)),
                          std::to_string(code) + " is out of range 100..599");
    }
    out.retriable_status_codes.push_back(code);
  }
  const bool by_codes =
      std::find(out.retry_on.begin(), out.retry_on.end(), "retriable-status-codes") != out.retry_on.end();
  if (by_codes && out.retriable_status_codes.empty()) {
    return invalidField(codes_path, "must list a status code when retry_on has \"retriable-status-codes\"");
  }
  if (proto.has_retry_back_off()) {
    if (Status s = toBackOff(proto.retry_back_off(), fieldPath(path, "retry_back_off"), out); !s) return s.error();
  }
  if (Status s = toHostPredicates(proto, path); !s) return s.error();
  // Accepted and ignored: the host selector already avoids tried hosts
  // whenever another exists, without a bounded number of re-picks.
  if (proto.host_selection_retry_max_attempts() < 0) {
    return invalidField(fieldPath(path, "host_selection_retry_max_attempts"), "must not be negative");
  }
  return out;
}

Result<std::vector<HashPolicy>> toHashPolicies(
    const google::protobuf::RepeatedPtrField<route::RouteAction::HashPolicy>& proto, std::string_view path) {
  std::vector<HashPolicy> out;
  for (int i = 0; i < proto.size(); ++i) {
    const route::RouteAction::HashPolicy& policy = proto[i];
    const std::string item = indexPath(path, static_cast<size_t>(i));
    if (Status s = onlySupportedFields(policy, item, {"header", "cookie", "connection_properties"}); !s) {
      return s.error();
    }
    HashPolicy hash;
    switch (policy.policy_specifier_case()) {
      case route::RouteAction::HashPolicy::kHeader: {
        const std::string header_path = fieldPath(item, "header");
        if (Status s = onlySupportedFields(policy.header(), header_path, {"header_name"}); !s) return s.error();
        Result<std::string> name = toHeaderName(policy.header().header_name(), fieldPath(header_path, "header_name"));
        if (!name) return name.error();
        hash.kind = HashPolicy::Kind::kHeader;
        hash.name = std::move(*name);
        break;
      }
      case route::RouteAction::HashPolicy::kCookie: {
        const std::string cookie_path = fieldPath(item, "cookie");
        // ttl and path ask the proxy to generate the cookie; Remora only
        // hashes a cookie the client already sends.
        if (Status s = onlySupportedFields(policy.cookie(), cookie_path, {"name"}); !s) return s.error();
        if (policy.cookie().name().empty()) return invalidField(fieldPath(cookie_path, "name"), "is required");
        hash.kind = HashPolicy::Kind::kCookie;
        hash.name = policy.cookie().name();
        break;
      }
      case route::RouteAction::HashPolicy::kConnectionProperties:
        if (!policy.connection_properties().source_ip()) {
          return invalidField(fieldPath(fieldPath(item, "connection_properties"), "source_ip"), "must be true");
        }
        hash.kind = HashPolicy::Kind::kSourceIp;
        break;
      default: return invalidField(item, "one of header, cookie or connection_properties is required");
    }
    out.push_back(std::move(hash));
  }
  return out;
}

Status toHedgePolicy(const route::HedgePolicy& proto, std::string_view path, RouteAction& out) {
  if (Status s = onlySupportedFields(proto, path, {"initial_requests", "hedge_on_per_try_timeout"}); !s) return s;
  // Envoy's default is one initial request; more is refused (not implemented).
  if (proto.has_initial_requests() && proto.initial_requests().value() != 1) {
    return unsupportedField(fieldPath(path, "initial_requests"), "only 1");
  }
  out.hedge_on_per_try_timeout = proto.hedge_on_per_try_timeout();
  return Status::ok();
}

Status toMaxStreamDuration(const route::RouteAction::MaxStreamDuration& proto, std::string_view path,
                           RouteAction& out) {
  if (Status s = onlySupportedFields(proto, path, {"grpc_timeout_header_max"}); !s) return s;
  if (proto.has_grpc_timeout_header_max()) {
    Result<Millis> max = toMillis(proto.grpc_timeout_header_max(), fieldPath(path, "grpc_timeout_header_max"));
    if (!max) return max.status();
    out.grpc_timeout_header_max = *max;
  }
  return Status::ok();
}

}  // namespace remora::xds::resources
