#include "control-plane/mesh/proxy_identity.h"

#include <google/protobuf/struct.pb.h>

#include <algorithm>
#include <charconv>

#include "control-plane/mesh/spec_checks.h"

namespace remora::cp::mesh {

using base::Result;

namespace {

constexpr std::string_view kAppPortsPath = "node.metadata.APP_PORTS";

Result<uint32_t> parsePort(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  uint32_t port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    return invalidAt(kAppPortsPath, "\"" + std::string(text) + "\" is not a port 1..65535");
  }
  return port;
}

Result<std::string> stringField(const google::protobuf::Struct& metadata, const std::string& key) {
  auto it = metadata.fields().find(key);
  if (it == metadata.fields().end()) return std::string();
  if (it->second.kind_case() != google::protobuf::Value::kStringValue) {
    return invalidAt("node.metadata." + key, "must be a string");
  }
  return it->second.string_value();
}

// "ip:port" of a listener; an IPv6 host in brackets ("[::]:15001").
base::Status listenAddress(const google::protobuf::Struct& metadata, const std::string& key, std::string& host,
                           uint32_t& port) {
  Result<std::string> text = stringField(metadata, key);
  if (!text) return text.error();
  if (text->empty()) return base::Status::ok();
  auto parsed = parseIpPort(*text);
  if (!parsed) return invalidAt("node.metadata." + key, parsed.error().message);
  host = std::move(parsed->first);
  port = parsed->second;
  return base::Status::ok();
}

}  // namespace

Result<std::vector<uint32_t>> parseAppPorts(std::string_view text) {
  std::vector<uint32_t> ports;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    Result<uint32_t> port = parsePort(text.substr(0, comma));
    if (!port) return port.error();
    if (std::find(ports.begin(), ports.end(), *port) != ports.end()) {
      return invalidAt(kAppPortsPath, std::to_string(*port) + " is listed twice");
    }
    ports.push_back(*port);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return ports;
}

Result<ProxyIdentity> proxyIdentityFromNode(const envoy::config::core::v3::Node& node) {
  ProxyIdentity identity;
  const google::protobuf::Struct& metadata = node.metadata();
  Result<std::string> service = stringField(metadata, "REMORA_SERVICE");
  if (!service) return service.error();
  identity.service = std::move(*service);
  Result<std::string> namespace_ = stringField(metadata, "REMORA_NAMESPACE");
  if (!namespace_) return namespace_.error();
  if (!namespace_->empty()) identity.namespace_ = std::move(*namespace_);
  Result<std::string> account = stringField(metadata, "REMORA_SERVICE_ACCOUNT");
  if (!account) return account.error();
  identity.service_account = account->empty() ? identity.service : std::move(*account);
  Result<std::string> pod_ip = stringField(metadata, "POD_IP");
  if (!pod_ip) return pod_ip.error();
  identity.pod_ip = std::move(*pod_ip);
  Result<std::string> app_address = stringField(metadata, "APP_ADDRESS");
  if (!app_address) return app_address.error();
  if (!app_address->empty()) {
    if (!isIpLiteral(*app_address)) {
      return invalidAt("node.metadata.APP_ADDRESS", "\"" + *app_address + "\" is not an IP address");
    }
    identity.app_address = std::move(*app_address);
  }

  Result<std::string> mode = stringField(metadata, "INTERCEPTION_MODE");
  if (!mode) return mode.error();
  if (*mode == "REDIRECT") {
    identity.interception = InterceptionMode::kRedirect;
  } else if (!mode->empty() && *mode != "NONE") {
    return invalidAt("node.metadata.INTERCEPTION_MODE", "\"" + *mode + "\" is not REDIRECT or NONE");
  }

  if (auto s = listenAddress(metadata, "OUTBOUND_ADDRESS", identity.outbound_host, identity.outbound_port); !s) {
    return s.error();
  }
  if (auto s = listenAddress(metadata, "INBOUND_ADDRESS", identity.inbound_host, identity.inbound_port); !s) {
    return s.error();
  }
  identity.api_listeners = node.user_agent_name() != "remora-proxy" && node.user_agent_name() != "envoy";
  identity.region = node.locality().region();
  identity.zone = node.locality().zone();
  auto labels = metadata.fields().find("LABELS");
  if (labels != metadata.fields().end()) {
    if (labels->second.kind_case() != google::protobuf::Value::kStructValue) {
      return invalidAt("node.metadata.LABELS", "must be a map of strings");
    }
    for (const auto& [key, value] : labels->second.struct_value().fields()) {
      if (value.kind_case() != google::protobuf::Value::kStringValue) {
        return invalidAt("node.metadata.LABELS." + key, "must be a string");
      }
      identity.labels[key] = value.string_value();
    }
  }

  auto ports = metadata.fields().find("APP_PORTS");
  if (ports != metadata.fields().end()) {
    const google::protobuf::Value& value = ports->second;
    if (value.kind_case() == google::protobuf::Value::kStringValue) {
      Result<std::vector<uint32_t>> parsed = parseAppPorts(value.string_value());
      if (!parsed) return parsed.error();
      identity.app_ports = std::move(*parsed);
    } else if (value.kind_case() == google::protobuf::Value::kListValue) {
      std::string joined;
      for (const google::protobuf::Value& item : value.list_value().values()) {
        if (item.kind_case() != google::protobuf::Value::kNumberValue) {
          return invalidAt(kAppPortsPath, "must be a comma-separated string or a list of numbers");
        }
        if (!joined.empty()) joined += ',';
        joined += std::to_string(static_cast<int64_t>(item.number_value()));
      }
      Result<std::vector<uint32_t>> parsed = parseAppPorts(joined);
      if (!parsed) return parsed.error();
      identity.app_ports = std::move(*parsed);
    } else {
      return invalidAt(kAppPortsPath, "must be a comma-separated string or a list of numbers");
    }
  }
  return identity;
}

}  // namespace remora::cp::mesh
