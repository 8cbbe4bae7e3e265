// IdentityClient: the proxy's workload identity. It makes a P-256 key in
// memory (never written, never sent), asks the control plane's CA for a
// certificate with a CSR (remora.ca.v1.CertificateService over gRPC/TLS),
// installs it in the TlsRegistry as secret "default" (and the trust bundle as
// "ROOTCA" until xDS sends one), and renews it at about two thirds of its
// lifetime with a fresh key. The first request authenticates with the join
// token; renewals with the current certificate (mTLS), so a token may expire
// once the proxy is running.
//
// The CA is every endpoint of the ADS cluster: control-plane replicas share
// one CA (and the join tokens, in their store), so any of them may answer.
// Requests go to the replica that answered last; a failed request (connect
// error, no answer within request_timeout, UNAVAILABLE, or any refusal)
// moves to the next one at once, and only after every replica failed in a
// row is there a jittered backoff (AdsAddressRotation, the ADS client's
// policy). So a sidecar whose first replica is down at start still gets its
// certificate, and a renewal reaches whichever replica is up. The current
// certificate keeps serving until it expires. Open connections are never
// touched: a rotation only changes what new handshakes present.
//
// Main thread only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/config/ads_address_rotation.h"
#include "proxy/config/tls_registry.h"
#include "proxy/grpc/grpc_stream.h"
#include "proxy/net/dispatcher.h"

namespace remora::config {

struct IdentityOptions {
  // The CA: the ADS cluster's endpoints (the control-plane replicas), tried
  // in turn; at least one.
  std::vector<net::Address> addresses;
  std::string authority;  // its :authority (the cluster name)
  std::string spiffe_id;  // spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>
  std::string token;      // the join token ("" when only renewing with a certificate)
  // TLS to the CA: without a client certificate (the first request) and with
  // the workload certificate (renewals). Both verify the control plane.
  upstream::TlsSettingsPtr bootstrap_tls;
  upstream::TlsSettingsPtr workload_tls;
  std::chrono::seconds requested_lifetime{0};  // 0: the CA's default
  std::chrono::milliseconds connect_timeout{5000};
  // A replica that took the connection but has not answered within this
  // (hung, or stuck on its store) counts as failed: the next one is tried.
  std::chrono::milliseconds request_timeout{10000};
  // Backoff once every replica has failed in a row (jittered, doubling).
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_max{30000};
};

class IdentityClient : private grpc::GrpcStreamCallbacks {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  // `on_issued` runs after each certificate is installed (the first one lets
  // the server start xDS over mTLS).
  IdentityClient(net::Dispatcher& dispatcher, IdentityOptions options, TlsRegistry& registry,
                 std::function<void()> on_issued, std::function<uint64_t()> random, Clock clock);
  ~IdentityClient() override;

  void start();
  bool hasCertificate() const { return not_after_.has_value(); }
  std::optional<std::chrono::system_clock::time_point> notAfter() const { return not_after_; }
  // Why the last request failed ("" after a success).
  const std::string& lastError() const { return last_error_; }
  uint64_t issued() const { return issued_; }
  uint64_t failures() const { return failures_; }
  // The replica the next (or current) request goes to: the one that
  // answered last, unless it has failed since.
  const net::Address& currentAddress() const { return rotation_.current(); }

 private:
  void request();
  void onDeadline();
  // Moves to the next replica; at once unless every one failed in a row.
  void retryLater(std::string why);
  void install(const std::string& response);
  // grpc::GrpcStreamCallbacks
  void onMessage(std::string message) override;
  void onClose(int grpc_status, std::string message) override;

  net::Dispatcher& dispatcher_;
  IdentityOptions options_;
  TlsRegistry& registry_;
  std::function<void()> on_issued_;
  Clock clock_;
  AdsAddressRotation rotation_;
  std::unique_ptr<grpc::GrpcStream> stream_;
  net::TimerPtr timer_;     // the next request (renewal or retry)
  net::TimerPtr deadline_;  // the request in flight
  std::string pending_key_pem_;  // the key of the CSR in flight
  std::string response_;
  std::optional<std::chrono::system_clock::time_point> not_after_;
  std::string last_error_;
  uint64_t issued_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace remora::config
