#include "xds/resources/cluster_health_converter.h"

#include <algorithm>
#include <string>

#include "xds/resources/common_converters.h"

namespace remora::xds::resources {

namespace cluster = envoy::config::cluster::v3;
namespace core = envoy::config::core::v3;
using base::Result;
using base::Status;

namespace {

constexpr Millis kDefaultMaxEjectionTime{300000};

// A wrapped uint32 into `out` when set.
void copyIfSet(bool has, uint32_t value, uint32_t& out) {
  if (has) out = value;
}

Status durationIfSet(bool has, const google::protobuf::Duration& value, std::string_view path, Millis& out) {
  if (!has) return Status::ok();
  Result<Millis> millis = toPositiveMillis(value, path);
  if (!millis) return millis.status();
  out = *millis;
  return Status::ok();
}

// Envoy's Payload: `text` is hex ("000000FF"), `binary` raw bytes.
Result<std::string> toPayload(const core::HealthCheck::Payload& proto, std::string_view path) {
  if (proto.has_binary()) {
    if (proto.binary().empty()) return invalidField(fieldPath(path, "binary"), "must not be empty");
    return proto.binary();
  }
  const std::string& hex = proto.text();
  const std::string text_path = fieldPath(path, "text");
  if (hex.empty() || hex.size() % 2 != 0) return invalidField(text_path, "must be a non-empty even-length hex string");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = nibble(hex[i]);
    const int low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return invalidField(text_path, quoted(hex) + " is not hex");
    out += static_cast<char>(high * 16 + low);
  }
  return out;
}

Status toHttpCheck(const core::HealthCheck::HttpHealthCheck& proto, std::string_view path, HealthCheck& out) {
  if (Status s = onlySupportedFields(proto, path, {"host", "path", "expected_statuses", "codec_client_type"}); !s) {
    return s;
  }
  out.kind = HealthCheck::Kind::kHttp;
  const std::string path_path = fieldPath(path, "path");
  if (proto.path().empty() || proto.path().front() != '/') {
    return invalidField(path_path, quoted(proto.path()) + " must start with \"/\"");
  }
  if (proto.path().find_first_of(std::string_view("\r\n\0 ", 4)) != std::string::npos) {
    return invalidField(path_path, quoted(proto.path()) + " is not a valid path");
  }
  out.path = proto.path();
  if (proto.host().find_first_of(std::string_view("\r\n\0 ", 4)) != std::string::npos) {
    return invalidField(fieldPath(path, "host"), quoted(proto.host()) + " is not a valid host");
  }
  out.host = proto.host();
  switch (proto.codec_client_type()) {
    case envoy::type::v3::HTTP1: out.http2 = false; break;
    case envoy::type::v3::HTTP2: out.http2 = true; break;
    default:
      return unsupportedField(fieldPath(path, "codec_client_type"),
                              envoy::type::v3::CodecClientType_Name(proto.codec_client_type()) +
                                  "; supported: HTTP1, HTTP2");
  }
  const std::string statuses_path = fieldPath(path, "expected_statuses");
  for (int i = 0; i < proto.expected_statuses_size(); ++i) {
    const envoy::type::v3::Int64Range& range = proto.expected_statuses(i);
    // [start, end), within 100..600, as Envoy checks.
    if (range.start() < 100 || range.end() > 600 || range.start() >= range.end()) {
      return invalidField(indexPath(statuses_path, static_cast<size_t>(i)),
                          "[" + std::to_string(range.start()) + ", " + std::to_string(range.end()) +
                              ") is not a status range within [100, 600)");
    }
    out.expected_statuses.emplace_back(static_cast<uint32_t>(range.start()), static_cast<uint32_t>(range.end()));
  }
  return Status::ok();
}

Status toTcpCheck(const core::HealthCheck::TcpHealthCheck& proto, std::string_view path, HealthCheck& out) {
  if (Status s = onlySupportedFields(proto, path, {"send", "receive"}); !s) return s;
  out.kind = HealthCheck::Kind::kTcp;
  if (proto.has_send()) {
    Result<std::string> send = toPayload(proto.send(), fieldPath(path, "send"));
    if (!send) return send.status();
    out.send = std::move(*send);
  }
  for (int i = 0; i < proto.receive_size(); ++i) {
    Result<std::string> receive =
        toPayload(proto.receive(i), indexPath(fieldPath(path, "receive"), static_cast<size_t>(i)));
    if (!receive) return receive.status();
    out.receive.push_back(std::move(*receive));
  }
  return Status::ok();
}

Status toGrpcCheck(const core::HealthCheck::GrpcHealthCheck& proto, std::string_view path, HealthCheck& out) {
  if (Status s = onlySupportedFields(proto, path, {"service_name", "authority"}); !s) return s;
  out.kind = HealthCheck::Kind::kGrpc;
  out.service_name = proto.service_name();
  out.authority = proto.authority();
  return Status::ok();
}

Status thresholdIfSet(bool has, uint32_t value, std::string_view path, uint32_t& out) {
  if (!has) return Status::ok();
  if (value < 1) return invalidField(path, "must be at least 1");
  out = value;
  return Status::ok();
}

}  // namespace

