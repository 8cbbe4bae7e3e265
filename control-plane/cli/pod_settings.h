// What `remoractl inject` needs to know about one pod template before it adds
// the sidecar: the inject flags (InjectOptions) and the values read from the
// template's annotations, labels and containers (PodSettings), validated so a
// bad annotation is refused with its path instead of producing a pod that
// crash-loops (docs/kubernetes.md lists every annotation).
//
// Pure; any thread. Called by inject.cc once per pod template; the result is
// handed to sidecar_spec.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control-plane/cli/json_value.h"
#include "control-plane/cli/output.h"
#include "xds/base/status.h"

namespace remora::cli {

// Written as the value of remora.io/injected; the image default carries it too.
inline constexpr std::string_view kInjectVersion = "0.1.0";

// The flags of `remoractl inject`.
struct InjectOptions {
  std::string control_plane = "remora-cp.remora-system.svc:15010";
  std::string image = "remora/remora:0.1.0";
  uint32_t proxy_uid = 1337;
  OutputFormat format = OutputFormat::kYaml;
};

// Checks the flags: a HOST:PORT control plane, a non-empty image without
// whitespace, a proxy uid other than 0 (root is never excluded from capture
// safely: the app itself may run as root). kInvalidArgument naming the flag.
base::Status checkInjectOptions(const InjectOptions& options);

// The pod's choices, every list already in the form the flags take ("P,P").
struct PodSettings {
  std::string service;                 // --service
  std::string service_account;         // spec.serviceAccountName, "default" when unset
  std::vector<uint16_t> app_ports;     // --app-ports and remora-init --inbound-ports
  std::vector<std::string> labels;     // "key=value" per pod label, sorted: --label (subsets)
  std::string exclude_inbound_ports;   // "" or "P,P"
  std::string exclude_outbound_ports;  // "" or "P,P"
  std::string exclude_outbound_cidrs;  // "" or "CIDR,CIDR"
  std::string cpu_request = "50m";
  std::string memory_request = "64Mi";
  std::string cpu_limit = "1";
  std::string memory_limit = "256Mi";
};

// Where a pod template stands before injection.
enum class InjectDecision {
  kInject,
  kOptedOut,         // remora.io/inject: "false"
  kAlreadyInjected,  // remora.io/injected is present
  kHostNetwork,      // hostNetwork: true: capture rules would land in the node's namespace
};

// `metadata` and `spec` are the pod template's (nullptr when absent); `path`
// is where the template sits in its document ("spec.template", "" for a Pod),
// used in messages: "spec.template.metadata.annotations[remora.io/inject]: ...".
base::Result<InjectDecision> decideInjection(const JsonValue* metadata, const JsonValue* spec, std::string_view path);

// Reads and validates the annotations (pod_settings.cc lists them), the `app`
// label and the containers' TCP containerPorts. `workload_name` names the
// service when neither remora.io/service nor the app label does.
base::Result<PodSettings> readPodSettings(const JsonValue* metadata, const JsonValue& spec,
                                          std::string_view workload_name, std::string_view path);

// A Kubernetes resource quantity ("50m", "1", "1.5", "64Mi", "1e3") in base
// units; nullopt when it is not one.
std::optional<double> parseQuantity(std::string_view text);

}  // namespace remora::cli
