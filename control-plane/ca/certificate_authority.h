// CertificateAuthority: the mesh's CA inside remora-cp. It holds the signer
// (a root it generated, or an operator's root or intermediate), the trust
// bundle (every root the mesh trusts now), issues X.509-SVIDs for checked
// CSRs and remora-cp's own serving certificate, and runs CA rotation.
//
// State directory (<data-dir>/ca, 0700), generated mode:
//   root.pem, root.key (0600)  the signing root
//   next.pem, next.key         after "prepare": the new root, trusted, not signing yet
//   previous.pem               after "activate": the old root, trusted, no longer signing
//   bundle.pem                 the trust bundle, always current (written atomically)
// Rotation: prepare (new root made; bundle old+new; still signing with old),
// activate (sign with new; bundle old+new), finish (bundle new only). The
// files are the state, so a restart resumes the same phase. Operator mode
// (--ca-cert/--ca-key[/--ca-bundle]) writes only bundle.pem and refuses
// rotation: the operator rotates by restarting with new files.
//
// Thread-safe (one mutex): gRPC threads sign while the API thread rotates.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "control-plane/ca/spiffe_id.h"
#include "xds/base/status.h"

namespace remora::cp::ca {

struct CaOptions {
  std::string state_dir;  // <data-dir>/ca
  std::string trust_domain = "cluster.local";
  // Operator-supplied signer: PEM certificate (then any intermediates up to,
  // not including, the root) and its key; the roots in bundle_file (required
  // when the signer is not self-signed).
  std::string cert_file, key_file, bundle_file;
  std::chrono::seconds default_ttl = std::chrono::hours(24);
  std::chrono::seconds max_ttl = std::chrono::hours(72);
  std::chrono::seconds root_lifetime = std::chrono::hours(24 * 3650);
  // Wall clock in Unix seconds; tests inject one.
  std::function<int64_t()> now_unix;
};

struct IssuedCertificate {
  SpiffeId identity;
  std::vector<std::string> chain_pem;     // leaf, then intermediates
  std::vector<std::string> trust_bundle;  // root PEMs
  std::string serial;                     // upper-case hex
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;
};

struct ServingCertificate {
  std::string key_pem;
  std::string chain_pem;  // leaf then intermediates, concatenated
  int64_t not_after_unix = 0;
};

enum class RotationPhase { kNone, kPrepared, kActivated };
std::string_view rotationPhaseName(RotationPhase phase);  // "none", "prepared", "activated"

struct RootInfo {
  std::string subject;
  std::string fingerprint;  // SHA-256, "AB:CD:..."
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;
  bool signing = false;  // the active signer is this root (or chains to it, operator mode)
  std::string pem;
};

struct CaStatus {
  std::string trust_domain;
  bool operator_supplied = false;
  RotationPhase phase = RotationPhase::kNone;
  std::string signer_subject, signer_fingerprint;
  std::vector<RootInfo> roots;
};

class CertificateAuthority {
 public:
  // Loads the state directory (generating a root on first start) or the
  // operator's files. Fails when a key does not match its certificate, the
  // certificate is not a CA, or an intermediate comes without a bundle.
  static base::Result<std::unique_ptr<CertificateAuthority>> open(CaOptions options);
  ~CertificateAuthority();
  CertificateAuthority(const CertificateAuthority&) = delete;
  CertificateAuthority& operator=(const CertificateAuthority&) = delete;

  // The identity a CSR asks for, after every check (signature, exactly one
  // URI SAN, SPIFFE ID of this trust domain, key P-256 or RSA >= 2048).
  // kInvalidArgument naming the problem.
  base::Result<SpiffeId> checkRequest(std::string_view csr_pem) const;
  // Signs the CSR (checked again) as `identity`, which it must name, for
  // `requested` (0: the default lifetime; capped at the maximum).
  base::Result<IssuedCertificate> issue(std::string_view csr_pem, const SpiffeId& identity,
                                        std::chrono::seconds requested);
  // remora-cp's own certificate for the gRPC port: a fresh P-256 key, the
  // SVID profile plus DNS and IP SANs.
  base::Result<ServingCertificate> issueServing(const SpiffeId& identity, const std::vector<std::string>& dns_names,
                                                const std::vector<std::string>& ip_addresses,
                                                std::chrono::seconds lifetime);

  std::vector<std::string> trustBundle() const;
  std::string trustBundlePem() const;  // concatenated
  std::string bundlePath() const;      // <state_dir>/bundle.pem
  const std::string& trustDomain() const { return options_.trust_domain; }
  std::chrono::seconds defaultTtl() const { return options_.default_ttl; }
  CaStatus status() const;

  // "prepare", "activate" or "finish" (see above). kConflict when the phase
  // does not follow the current one, kUnsupported in operator mode,
  // kInvalidArgument for another word.
  base::Status rotate(std::string_view phase);

 private:
  struct State;
  explicit CertificateAuthority(CaOptions options);
  base::Status loadGenerated();
  base::Status loadOperator();
  // With mutex_ held: writes bundle.pem from the current state.
  base::Status writeBundle();
  int64_t now() const;

  CaOptions options_;
  mutable std::mutex mutex_;
  std::unique_ptr<State> state_;
};

}  // namespace remora::cp::ca