Result<OutlierDetection> toOutlierDetection(const cluster::OutlierDetection& proto, std::string_view path) {
  if (Status s = onlySupportedFields(
          proto, path,
          {"consecutive_5xx", "interval", "base_ejection_time", "max_ejection_percent", "enforcing_consecutive_5xx",
           "enforcing_success_rate", "success_rate_minimum_hosts", "success_rate_request_volume",
           "success_rate_stdev_factor", "consecutive_gateway_failure", "enforcing_consecutive_gateway_failure",
           "split_external_local_origin_errors", "consecutive_local_origin_failure",
           "enforcing_consecutive_local_origin_failure", "failure_percentage_threshold",
           "enforcing_failure_percentage", "enforcing_failure_percentage_local_origin",
           "failure_percentage_minimum_hosts", "failure_percentage_request_volume", "max_ejection_time"});
      !s) {
    return s.error();
  }
  OutlierDetection out;
  copyIfSet(proto.has_consecutive_5xx(), proto.consecutive_5xx().value(), out.consecutive_5xx);
  copyIfSet(proto.has_consecutive_gateway_failure(), proto.consecutive_gateway_failure().value(),
            out.consecutive_gateway_failure);
  copyIfSet(proto.has_consecutive_local_origin_failure(), proto.consecutive_local_origin_failure().value(),
            out.consecutive_local_origin_failure);
  copyIfSet(proto.has_success_rate_minimum_hosts(), proto.success_rate_minimum_hosts().value(),
            out.success_rate_minimum_hosts);
  copyIfSet(proto.has_success_rate_request_volume(), proto.success_rate_request_volume().value(),
            out.success_rate_request_volume);
  copyIfSet(proto.has_success_rate_stdev_factor(), proto.success_rate_stdev_factor().value(),
            out.success_rate_stdev_factor);
  copyIfSet(proto.has_failure_percentage_minimum_hosts(), proto.failure_percentage_minimum_hosts().value(),
            out.failure_percentage_minimum_hosts);
  copyIfSet(proto.has_failure_percentage_request_volume(), proto.failure_percentage_request_volume().value(),
            out.failure_percentage_request_volume);
  out.split_external_local_origin_errors = proto.split_external_local_origin_errors();

  struct PercentField {
    bool has;
    uint32_t value;
    std::string_view name;
    uint32_t& out;
  };
  const PercentField percents[] = {
      {proto.has_max_ejection_percent(), proto.max_ejection_percent().value(), "max_ejection_percent",
       out.max_ejection_percent},
      {proto.has_enforcing_consecutive_5xx(), proto.enforcing_consecutive_5xx().value(), "enforcing_consecutive_5xx",
       out.enforcing_consecutive_5xx},
      {proto.has_enforcing_consecutive_gateway_failure(), proto.enforcing_consecutive_gateway_failure().value(),
       "enforcing_consecutive_gateway_failure", out.enforcing_consecutive_gateway_failure},
      {proto.has_enforcing_consecutive_local_origin_failure(),
       proto.enforcing_consecutive_local_origin_failure().value(), "enforcing_consecutive_local_origin_failure",
       out.enforcing_consecutive_local_origin_failure},
      {proto.has_enforcing_success_rate(), proto.enforcing_success_rate().value(), "enforcing_success_rate",
       out.enforcing_success_rate},
      {proto.has_failure_percentage_threshold(), proto.failure_percentage_threshold().value(),
       "failure_percentage_threshold", out.failure_percentage_threshold},
      {proto.has_enforcing_failure_percentage(), proto.enforcing_failure_percentage().value(),
       "enforcing_failure_percentage", out.enforcing_failure_percentage},
      {proto.has_enforcing_failure_percentage_local_origin(),
       proto.enforcing_failure_percentage_local_origin().value(), "enforcing_failure_percentage_local_origin",
       out.enforcing_failure_percentage_local_origin},
  };
  for (const PercentField& field : percents) {
    if (!field.has) continue;
    if (Status s = checkPercent(field.value, fieldPath(path, field.name)); !s) return s.error();
    field.out = field.value;
  }

  if (Status s = durationIfSet(proto.has_interval(), proto.interval(), fieldPath(path, "interval"), out.interval); !s) {
    return s.error();
  }
  if (Status s = durationIfSet(proto.has_base_ejection_time(), proto.base_ejection_time(),
                               fieldPath(path, "base_ejection_time"), out.base_ejection_time);
      !s) {
    return s.error();
  }
  if (proto.has_max_ejection_time()) {
    const std::string max_path = fieldPath(path, "max_ejection_time");
    if (Status s = durationIfSet(true, proto.max_ejection_time(), max_path, out.max_ejection_time); !s) {
      return s.error();
    }
    if (out.max_ejection_time < out.base_ejection_time) {
      return invalidField(max_path, "must not be less than base_ejection_time");
    }
  } else {
    out.max_ejection_time = std::max(kDefaultMaxEjectionTime, out.base_ejection_time);
  }
  return out;
}

