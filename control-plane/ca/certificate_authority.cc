#include "control-plane/ca/certificate_authority.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "control-plane/ca/ca_files.h"
#include "control-plane/ca/crypto.h"
#include "control-plane/ca/svid_issuer.h"

namespace remora::cp::ca {

namespace {

using base::Error;
using base::fail;

struct KeyedCert {
  crypto::CertPtr cert;
  crypto::KeyPtr key;
};

base::Result<crypto::CertPtr> loadOneCert(const std::string& path) {
  auto text = readFile(path);
  if (!text) return text.error();
  auto certs = crypto::parseCertificates(*text);
  if (!certs) return fail(Error::kInvalidArgument, path + ": " + certs.error().message);
  return std::move(certs->front());
}

base::Result<KeyedCert> loadKeyed(const std::string& cert_path, const std::string& key_path) {
  auto cert = loadOneCert(cert_path);
  if (!cert) return cert.error();
  auto key_text = readFile(key_path);
  if (!key_text) return key_text.error();
  auto key = crypto::parsePrivateKey(*key_text);
  if (!key) return fail(Error::kInvalidArgument, key_path + ": " + key.error().message);
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return fail(Error::kInvalidArgument, key_path + " is not the key of " + cert_path);
  }
  if (!crypto::isCa(cert->get())) return fail(Error::kInvalidArgument, cert_path + " is not a CA certificate");
  return KeyedCert{std::move(*cert), std::move(*key)};
}

crypto::CertPtr copyCert(X509* cert) {
  X509_up_ref(cert);
  return crypto::CertPtr(cert);
}

}  // namespace

struct CertificateAuthority::State {
  bool operator_supplied = false;
  KeyedCert signer;
  std::vector<crypto::CertPtr> intermediates;  // operator mode: sent after the leaf
  std::vector<crypto::CertPtr> bundle;         // operator mode: the roots
  KeyedCert next;                              // generated mode, prepared
  crypto::CertPtr previous;                    // generated mode, activated

  RotationPhase phase() const {
    if (next.cert) return RotationPhase::kPrepared;
    if (previous) return RotationPhase::kActivated;
    return RotationPhase::kNone;
  }
  std::vector<X509*> roots() const {
    if (operator_supplied) {
      std::vector<X509*> out;
      for (const auto& cert : bundle) out.push_back(cert.get());
      return out;
    }
    std::vector<X509*> out;
    if (previous) out.push_back(previous.get());
    out.push_back(signer.cert.get());
    if (next.cert) out.push_back(next.cert.get());
    return out;
  }
};

std::string_view rotationPhaseName(RotationPhase phase) {
  switch (phase) {
    case RotationPhase::kNone: return "none";
    case RotationPhase::kPrepared: return "prepared";
    case RotationPhase::kActivated: return "activated";
  }
  return "none";
}

CertificateAuthority::CertificateAuthority(CaOptions options)
    : options_(std::move(options)), state_(std::make_unique<State>()) {}

CertificateAuthority::~CertificateAuthority() = default;

int64_t CertificateAuthority::now() const {
  return options_.now_unix ? options_.now_unix() : static_cast<int64_t>(std::time(nullptr));
}

base::Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::open(CaOptions options) {
  if (options.default_ttl.count() <= 0 || options.max_ttl < options.default_ttl) {
    return fail(Error::kInvalidArgument, "certificate lifetimes: need 0 < --cert-ttl <= --max-cert-ttl");
  }
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority(std::move(options)));
  if (base::Status made = makeDirectory(ca->options_.state_dir); !made) return made.error();
  const bool external = !ca->options_.cert_file.empty() || !ca->options_.key_file.empty();
  base::Status loaded = external ? ca->loadOperator() : ca->loadGenerated();
  if (!loaded) return loaded.error();
  std::lock_guard<std::mutex> lock(ca->mutex_);
  if (base::Status written = ca->writeBundle(); !written) return written.error();
  return ca;
}

base::Status CertificateAuthority::loadOperator() {
  if (options_.cert_file.empty() || options_.key_file.empty()) {
    return fail(Error::kInvalidArgument, "--ca-cert and --ca-key go together");
  }
  auto signer = loadKeyed(options_.cert_file, options_.key_file);
  if (!signer) return signer.error();
  state_->operator_supplied = true;
  auto chain_text = readFile(options_.cert_file);
  if (!chain_text) return chain_text.error();
  auto chain = crypto::parseCertificates(*chain_text);
  if (!chain) return chain.error();
  for (size_t i = 1; i < chain->size(); ++i) {
    if (!crypto::selfSigned((*chain)[i].get())) state_->intermediates.push_back(std::move((*chain)[i]));
  }
  if (!options_.bundle_file.empty()) {
    auto bundle_text = readFile(options_.bundle_file);
    if (!bundle_text) return bundle_text.error();
    auto bundle = crypto::parseCertificates(*bundle_text);
    if (!bundle) return fail(Error::kInvalidArgument, options_.bundle_file + ": " + bundle.error().message);
    state_->bundle = std::move(*bundle);
  } else if (crypto::selfSigned(signer->cert.get())) {
    state_->bundle.push_back(copyCert(signer->cert.get()));
  } else {
    return fail(Error::kInvalidArgument,
                options_.cert_file + " is an intermediate CA: give its root(s) with --ca-bundle");
  }
  state_->signer = std::move(*signer);
  return base::Status::ok();
}

