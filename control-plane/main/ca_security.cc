// ControlPlane's secure mode: the CA, remora-cp's own serving certificate
// (renewed at two thirds of its life and on every CA rotation step), the ADS
// node/certificate check and CA rotation. The rest of ControlPlane is in
// control_plane.cc.
#include <spdlog/spdlog.h>

#include <ctime>

#include "control-plane/ca/ca_files.h"
#include "control-plane/main/cli_values.h"
#include "control-plane/main/control_plane.h"
#include "control-plane/mesh/proxy_identity.h"

namespace remora::cp {

namespace {

constexpr std::string_view kControlPlaneNamespace = "remora-system";
constexpr std::string_view kControlPlaneAccount = "remora-cp";

std::string servingKeyPath(const std::string& data_dir) { return data_dir + "/ca/serving.key"; }
std::string servingCertPath(const std::string& data_dir) { return data_dir + "/ca/serving.pem"; }

}  // namespace

base::Status ControlPlane::openCa() {
  const SecurityConfig& security = config_.security;
  ca::CaOptions options;
  options.state_dir = config_.data_dir + "/ca";
  options.trust_domain = security.trust_domain;
  options.cert_file = security.ca_cert;
  options.key_file = security.ca_key;
  options.bundle_file = security.ca_bundle;
  options.default_ttl = security.cert_ttl;
  options.max_ttl = security.max_cert_ttl;
  auto authority = ca::CertificateAuthority::open(std::move(options));
  if (!authority) return base::fail(authority.error().code, "CA: " + authority.error().message);
  ca_ = std::move(*authority);
  tokens_ = std::make_unique<ca::TokenStore>(*store_);
  issued_ = std::make_unique<ca::IssuedCertificates>(*store_);
  certificate_service_ = std::make_unique<xds::CertificateService>(*ca_, *tokens_, *issued_);
  const ca::CaStatus status = ca_->status();
  spdlog::info("CA: trust domain {}, signer {} ({}), {} trusted root(s), rotation phase {}", status.trust_domain,
               status.signer_subject, status.operator_supplied ? "operator-supplied" : "generated",
               status.roots.size(), ca::rotationPhaseName(status.phase));
  return renewServingCertificate();
}

base::Status ControlPlane::renewServingCertificate() {
  std::vector<std::string> ips = {"127.0.0.1"};
  if (auto host = splitHostPort(config_.xds_address); host && host->first != "127.0.0.1" &&
                                                        host->first != "0.0.0.0" && host->first != "::") {
    ips.push_back(host->first);
  }
  const ca::SpiffeId identity{config_.security.trust_domain, std::string(kControlPlaneNamespace),
                              std::string(kControlPlaneAccount)};
  // As long as a workload's longest certificate, renewed at two thirds.
  const std::chrono::seconds lifetime = config_.security.max_cert_ttl;
  auto serving = ca_->issueServing(identity, {"localhost", "remora-cp"}, ips, lifetime);
  if (!serving) return base::fail(serving.error().code, "serving certificate: " + serving.error().message);
  // Key first: gRPC's watcher pairs whatever both files hold when it looks;
  // the window where they disagree is the few microseconds between renames.
  if (base::Status s = ca::writeFileAtomic(servingKeyPath(config_.data_dir), serving->key_pem, 0600); !s) return s;
  if (base::Status s = ca::writeFileAtomic(servingCertPath(config_.data_dir), serving->chain_pem); !s) return s;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  serving_renew_at_ = now + (serving->not_after_unix - now) * 2 / 3;
  return base::Status::ok();
}

std::string ControlPlane::trustBundlePem() const { return ca_ ? ca_->trustBundlePem() : std::string(); }

grpc::Status ControlPlane::authorizeNode(const xds::PeerCertificate& peer, const envoy::config::core::v3::Node& node) {
  if (!ca_) return grpc::Status::OK;
  if (!peer.present) {
    ++rejected_nodes_;
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "xDS needs a workload certificate: get one with a join token first");
  }
  auto id = ca::parseSpiffeId(peer.spiffe_id);
  if (!id || id->trust_domain != ca_->trustDomain()) {
    ++rejected_nodes_;
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "the client certificate carries no SPIFFE ID of trust domain " + ca_->trustDomain());
  }
  auto identity = mesh::proxyIdentityFromNode(node);
  // Malformed metadata is refused by onNodeConnected with its own message.
  if (!identity) return grpc::Status::OK;
  if (identity->namespace_ != id->namespace_ || identity->service_account != id->service_account) {
    ++rejected_nodes_;
    const std::string message = "node '" + node.id() + "' says it is namespace '" + identity->namespace_ +
                                "', service account '" + identity->service_account +
                                "' but its certificate is " + peer.spiffe_id;
    spdlog::warn("ADS stream refused: {}", message);
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, message);
  }
  issued_->proxyConnected(peer.spiffe_id, node.id());
  return grpc::Status::OK;
}

base::Status ControlPlane::rotateCa(std::string_view phase) {
  if (!ca_) return base::fail(base::Error::kUnsupported, "remora-cp runs with --insecure: there is no CA");
  if (replicas_) {
    // The rotation state lives in each replica's data directory; replicas
    // rotating apart would hand out certificates the others do not trust.
    return base::fail(base::Error::kUnsupported,
                      "CA rotation through the API is for a single remora-cp; replicas share an operator CA: rotate "
                      "its files (--ca-cert, --ca-key, --ca-bundle) on every replica in turn (docs/operations.md)");
  }
  std::lock_guard<std::mutex> rotating(rotate_mutex_);
  if (base::Status rotated = ca_->rotate(phase); !rotated) return rotated;
  spdlog::info("CA rotation: {} done; {} trusted root(s)", phase, ca_->trustBundle().size());
  if (base::Status renewed = renewServingCertificate(); !renewed) return renewed;
  // Every proxy gets the new ROOTCA secret.
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dirty_ = true;
    wake_.notify_all();
  }
  return base::Status::ok();
}

}  // namespace remora::cp
