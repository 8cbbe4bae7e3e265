// The objects `remoractl inject` adds to a pod spec: the capture init
// container (remora-init), the sidecar as a native sidecar (an init container
// named remora-proxy with restartPolicy Always) and the two volumes it reads
// its join token and the mesh root CA from. docs/kubernetes.md describes every
// field and why it is there.
//
// Pure; any thread. Called by inject.cc with settings from pod_settings.h.
#pragma once

#include <string>
#include <vector>

#include "control-plane/cli/json_value.h"
#include "control-plane/cli/pod_settings.h"

namespace remora::cli {

// Where the sidecar finds its credentials (the volumes' mount points).
inline constexpr std::string_view kTokenDir = "/var/run/remora/token";
inline constexpr std::string_view kCaDir = "/var/run/remora/ca";
// The root CA ConfigMap (key root.pem) each meshed namespace holds.
inline constexpr std::string_view kRootCaConfigMap = "remora-root-ca";

// The Secret (key `token`) holding the join token of a service account's
// identity: "remora-token-<service account>".
std::string tokenSecretName(const std::string& service_account);

// `remora-proxy init ...`: programs the pod's iptables rules, then exits.
JsonValue captureInitContainer(const PodSettings& settings, const InjectOptions& options);

// `remora-proxy --control-plane ...`: the sidecar, started before the app's
// containers and held until its startup probe passes.
JsonValue proxySidecarContainer(const PodSettings& settings, const InjectOptions& options);

// The remora-token (Secret) and remora-root-ca (ConfigMap) volumes.
std::vector<JsonValue> sidecarVolumes(const PodSettings& settings);

}  // namespace remora::cli