base::Status CertificateAuthority::loadGenerated() {
  const std::string dir = options_.state_dir + "/";
  // A crash inside "activate" (root -> previous, next -> root) leaves no
  // root.pem but both others: finish the renames.
  if (!fileExists(dir + "root.pem") && fileExists(dir + "next.pem") && fileExists(dir + "previous.pem")) {
    if (::rename((dir + "next.key").c_str(), (dir + "root.key").c_str()) != 0 ||
        ::rename((dir + "next.pem").c_str(), (dir + "root.pem").c_str()) != 0) {
      return fail(Error::kIo, dir + ": cannot complete an interrupted CA activation");
    }
  }
  if (!fileExists(dir + "root.pem")) {
    auto key = crypto::generateP256Key();
    if (!key) return key.error();
    auto cert = makeRoot(key->get(), options_.trust_domain, now(), options_.root_lifetime.count());
    if (!cert) return cert.error();
    auto key_pem = crypto::privateKeyPem(key->get());
    if (!key_pem) return key_pem.error();
    if (base::Status s = writeFileAtomic(dir + "root.key", *key_pem, 0600); !s) return s;
    if (base::Status s = writeFileAtomic(dir + "root.pem", crypto::certificatePem(cert->get())); !s) return s;
  }
  auto signer = loadKeyed(dir + "root.pem", dir + "root.key");
  if (!signer) return signer.error();
  state_->signer = std::move(*signer);
  if (fileExists(dir + "next.pem")) {
    auto next = loadKeyed(dir + "next.pem", dir + "next.key");
    if (!next) return next.error();
    state_->next = std::move(*next);
  }
  if (fileExists(dir + "previous.pem")) {
    auto previous = loadOneCert(dir + "previous.pem");
    if (!previous) return previous.error();
    state_->previous = std::move(*previous);
  }
  return base::Status::ok();
}

base::Status CertificateAuthority::writeBundle() {
  std::string pem;
  for (X509* root : state_->roots()) pem += crypto::certificatePem(root);
  return writeFileAtomic(bundlePath(), pem);
}

std::string CertificateAuthority::bundlePath() const { return options_.state_dir + "/bundle.pem"; }

base::Result<SpiffeId> CertificateAuthority::checkRequest(std::string_view csr_pem) const {
  auto request = crypto::parseRequest(csr_pem);
  if (!request) return request.error();
  return checkCsr(request->get(), options_.trust_domain);
}

base::Result<IssuedCertificate> CertificateAuthority::issue(std::string_view csr_pem, const SpiffeId& identity,
                                                            std::chrono::seconds requested) {
  auto request = crypto::parseRequest(csr_pem);
  if (!request) return request.error();
  auto asked = checkCsr(request->get(), options_.trust_domain);
  if (!asked) return asked.error();
  if (!(*asked == identity)) {
    return fail(Error::kInvalidArgument, "CSR asks for " + asked->uri() + ", not " + identity.uri());
  }
  std::chrono::seconds lifetime = requested.count() > 0 ? requested : options_.default_ttl;
  lifetime = std::min(lifetime, options_.max_ttl);
  const int64_t now_unix = now();
  LeafSpec spec;
  spec.uris = {identity.uri()};
  spec.organization = options_.trust_domain;
  spec.not_before_unix = now_unix - 60;
  spec.not_after_unix = now_unix + lifetime.count();

  std::lock_guard<std::mutex> lock(mutex_);
  // Never outlive the signer: a leaf valid after its issuer is not.
  spec.not_after_unix = std::min(spec.not_after_unix, crypto::notAfterUnix(state_->signer.cert.get()));
  auto leaf = issueLeaf(X509_REQ_get0_pubkey(request->get()), state_->signer.cert.get(), state_->signer.key.get(),
                        spec);
  if (!leaf) return leaf.error();
  IssuedCertificate out;
  out.identity = identity;
  out.chain_pem.push_back(crypto::certificatePem(leaf->get()));
  // An intermediate signer is part of the chain; a root never is.
  if (state_->operator_supplied && !crypto::selfSigned(state_->signer.cert.get())) {
    out.chain_pem.push_back(crypto::certificatePem(state_->signer.cert.get()));
  }
  for (const auto& intermediate : state_->intermediates) out.chain_pem.push_back(crypto::certificatePem(intermediate.get()));
  for (X509* root : state_->roots()) out.trust_bundle.push_back(crypto::certificatePem(root));
  out.serial = crypto::serialHex(leaf->get());
  out.not_before_unix = spec.not_before_unix;
  out.not_after_unix = spec.not_after_unix;
  return out;
}