Result<HealthCheck> toHealthCheck(const core::HealthCheck& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path,
                                     {"timeout", "interval", "interval_jitter", "interval_jitter_percent",
                                      "unhealthy_threshold", "healthy_threshold", "http_health_check",
                                      "tcp_health_check", "grpc_health_check"});
      !s) {
    return s.error();
  }
  HealthCheck out;
  if (Status s = durationIfSet(proto.has_timeout(), proto.timeout(), fieldPath(path, "timeout"), out.timeout); !s) {
    return s.error();
  }
  if (Status s = durationIfSet(proto.has_interval(), proto.interval(), fieldPath(path, "interval"), out.interval);
      !s) {
    return s.error();
  }
  if (proto.has_interval_jitter()) {
    Result<Millis> jitter = toMillis(proto.interval_jitter(), fieldPath(path, "interval_jitter"));
    if (!jitter) return jitter.error();
    out.interval_jitter = *jitter;
  }
  out.interval_jitter_percent = proto.interval_jitter_percent();
  if (Status s = checkPercent(out.interval_jitter_percent, fieldPath(path, "interval_jitter_percent")); !s) {
    return s.error();
  }
  if (Status s = thresholdIfSet(proto.has_unhealthy_threshold(), proto.unhealthy_threshold().value(),
                                fieldPath(path, "unhealthy_threshold"), out.unhealthy_threshold);
      !s) {
    return s.error();
  }
  if (Status s = thresholdIfSet(proto.has_healthy_threshold(), proto.healthy_threshold().value(),
                                fieldPath(path, "healthy_threshold"), out.healthy_threshold);
      !s) {
    return s.error();
  }
  Status checker = Status::ok();
  switch (proto.health_checker_case()) {
    case core::HealthCheck::kHttpHealthCheck:
      checker = toHttpCheck(proto.http_health_check(), fieldPath(path, "http_health_check"), out);
      break;
    case core::HealthCheck::kTcpHealthCheck:
      checker = toTcpCheck(proto.tcp_health_check(), fieldPath(path, "tcp_health_check"), out);
      break;
    case core::HealthCheck::kGrpcHealthCheck:
      checker = toGrpcCheck(proto.grpc_health_check(), fieldPath(path, "grpc_health_check"), out);
      break;
    default:
      return invalidField(path, "one of http_health_check, tcp_health_check or grpc_health_check is required");
  }
  if (!checker) return checker.error();
  return out;
}

}  // namespace remora::xds::resources
