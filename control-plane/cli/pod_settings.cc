#include "control-plane/cli/pod_settings.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>

namespace remora::cli {

namespace {

using base::Error;
using base::fail;

constexpr std::string_view kContainerNames[] = {"remora-init", "remora-proxy"};
constexpr std::string_view kVolumeNames[] = {"remora-token", "remora-root-ca"};
// The proxy's own ports: an app listening there would collide with the sidecar
// in the shared network namespace.
constexpr uint16_t kProxyPorts[] = {15000, 15001, 15006};

std::string join(std::string_view path, std::string_view rest) {
  if (path.empty()) return std::string(rest);
  return std::string(path) + "." + std::string(rest);
}

std::string annotationPath(std::string_view path, std::string_view key) {
  return join(path, "metadata.annotations[" + std::string(key) + "]");
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> splitList(std::string_view text) {
  std::vector<std::string_view> items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    items.push_back(trim(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return items;
}

// An annotation's value: nullopt when absent; a failure when present but not
// a string (Kubernetes itself refuses `remora.io/inject: false` unquoted).
base::Result<std::optional<std::string>> annotation(const JsonValue* metadata, std::string_view key,
                                                    std::string_view path) {
  const JsonValue* value = member(member(metadata, "annotations"), key);
  if (value == nullptr) return std::optional<std::string>();
  if (!value->has_string_value()) {
    return fail(Error::kInvalidArgument,
                annotationPath(path, key) + ": must be a string (quote it: " + quoted(scalarText(value)) + ")");
  }
  return std::optional<std::string>(value->string_value());
}

std::optional<uint16_t> portNumber(std::string_view text) {
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const long value = std::strtol(std::string(text).c_str(), nullptr, 10);
  if (value < 1 || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

base::Status checkNotProxyPort(uint16_t port, const std::string& where) {
  if (std::find(std::begin(kProxyPorts), std::end(kProxyPorts), port) != std::end(kProxyPorts)) {
    return fail(Error::kInvalidArgument,
                where + ": port " + std::to_string(port) + " is the sidecar's own (15000 admin, 15001, 15006)");
  }
  return {};
}

// "P,P" -> ports, duplicates dropped (first kept); "" is the empty list.
base::Result<std::vector<uint16_t>> portList(std::string_view text, const std::string& where) {
  std::vector<uint16_t> ports;
  if (trim(text).empty()) return ports;
  for (std::string_view item : splitList(text)) {
    const std::optional<uint16_t> port = portNumber(item);
    if (!port) {
      return fail(Error::kInvalidArgument, where + ": " + quoted(text) + " is not a comma-separated list of ports (1..65535)");
    }
    if (std::find(ports.begin(), ports.end(), *port) == ports.end()) ports.push_back(*port);
  }
  return ports;
}

std::string portText(const std::vector<uint16_t>& ports) {
  std::string out;
  for (uint16_t port : ports) out += (out.empty() ? "" : ",") + std::to_string(port);
  return out;
}

bool isCidr(std::string_view item) {
  const size_t slash = item.find('/');
  const std::string host(item.substr(0, slash));
  std::array<unsigned char, 16> bytes{};
  int max_len = 0;
  if (::inet_pton(AF_INET, host.c_str(), bytes.data()) == 1) {
    max_len = 32;
  } else if (::inet_pton(AF_INET6, host.c_str(), bytes.data()) == 1) {
    max_len = 128;
  } else {
    return false;
  }
  if (slash == std::string_view::npos) return true;
  const std::string_view len = item.substr(slash + 1);
  if (len.empty() || len.size() > 3 || !std::all_of(len.begin(), len.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  return std::atoi(std::string(len).c_str()) <= max_len;
}

base::Result<std::string> cidrList(std::string_view text, const std::string& where) {
  std::string out;
  if (trim(text).empty()) return out;
  for (std::string_view item : splitList(text)) {
    if (!isCidr(item)) {
      return fail(Error::kInvalidArgument, where + ": " + quoted(item) + " is not an IPv4 or IPv6 CIDR (ADDR/LEN)");
    }
    out += (out.empty() ? "" : ",") + std::string(item);
  }
  return out;
}

// The containers' TCP containerPorts, in order, without duplicates.
base::Result<std::vector<uint16_t>> containerPorts(const JsonValue& spec, std::string_view path) {
  std::vector<uint16_t> ports;
  const auto& containers = listItems(member(&spec, "containers"));
  for (int i = 0; i < containers.size(); ++i) {
    const auto& declared = listItems(member(&containers[i], "ports"));
    for (int j = 0; j < declared.size(); ++j) {
      const std::string protocol = scalarText(member(&declared[j], "protocol"));
      if (!protocol.empty() && protocol != "TCP") continue;  // the mesh carries TCP only
      const std::string where =
          join(path, "spec.containers[" + std::to_string(i) + "].ports[" + std::to_string(j) + "].containerPort");
      const JsonValue* value = member(&declared[j], "containerPort");
      const std::optional<uint16_t> port =
          value != nullptr && value->has_number_value() ? portNumber(scalarText(value)) : std::nullopt;
      if (!port) return fail(Error::kInvalidArgument, where + ": " + quoted(scalarText(value)) + " is not a port (1..65535)");
      if (auto status = checkNotProxyPort(*port, where); !status) return status.error();
      if (std::find(ports.begin(), ports.end(), *port) == ports.end()) ports.push_back(*port);
    }
  }
  return ports;
}

// Names the injected containers and volumes use must be free, or the pod
// would be refused by the API server (or worse, we would read the user's).
base::Status checkReservedNames(const JsonValue& spec, std::string_view path) {
  for (std::string_view list : {"initContainers", "containers", "volumes"}) {
    const auto& items = listItems(member(&spec, list));
    for (int i = 0; i < items.size(); ++i) {
      const std::string name = scalarText(member(&items[i], "name"));
      const bool reserved = list == "volumes" ? std::find(std::begin(kVolumeNames), std::end(kVolumeNames), name) !=
                                                    std::end(kVolumeNames)
                                              : std::find(std::begin(kContainerNames), std::end(kContainerNames),
                                                          name) != std::end(kContainerNames);
      if (reserved) {
        return fail(Error::kInvalidArgument,
                    join(path, "spec." + std::string(list) + "[" + std::to_string(i) + "].name") + ": " +
                        quoted(name) + " is reserved for the injected sidecar, but remora.io/injected is not set");
      }
    }
  }
  return {};
}

base::Status readResources(const JsonValue* metadata, std::string_view path, PodSettings& settings) {
  struct Knob {
    std::string_view key;
    std::string* request;
    std::string* limit;
  };
  for (const Knob& knob : {Knob{"remora.io/proxy-cpu", &settings.cpu_request, &settings.cpu_limit},
                           Knob{"remora.io/proxy-memory", &settings.memory_request, &settings.memory_limit}}) {
    auto value = annotation(metadata, knob.key, path);
    if (!value) return value.error();
    if (!*value) continue;
    const std::string text(trim(**value));
    const std::optional<double> amount = parseQuantity(text);
    if (!amount || *amount <= 0) {
      return fail(Error::kInvalidArgument, annotationPath(path, knob.key) + ": " + quoted(**value) +
                                               " is not a positive Kubernetes quantity (250m, 1, 128Mi)");
    }
    *knob.request = text;
    // A request above the limit is refused by the API server; the annotation
    // asks for at least that much, so the limit follows it up.
    if (*amount > *parseQuantity(*knob.limit)) *knob.limit = text;
  }
  return {};
}

base::Result<std::string> serviceName(const JsonValue* metadata, std::string_view workload_name,
                                      std::string_view path) {
  auto from_annotation = annotation(metadata, "remora.io/service", path);
  if (!from_annotation) return from_annotation.error();
  std::string where = annotationPath(path, "remora.io/service");
  std::string name;
  if (*from_annotation) {
    name = std::string(trim(**from_annotation));
  } else if (const JsonValue* app = member(member(metadata, "labels"), "app"); app != nullptr) {
    name = scalarText(app);
    where = join(path, "metadata.labels[app]");
  } else {
    name = std::string(workload_name);
    where = "metadata.name";
  }
  if (name.empty()) {
    return fail(Error::kInvalidArgument, where + ": the service name is empty (set remora.io/service)");
  }
  for (char c : name) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '$' || c == '(' || c == ')') {
      return fail(Error::kInvalidArgument, where + ": " + quoted(name) + " cannot name a mesh service");
    }
  }
  return name;
}

}  // namespace

base::Status checkInjectOptions(const InjectOptions& options) {
  const size_t colon = options.control_plane.rfind(':');
  if (colon == std::string::npos || colon == 0 || !portNumber(options.control_plane.substr(colon + 1))) {
    return fail(Error::kInvalidArgument,
                "--control-plane: " + quoted(options.control_plane) + " is not HOST:PORT");
  }
  if (options.image.empty() || options.image.find_first_of(" \t\n") != std::string::npos) {
    return fail(Error::kInvalidArgument, "--image: " + quoted(options.image) + " is not an image reference");
  }
  if (options.proxy_uid == 0) {
    return fail(Error::kInvalidArgument, "--proxy-uid: 0 is root; the proxy needs a uid of its own");
  }
  return {};
}

base::Result<InjectDecision> decideInjection(const JsonValue* metadata, const JsonValue* spec, std::string_view path) {
  auto injected = annotation(metadata, "remora.io/injected", path);
  if (!injected) return injected.error();
  if (*injected) return InjectDecision::kAlreadyInjected;
  auto inject = annotation(metadata, "remora.io/inject", path);
  if (!inject) return inject.error();
  if (*inject && **inject == "false") return InjectDecision::kOptedOut;
  if (*inject && **inject != "true") {
    return fail(Error::kInvalidArgument, annotationPath(path, "remora.io/inject") + ": " + quoted(**inject) +
                                             " is neither \"true\" nor \"false\"");
  }
  const JsonValue* host_network = member(spec, "hostNetwork");
  if (host_network != nullptr && host_network->has_bool_value() && host_network->bool_value()) {
    return InjectDecision::kHostNetwork;
  }
  return InjectDecision::kInject;
}

base::Result<PodSettings> readPodSettings(const JsonValue* metadata, const JsonValue& spec,
                                          std::string_view workload_name, std::string_view path) {
  if (listItems(member(&spec, "containers")).empty()) {
    return fail(Error::kInvalidArgument, join(path, "spec.containers") + ": a pod template needs at least one container");
  }
  if (auto status = checkReservedNames(spec, path); !status) return status.error();
  PodSettings settings;
  auto service = serviceName(metadata, workload_name, path);
  if (!service) return service.error();
  settings.service = std::move(*service);
  settings.service_account = scalarText(member(&spec, "serviceAccountName"));
  if (settings.service_account.empty()) settings.service_account = scalarText(member(&spec, "serviceAccount"));
  if (settings.service_account.empty()) settings.service_account = "default";

  // The pod's labels become the registered endpoint's, so RouteRule subsets
  // (version: v2) select pods as they do in Kubernetes.
  for (const auto& [key, value] : member(metadata, "labels") != nullptr && member(metadata, "labels")->has_struct_value()
                                      ? member(metadata, "labels")->struct_value().fields()
                                      : google::protobuf::Struct::default_instance().fields()) {
    settings.labels.push_back(key + "=" + scalarText(&value));
  }
  std::sort(settings.labels.begin(), settings.labels.end());

  auto app_ports = annotation(metadata, "remora.io/app-ports", path);
  if (!app_ports) return app_ports.error();
  if (*app_ports) {
    const std::string where = annotationPath(path, "remora.io/app-ports");
    auto ports = portList(**app_ports, where);
    if (!ports) return ports.error();
    for (uint16_t port : *ports) {
      if (auto status = checkNotProxyPort(port, where); !status) return status.error();
    }
    settings.app_ports = std::move(*ports);
  } else {
    auto ports = containerPorts(spec, path);
    if (!ports) return ports.error();
    settings.app_ports = std::move(*ports);
  }

  for (auto [key, target] : {std::pair{"remora.io/exclude-inbound-ports", &settings.exclude_inbound_ports},
                             std::pair{"remora.io/exclude-outbound-ports", &settings.exclude_outbound_ports}}) {
    auto value = annotation(metadata, key, path);
    if (!value) return value.error();
    if (!*value) continue;
    auto ports = portList(**value, annotationPath(path, key));
    if (!ports) return ports.error();
    *target = portText(*ports);
  }
  auto cidrs = annotation(metadata, "remora.io/exclude-outbound-cidrs", path);
  if (!cidrs) return cidrs.error();
  if (*cidrs) {
    auto list = cidrList(**cidrs, annotationPath(path, "remora.io/exclude-outbound-cidrs"));
    if (!list) return list.error();
    settings.exclude_outbound_cidrs = std::move(*list);
  }
  if (auto status = readResources(metadata, path, settings); !status) return status.error();
  return settings;
}

std::optional<double> parseQuantity(std::string_view text) {
  static constexpr std::pair<std::string_view, double> kSuffixes[] = {
      {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"Pi", 1125899906842624.0}, {"Ei", 1152921504606846976.0}, {"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3},
      {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18}};
  double scale = 1.0;
  for (const auto& [suffix, factor] : kSuffixes) {
    if (text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix) {
      text.remove_suffix(suffix.size());
      scale = factor;
      break;
    }
  }
  // Sign, digits with at most one '.', then an optional decimal exponent
  // (only without a suffix, as the Kubernetes grammar has it).
  size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  size_t digits = 0;
  bool dot = false;
  for (; i < text.size(); ++i) {
    if (text[i] >= '0' && text[i] <= '9') {
      ++digits;
    } else if (text[i] == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (digits == 0) return std::nullopt;
  if (i < text.size()) {
    if (scale != 1.0 || (text[i] != 'e' && text[i] != 'E')) return std::nullopt;
    size_t j = i + 1;
    if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
    if (j == text.size()) return std::nullopt;
    for (; j < text.size(); ++j) {
      if (text[j] < '0' || text[j] > '9') return std::nullopt;
    }
  }
  const double value = std::strtod(std::string(text).c_str(), nullptr);
  if (!std::isfinite(value)) return std::nullopt;
  return value * scale;
}

}  // namespace remora::cli
