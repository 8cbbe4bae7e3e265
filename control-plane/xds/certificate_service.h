// CertificateService: remora.ca.v1.CertificateService on remora-cp's gRPC
// port (xds/proto/remora/ca/v1/ca.proto). Authenticates the caller (a join
// token as "authorization: Bearer", or else the verified client certificate
// of the TLS connection), checks that the CSR asks for exactly that identity,
// and has the CA sign it. Every refusal is counted by reason:
//   no_credentials, malformed_token, unknown_token, expired_token,
//   bad_client_certificate (UNAUTHENTICATED); identity_mismatch
//   (PERMISSION_DENIED); bad_csr (INVALID_ARGUMENT); internal.
//
// Threads: gRPC's callback threads (the work is short: a hash lookup, a
// store write, one ECDSA signature); metrics from the API's /metrics thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "control-plane/ca/certificate_authority.h"
#include "control-plane/ca/issued_certificates.h"
#include "control-plane/ca/token_store.h"
#include "control-plane/xds/peer_identity.h"
#include "remora/ca/v1/ca.grpc.pb.h"

namespace remora::cp::xds {

// What authenticated the caller, independent of gRPC (the tests build it).
struct CallerCredentials {
  std::string bearer_token;  // "" when none
  PeerCertificate peer;
};

class CertificateService final : public remora::ca::v1::CertificateService::CallbackService {
 public:
  CertificateService(ca::CertificateAuthority& authority, ca::TokenStore& tokens, ca::IssuedCertificates& issued);

  grpc::ServerUnaryReactor* CreateCertificate(grpc::CallbackServerContext* context,
                                              const remora::ca::v1::CreateCertificateRequest* request,
                                              remora::ca::v1::CreateCertificateResponse* response) override;

  // The whole decision; CreateCertificate is this plus gRPC plumbing.
  grpc::Status handle(const CallerCredentials& caller, const remora::ca::v1::CreateCertificateRequest& request,
                      remora::ca::v1::CreateCertificateResponse& response);

  // remora_cp_certificates_issued_total and
  // remora_cp_certificate_requests_refused_total{reason} as Prometheus text.
  void appendMetrics(std::string& out) const;
  uint64_t issuedCount() const { return issued_total_.load(); }
  uint64_t refusedCount(const std::string& reason) const;

 private:
  grpc::Status refuse(grpc::StatusCode code, const std::string& reason, const std::string& message);

  ca::CertificateAuthority& authority_;
  ca::TokenStore& tokens_;
  ca::IssuedCertificates& issued_;
  std::atomic<uint64_t> issued_total_{0};
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> refused_;  // by reason (a fixed set)
};

}  // namespace remora::cp::xds