base::Result<ServingCertificate> CertificateAuthority::issueServing(const SpiffeId& identity,
                                                                    const std::vector<std::string>& dns_names,
                                                                    const std::vector<std::string>& ip_addresses,
                                                                    std::chrono::seconds lifetime) {
  auto key = crypto::generateP256Key();
  if (!key) return key.error();
  const int64_t now_unix = now();
  LeafSpec spec{{identity.uri()}, dns_names, ip_addresses, options_.trust_domain, now_unix - 60,
                now_unix + lifetime.count()};
  std::lock_guard<std::mutex> lock(mutex_);
  spec.not_after_unix = std::min(spec.not_after_unix, crypto::notAfterUnix(state_->signer.cert.get()));
  auto leaf = issueLeaf(key->get(), state_->signer.cert.get(), state_->signer.key.get(), spec);
  if (!leaf) return leaf.error();
  auto key_pem = crypto::privateKeyPem(key->get());
  if (!key_pem) return key_pem.error();
  ServingCertificate out;
  out.key_pem = std::move(*key_pem);
  out.chain_pem = crypto::certificatePem(leaf->get());
  if (state_->operator_supplied && !crypto::selfSigned(state_->signer.cert.get())) {
    out.chain_pem += crypto::certificatePem(state_->signer.cert.get());
  }
  for (const auto& intermediate : state_->intermediates) out.chain_pem += crypto::certificatePem(intermediate.get());
  out.not_after_unix = spec.not_after_unix;
  return out;
}

std::vector<std::string> CertificateAuthority::trustBundle() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (X509* root : state_->roots()) out.push_back(crypto::certificatePem(root));
  return out;
}

std::string CertificateAuthority::trustBundlePem() const {
  std::string out;
  for (const std::string& pem : trustBundle()) out += pem;
  return out;
}

CaStatus CertificateAuthority::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  CaStatus out;
  out.trust_domain = options_.trust_domain;
  out.operator_supplied = state_->operator_supplied;
  out.phase = state_->phase();
  X509* signer = state_->signer.cert.get();
  out.signer_subject = crypto::subjectText(signer);
  out.signer_fingerprint = crypto::fingerprint(signer);
  for (X509* root : state_->roots()) {
    RootInfo info;
    info.subject = crypto::subjectText(root);
    info.fingerprint = crypto::fingerprint(root);
    info.not_before_unix = crypto::notBeforeUnix(root);
    info.not_after_unix = crypto::notAfterUnix(root);
    info.signing = root == signer || (state_->operator_supplied && X509_check_issued(root, signer) == X509_V_OK);
    info.pem = crypto::certificatePem(root);
    out.roots.push_back(std::move(info));
  }
  return out;
}

base::Status CertificateAuthority::rotate(std::string_view phase) {
  if (phase != "prepare" && phase != "activate" && phase != "finish") {
    return fail(Error::kInvalidArgument, "phase: must be prepare, activate or finish");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (state_->operator_supplied) {
    return fail(Error::kUnsupported,
                "the CA is operator-supplied (--ca-cert): rotate it by restarting with new --ca-cert/--ca-bundle");
  }
  const std::string dir = options_.state_dir + "/";
  const RotationPhase current = state_->phase();
  const std::string now_in = "the CA rotation is in phase " + std::string(rotationPhaseName(current));
  if (phase == "prepare") {
    if (current != RotationPhase::kNone) return fail(Error::kConflict, now_in + ": finish it before preparing another");
    auto key = crypto::generateP256Key();
    if (!key) return key.error();
    auto cert = makeRoot(key->get(), options_.trust_domain, now(), options_.root_lifetime.count());
    if (!cert) return cert.error();
    auto key_pem = crypto::privateKeyPem(key->get());
    if (!key_pem) return key_pem.error();
    if (base::Status s = writeFileAtomic(dir + "next.key", *key_pem, 0600); !s) return s;
    if (base::Status s = writeFileAtomic(dir + "next.pem", crypto::certificatePem(cert->get())); !s) return s;
    state_->next = KeyedCert{std::move(*cert), std::move(*key)};
  } else if (phase == "activate") {
    if (current != RotationPhase::kPrepared) return fail(Error::kConflict, now_in + ": activate follows prepare");
    // previous.pem first: a crash after it is completed by loadGenerated().
    if (base::Status s = writeFileAtomic(dir + "previous.pem", crypto::certificatePem(state_->signer.cert.get())); !s) {
      return s;
    }
    if (base::Status s = removeFile(dir + "root.pem"); !s) return s;
    if (::rename((dir + "next.key").c_str(), (dir + "root.key").c_str()) != 0 ||
        ::rename((dir + "next.pem").c_str(), (dir + "root.pem").c_str()) != 0) {
      return fail(Error::kIo, dir + ": cannot move next.pem to root.pem");
    }
    state_->previous = std::move(state_->signer.cert);
    state_->signer = std::move(state_->next);
    state_->next = KeyedCert{};
  } else {
    if (current != RotationPhase::kActivated) return fail(Error::kConflict, now_in + ": finish follows activate");
    if (base::Status s = removeFile(dir + "previous.pem"); !s) return s;
    state_->previous.reset();
  }
  return writeBundle();
}

}  // namespace remora::cp::ca
