// MeshSecurity: whether the mesh runs with mTLS and under which trust
// domain and roots. remora-cp sets it at start (from --insecure,
// --trust-domain and its CA) and on a CA rotation; a change rebuilds every
// proxy's snapshot (MeshSnapshots takes it by value).
//
// Disabled (the default, and --insecure): the builders emit exactly the
// plaintext mesh of before: no TLS, no RBAC, no ROOTCA secret.
//
// Plain value; any thread.
#pragma once

#include <string>
#include <string_view>

namespace remora::cp::mesh {

// The SDS secret names of the mTLS contract: the proxy's own workload
// certificate (made by the proxy, never sent) and the mesh trust bundle
// (sent by remora-cp to every proxy).
inline constexpr std::string_view kWorkloadSecretName = "default";
inline constexpr std::string_view kRootCaSecretName = "ROOTCA";

struct MeshSecurity {
  bool enabled = false;
  std::string trust_domain = "cluster.local";
  // Every trusted root, PEM, concatenated (two during a CA rotation).
  std::string trust_bundle_pem;
  // Sidecars speak TLS 1.3 to each other; true lets them fall back to 1.2
  // (remora-cp --mesh-tls-min-version 1.2).
  bool allow_tls12 = false;
  bool operator==(const MeshSecurity&) const = default;
};

// "spiffe://<trust_domain>/ns/<namespace_>/sa/<service_account>".
inline std::string spiffeId(std::string_view trust_domain, std::string_view namespace_,
                            std::string_view service_account) {
  std::string out = "spiffe://";
  out += trust_domain;
  out += "/ns/";
  out += namespace_;
  out += "/sa/";
  out += service_account;
  return out;
}

}  // namespace remora::cp::mesh
