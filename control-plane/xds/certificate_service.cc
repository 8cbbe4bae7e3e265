#include "control-plane/xds/certificate_service.h"

#include <spdlog/spdlog.h>

#include <ctime>

namespace remora::cp::xds {

namespace {

using ca::TokenCheck;

}  // namespace

CertificateService::CertificateService(ca::CertificateAuthority& authority, ca::TokenStore& tokens,
                                       ca::IssuedCertificates& issued)
    : authority_(authority), tokens_(tokens), issued_(issued) {}

grpc::ServerUnaryReactor* CertificateService::CreateCertificate(grpc::CallbackServerContext* context,
                                                                const remora::ca::v1::CreateCertificateRequest* request,
                                                                remora::ca::v1::CreateCertificateResponse* response) {
  CallerCredentials caller{bearerToken(*context), peerCertificate(*context)};
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(handle(caller, *request, *response));
  return reactor;
}

grpc::Status CertificateService::refuse(grpc::StatusCode code, const std::string& reason, const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++refused_[reason];
  }
  spdlog::warn("certificate request refused ({}): {}", reason, message);
  return grpc::Status(code, message);
}

grpc::Status CertificateService::handle(const CallerCredentials& caller,
                                        const remora::ca::v1::CreateCertificateRequest& request,
                                        remora::ca::v1::CreateCertificateResponse& response) {
  using grpc::StatusCode;
  ca::SpiffeId allowed;
  if (!caller.bearer_token.empty()) {
    auto check = tokens_.verify(caller.bearer_token);
    if (!check) return refuse(StatusCode::INTERNAL, "internal", "join token lookup: " + check.error().message);
    switch (check->outcome) {
      case TokenCheck::Outcome::kMalformed:
        return refuse(StatusCode::UNAUTHENTICATED, "malformed_token", "the join token is malformed");
      case TokenCheck::Outcome::kUnknown:
        return refuse(StatusCode::UNAUTHENTICATED, "unknown_token", "unknown join token");
      case TokenCheck::Outcome::kExpired:
        return refuse(StatusCode::UNAUTHENTICATED, "expired_token",
                      "join token " + check->info.id + " has expired; create a new one (remoractl token create)");
      case TokenCheck::Outcome::kValid:
        break;
    }
    allowed = {authority_.trustDomain(), check->info.namespace_, check->info.service_account};
  } else if (caller.peer.present) {
    auto id = ca::parseSpiffeId(caller.peer.spiffe_id);
    if (!id || id->trust_domain != authority_.trustDomain()) {
      return refuse(StatusCode::UNAUTHENTICATED, "bad_client_certificate",
                    "the client certificate carries no SPIFFE ID of trust domain " + authority_.trustDomain());
    }
    allowed = std::move(*id);
  } else {
    return refuse(StatusCode::UNAUTHENTICATED, "no_credentials",
                  "a join token (authorization: Bearer) or a valid client certificate is required");
  }

  auto asked = authority_.checkRequest(request.csr_pem());
  if (!asked) return refuse(StatusCode::INVALID_ARGUMENT, "bad_csr", asked.error().message);
  if (!(*asked == allowed)) {
    return refuse(StatusCode::PERMISSION_DENIED, "identity_mismatch",
                  "the caller is " + allowed.uri() + " but the CSR asks for " + asked->uri());
  }
  const int64_t requested = request.validity_seconds();
  if (requested < 0) return refuse(StatusCode::INVALID_ARGUMENT, "bad_csr", "validity_seconds must not be negative");
  auto issued = authority_.issue(request.csr_pem(), allowed, std::chrono::seconds(requested));
  if (!issued) return refuse(StatusCode::INTERNAL, "internal", issued.error().message);
  for (const std::string& pem : issued->chain_pem) response.add_certificate_chain(pem);
  for (const std::string& pem : issued->trust_bundle) response.add_trust_bundle(pem);
  ++issued_total_;
  if (base::Status recorded =
          issued_.record(allowed, issued->serial, static_cast<int64_t>(std::time(nullptr)), issued->not_after_unix,
                         caller.peer.address);
      !recorded) {
    // The certificate is valid either way; only `remoractl identity` misses it.
    spdlog::error("cannot record certificate {} for {}: {}", issued->serial, allowed.uri(), recorded.message());
  }
  spdlog::info("issued certificate {} for {} ({}), valid until {}", issued->serial, allowed.uri(),
               caller.bearer_token.empty() ? "rotation" : "join token", issued->not_after_unix);
  return grpc::Status::OK;
}

uint64_t CertificateService::refusedCount(const std::string& reason) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = refused_.find(reason);
  return it == refused_.end() ? 0 : it->second;
}

void CertificateService::appendMetrics(std::string& out) const {
  out +=
      "# HELP remora_cp_certificates_issued_total Workload certificates the CA signed.\n"
      "# TYPE remora_cp_certificates_issued_total counter\n"
      "remora_cp_certificates_issued_total " +
      std::to_string(issued_total_.load()) +
      "\n# HELP remora_cp_certificate_requests_refused_total Certificate requests refused, by reason.\n"
      "# TYPE remora_cp_certificate_requests_refused_total counter\n";
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [reason, count] : refused_) {
    out += "remora_cp_certificate_requests_refused_total{reason=\"" + reason + "\"} " + std::to_string(count) + "\n";
  }
}

}  // namespace remora::cp::xds
