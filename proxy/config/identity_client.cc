#include "proxy/config/identity_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "proxy/tls/certificate_info.h"
#include "proxy/tls/private_key.h"
#include "remora/ca/v1/ca.pb.h"

namespace remora::config {
namespace {

constexpr std::string_view kPath = "/remora.ca.v1.CertificateService/CreateCertificate";
// Renewal starts at this fraction of the lifetime, as SPIFFE agents do.
constexpr double kRenewAt = 2.0 / 3.0;

std::string joinPem(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += item;
    if (!out.empty() && out.back() != '\n') out += '\n';
  }
  return out;
}

}  // namespace

IdentityClient::IdentityClient(net::Dispatcher& dispatcher, IdentityOptions options, TlsRegistry& registry,
                               std::function<void()> on_issued, std::function<uint64_t()> random, Clock clock)
    : dispatcher_(dispatcher), options_(std::move(options)), registry_(registry), on_issued_(std::move(on_issued)),
      clock_(std::move(clock)),
      rotation_(options_.addresses, options_.backoff_base, options_.backoff_max, std::move(random)) {}

IdentityClient::~IdentityClient() = default;

void IdentityClient::start() {
  timer_ = dispatcher_.createTimer([this] { request(); });
  deadline_ = dispatcher_.createTimer([this] { onDeadline(); });
  request();
}

void IdentityClient::request() {
  auto key = tls::PrivateKey::generateP256();
  if (!key) return retryLater("key generation failed: " + key.error().message);
  auto csr = tls::makeCsr(*key, options_.spiffe_id);
  if (!csr) return retryLater("CSR failed: " + csr.error().message);
  pending_key_pem_ = key->pem();

  remora::ca::v1::CreateCertificateRequest req;
  req.set_csr_pem(*csr);
  req.set_validity_seconds(options_.requested_lifetime.count());
  grpc::GrpcStreamOptions o;
  o.address = rotation_.current();
  o.authority = options_.authority;
  o.path = std::string(kPath);
  o.connect_timeout = options_.connect_timeout;
  o.keepalive_interval = std::chrono::milliseconds(0);
  // A valid certificate authenticates a renewal; only the first request (or
  // one after the certificate expired) spends the token.
  const bool renewing = not_after_ && *not_after_ > clock_() && options_.workload_tls;
  upstream::TlsSettingsPtr tls = renewing ? options_.workload_tls : options_.bootstrap_tls;
  if (!renewing && !options_.token.empty()) o.metadata.emplace_back("authorization", "Bearer " + options_.token);
  o.connect = [tls](net::Dispatcher& d, const net::Address& a) {
    return upstream::connectUpstream(d, a, tls.get(), nullptr, nullptr);
  };
  response_.clear();
  std::string bytes;
  req.SerializeToString(&bytes);
  stream_ = grpc::GrpcStream::start(dispatcher_, std::move(o), *this);
  stream_->sendMessage(bytes);
  stream_->finish();
  // Covers the connect too: connect_timeout alone would let a replica that
  // accepted and then went silent hold the request forever.
  deadline_->enable(options_.request_timeout);
}

void IdentityClient::onDeadline() {
  stream_.reset();  // cancels the call; no onClose follows
  retryLater("no answer within " + std::to_string(options_.request_timeout.count()) + " ms");
}

void IdentityClient::onMessage(std::string message) { response_ = std::move(message); }

void IdentityClient::onClose(int grpc_status, std::string message) {
  stream_.reset();  // allowed from inside its callbacks
  deadline_->disable();
  if (grpc_status != 0) {
    return retryLater("the CA refused the certificate request (gRPC status " + std::to_string(grpc_status) +
                      "): " + message);
  }
  if (response_.empty()) return retryLater("the CA answered without a certificate");
  install(response_);
}

void IdentityClient::install(const std::string& bytes) {
  remora::ca::v1::CreateCertificateResponse resp;
  if (!resp.ParseFromString(bytes) || resp.certificate_chain_size() == 0) {
    return retryLater("the CA's answer is not a CreateCertificateResponse with a certificate");
  }
  const std::string chain = joinPem(resp.certificate_chain());
  auto info = tls::inspectCertificate(chain);
  if (!info) return retryLater("the CA's certificate does not parse: " + info.error().message);
  if (info->spiffe_id != options_.spiffe_id) {
    return retryLater("the CA issued '" + info->spiffe_id + "', not '" + options_.spiffe_id + "'");
  }
  if (base::Status s = registry_.setSecret(std::string(kWorkloadSecret), {chain, pending_key_pem_, ""}); !s) {
    return retryLater(s.error().message);
  }
  pending_key_pem_.clear();
  if (resp.trust_bundle_size() > 0 && !registry_.hasSecret("ROOTCA")) {
    // Until xDS delivers ROOTCA (and keeps it current through CA rotations).
    (void)registry_.setSecret("ROOTCA", {"", "", joinPem(resp.trust_bundle())});
  }
  not_after_ = info->not_after;
  ++issued_;
  last_error_.clear();
  rotation_.onProven();
  // Two thirds of what is left from now: a CA backdates notBefore for clock
  // skew, which must not pull the renewal earlier.
  const auto now = clock_();
  const auto left = info->not_after - now;
  const auto renew_at = now + std::chrono::duration_cast<std::chrono::system_clock::duration>(left * kRenewAt);
  const auto delay = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(renew_at - now),
                              std::chrono::milliseconds(1000));
  spdlog::info("identity: certificate for {} issued (serial {}), valid until {} s from now; renewal in {} ms",
               options_.spiffe_id, info->serial_hex,
               std::chrono::duration_cast<std::chrono::seconds>(info->not_after - clock_()).count(), delay.count());
  timer_->enable(delay);
  if (on_issued_) on_issued_();
}

void IdentityClient::retryLater(std::string why) {
  ++failures_;
  const std::string failed = rotation_.current().toString();
  last_error_ = failed + ": " + why;
  // Every failure moves on, a refusal too: replicas share the CA and the
  // tokens, so another one answers the same, and one that is unwell (its
  // store unreachable, or an answer that does not parse) is skipped.
  auto delay = rotation_.onFailure(/*proven=*/false).delay;
  // A certificate still valid must not be allowed to lapse while we wait.
  if (not_after_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*not_after_ - clock_());
    if (left.count() > 0) delay = std::min(delay, std::max(left / 4, std::chrono::milliseconds(200)));
  }
  spdlog::warn("identity: {}; trying {} in {} ms", last_error_, rotation_.current().toString(), delay.count());
  timer_->enable(delay);
}

}  // namespace remora::config
