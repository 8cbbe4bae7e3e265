#include "control-plane/cli/sidecar_spec.h"

#include <initializer_list>
#include <utility>

namespace remora::cli {

namespace {

using Member = std::pair<std::string_view, JsonValue>;

JsonValue str(std::string_view s) {
  JsonValue v;
  v.set_string_value(std::string(s));
  return v;
}

JsonValue num(double n) {
  JsonValue v;
  v.set_number_value(n);
  return v;
}

JsonValue boolean(bool b) {
  JsonValue v;
  v.set_bool_value(b);
  return v;
}

JsonValue obj(std::initializer_list<Member> members) {
  JsonValue v;
  auto& fields = *v.mutable_struct_value()->mutable_fields();
  for (const Member& m : members) fields[std::string(m.first)] = m.second;
  return v;
}

JsonValue list(std::initializer_list<JsonValue> items) {
  JsonValue v;
  auto* values = v.mutable_list_value()->mutable_values();
  for (const JsonValue& item : items) *values->Add() = item;
  return v;
}

JsonValue strings(const std::vector<std::string>& items) {
  JsonValue v;
  auto* values = v.mutable_list_value()->mutable_values();
  for (const std::string& item : items) values->Add()->set_string_value(item);
  return v;
}

std::string portText(const std::vector<uint16_t>& ports) {
  std::string out;
  for (uint16_t port : ports) out += (out.empty() ? "" : ",") + std::to_string(port);
  return out;
}

JsonValue resources(std::string_view cpu_request, std::string_view memory_request, std::string_view cpu_limit,
                    std::string_view memory_limit) {
  return obj({{"requests", obj({{"cpu", str(cpu_request)}, {"memory", str(memory_request)}})},
              {"limits", obj({{"cpu", str(cpu_limit)}, {"memory", str(memory_limit)}})}});
}

JsonValue fieldEnv(std::string_view name, std::string_view field_path) {
  return obj({{"name", str(name)}, {"valueFrom", obj({{"fieldRef", obj({{"fieldPath", str(field_path)}})}})}});
}

// The admin endpoint (/ready) listens on loopback only, where the kubelet's
// httpGet probes cannot reach (they dial the pod IP from the node). An exec
// probe runs inside the container's network namespace, so `wait-ready` asks
// /ready on 127.0.0.1:15000 without exposing the admin port to the network.
JsonValue readyProbe(int period_seconds, int failure_threshold) {
  return obj({{"exec", obj({{"command", strings({"remora-proxy", "wait-ready", "--timeout", "1"})}})},
              {"periodSeconds", num(period_seconds)},
              {"timeoutSeconds", num(3)},
              {"failureThreshold", num(failure_threshold)}});
}

}  // namespace

std::string tokenSecretName(const std::string& service_account) { return "remora-token-" + service_account; }

JsonValue captureInitContainer(const PodSettings& settings, const InjectOptions& options) {
  // Inbound capture covers the app ports only: those are the ports the
  // sidecar has inbound chains for; anything else the pod listens on keeps
  // being reached directly.
  std::vector<std::string> args = {"init", "--proxy-uid", std::to_string(options.proxy_uid), "--inbound-ports",
                                   portText(settings.app_ports)};
  if (!settings.exclude_inbound_ports.empty()) {
    args.insert(args.end(), {"--exclude-inbound-ports", settings.exclude_inbound_ports});
  }
  if (!settings.exclude_outbound_ports.empty()) {
    args.insert(args.end(), {"--exclude-outbound-ports", settings.exclude_outbound_ports});
  }
  if (!settings.exclude_outbound_cidrs.empty()) {
    args.insert(args.end(), {"--exclude-outbound-cidrs", settings.exclude_outbound_cidrs});
  }
  // Root with NET_ADMIN and NET_RAW is what iptables-restore needs in the pod's
  // namespace; nothing else is granted. runAsNonRoot is set false explicitly
  // so a pod-level runAsNonRoot: true does not stop the pod from starting.
  // The root filesystem stays writable: iptables takes its lock in /run.
  JsonValue security = obj({{"allowPrivilegeEscalation", boolean(false)},
                            {"capabilities", obj({{"add", strings({"NET_ADMIN", "NET_RAW"})}, {"drop", strings({"ALL"})}})},
                            {"privileged", boolean(false)},
                            {"readOnlyRootFilesystem", boolean(false)},
                            {"runAsGroup", num(0)},
                            {"runAsNonRoot", boolean(false)},
                            {"runAsUser", num(0)}});
  return obj({{"name", str("remora-init")},
              {"image", str(options.image)},
              {"imagePullPolicy", str("IfNotPresent")},
              {"command", strings({"remora-proxy"})},
              {"args", strings(args)},
              {"resources", resources("10m", "16Mi", "100m", "64Mi")},
              {"securityContext", security}});
}

JsonValue proxySidecarContainer(const PodSettings& settings, const InjectOptions& options) {
  std::vector<std::string> args = {"--control-plane", options.control_plane,
                                   "--node-id", "$(POD_NAME).$(POD_NAMESPACE)",
                                   "--service", settings.service,
                                   "--namespace", "$(POD_NAMESPACE)",
                                   "--service-account", "$(SERVICE_ACCOUNT)",
                                   "--pod-ip", "$(POD_IP)"};
  if (!settings.app_ports.empty()) args.insert(args.end(), {"--app-ports", portText(settings.app_ports)});
  for (const std::string& label : settings.labels) args.insert(args.end(), {"--label", label});
  args.insert(args.end(), {"--interception", "redirect", "--ca-file", std::string(kCaDir) + "/root.pem",
                           "--token-file", std::string(kTokenDir) + "/token"});
  const double uid = options.proxy_uid;
  JsonValue security = obj({{"allowPrivilegeEscalation", boolean(false)},
                            {"capabilities", obj({{"drop", strings({"ALL"})}})},
                            {"privileged", boolean(false)},
                            {"readOnlyRootFilesystem", boolean(true)},
                            {"runAsGroup", num(uid)},
                            {"runAsNonRoot", boolean(true)},
                            {"runAsUser", num(uid)}});
  JsonValue ports = list({obj({{"name", str("remora-outbound")}, {"containerPort", num(15001)}, {"protocol", str("TCP")}}),
                          obj({{"name", str("remora-inbound")}, {"containerPort", num(15006)}, {"protocol", str("TCP")}})});
  JsonValue env = list({fieldEnv("POD_NAME", "metadata.name"), fieldEnv("POD_NAMESPACE", "metadata.namespace"),
                        fieldEnv("POD_IP", "status.podIP"), fieldEnv("SERVICE_ACCOUNT", "spec.serviceAccountName")});
  JsonValue mounts = list({obj({{"name", str("remora-token")}, {"mountPath", str(kTokenDir)}, {"readOnly", boolean(true)}}),
                           obj({{"name", str("remora-root-ca")}, {"mountPath", str(kCaDir)}, {"readOnly", boolean(true)}})});
  return obj({{"name", str("remora-proxy")},
              {"image", str(options.image)},
              {"imagePullPolicy", str("IfNotPresent")},
              // Native sidecar (Kubernetes >= 1.29): starts before the app,
              // keeps running beside it, stops after it.
              {"restartPolicy", str("Always")},
              {"command", strings({"remora-proxy"})},
              {"args", strings(args)},
              {"env", env},
              {"ports", ports},
              {"resources", resources(settings.cpu_request, settings.memory_request, settings.cpu_limit,
                                      settings.memory_limit)},
              {"securityContext", security},
              // The kubelet starts the next init container, and finally the
              // app, only once this passes: the app never runs without its proxy.
              {"startupProbe", readyProbe(1, 120)},
              {"readinessProbe", readyProbe(5, 3)},
              {"volumeMounts", mounts}});
}

std::vector<JsonValue> sidecarVolumes(const PodSettings& settings) {
  return {obj({{"name", str("remora-token")},
               {"secret", obj({{"secretName", str(tokenSecretName(settings.service_account))}})}}),
          obj({{"name", str("remora-root-ca")}, {"configMap", obj({{"name", str(kRootCaConfigMap)}})}})};
}

}  // namespace remora::cli
