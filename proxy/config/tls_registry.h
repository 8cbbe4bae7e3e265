// TlsRegistry: the proxy's TLS material (secrets: its own workload
// certificate "default", the mesh trust bundle "ROOTCA" and any other SDS
// secret; certificate files and inline PEM named by the config) and the TLS
// contexts built from it.
//
// Snapshot building asks it for the TlsSettings of every cluster and filter
// chain that has TLS. Equal TLS configs share one ContextSlot (and one
// TlsSettings object, so workers keep their pools across snapshots); when a
// secret changes — a rotated certificate, a new trust bundle — every context
// that uses it is rebuilt and swapped into its slot: new connections use it,
// open ones keep theirs. No snapshot is republished for a rotation.
//
// Main thread only (workers only read the slots).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "proxy/upstream/transport.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::config {

// The secret name of the proxy's own workload identity: made locally (its own
// key, a CSR to the control plane's CA), never received over xDS.
inline constexpr std::string_view kWorkloadSecret = "default";

class TlsRegistry {
 public:
  struct SecretValue {
    std::string certificate_chain;  // PEM, with private_key: a certificate secret
    std::string private_key;
    std::string trusted_ca;  // PEM roots: a validation secret
  };

  // Sets or replaces a secret and rebuilds every context that uses it. A
  // secret that does not make a valid context (a key that does not match its
  // certificate) fails, naming the secret, and nothing changes.
  base::Status setSecret(const std::string& name, SecretValue value);
  bool hasSecret(const std::string& name) const { return secrets_.count(name) != 0; }

  // The settings for a cluster's or a filter chain's TLS. Fails on an
  // unreadable file or PEM that does not parse.
  base::Result<upstream::TlsSettingsPtr> forUpstream(const xds::resources::UpstreamTls& tls);
  base::Result<upstream::TlsSettingsPtr> forDownstream(const xds::resources::DownstreamTls& tls);

  // Secrets the handed-out contexts name that must come over xDS (SDS): all
  // but the workload secret.
  std::set<std::string> sdsNames() const;
  // Whether some context needs the workload identity.
  bool needsWorkloadIdentity() const;
  // Names of the secrets contexts wait for ("" when none is missing).
  std::string waitingFor() const;
  // When each certificate (and each root) held expires, by secret name, for
  // the expiry gauge. Roots of a bundle: the earliest.
  std::map<std::string, std::chrono::system_clock::time_point> expiries() const;

  // Drops contexts no snapshot uses any more.
  void prune();

 private:
  struct Entry {
    bool server = false;
    xds::resources::CertificateSource certificate;
    std::optional<xds::resources::CertificateValidation> validation;
    tls::ContextOptions options;
    std::shared_ptr<tls::ContextSlot> slot;
    std::string waiting_for;
  };
  std::shared_ptr<tls::ContextSlot> slotFor(bool server, const xds::resources::CertificateSource& certificate,
                                            const std::optional<xds::resources::CertificateValidation>& validation,
                                            tls::ContextOptions options, std::string& waiting_for,
                                            base::Status& error);
  // Builds the entry's context from what is known now; an empty slot (and
  // `waiting_for` set) when a secret is missing.
  base::Status rebuild(Entry& entry);
  base::Result<upstream::TlsSettingsPtr> settingsFor(std::shared_ptr<tls::ContextSlot> slot, std::string waiting_for,
                                                     const std::optional<xds::resources::CertificateValidation>& v,
                                                     const std::string& sni);

  std::map<std::string, SecretValue> secrets_;
  std::map<std::string, Entry> entries_;  // by a canonical key of the TLS config
  std::map<std::string, std::weak_ptr<const upstream::TlsSettings>> settings_;
};

}  // namespace remora::config
