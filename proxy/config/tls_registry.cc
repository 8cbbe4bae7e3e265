#include "proxy/config/tls_registry.h"

#include "proxy/config/bootstrap_loader.h"


#include "proxy/tls/certificate_info.h"

namespace remora::config {

using xds::resources::CertificateSource;
using xds::resources::CertificateValidation;

namespace {

base::Result<std::string> readPem(const std::string& path, std::string_view what) {
  auto text = readSmallFile(path);
  if (!text) return base::fail(text.error().code, std::string(what) + " file " + text.error().message);
  return text;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += i + ",";
  return out;
}

std::string versionKey(xds::resources::TlsVersion v) { return v == xds::resources::TlsVersion::kTls13 ? "13" : "12"; }

// Equal configs get equal keys; inline PEM is part of the key by content.
std::string keyOf(bool server, const CertificateSource& c, const std::optional<CertificateValidation>& v,
                  const tls::ContextOptions& o) {
  std::string key = server ? "S|" : "C|";
  key += c.sds_name + "|" + c.certificate_chain_file + "|" + c.private_key_file + "|" +
         std::to_string(std::hash<std::string>{}(c.certificate_chain + c.private_key)) + "|";
  if (v) key += v->sds_name + "|" + v->trusted_ca_file + "|" + std::to_string(std::hash<std::string>{}(v->trusted_ca));
  key += "|" + join(o.alpn) + "|" + versionKey(o.min_version) + versionKey(o.max_version) +
         (o.require_peer_certificate ? "|R" : "|-");
  return key;
}

}  // namespace

base::Status TlsRegistry::setSecret(const std::string& name, SecretValue value) {
  auto previous = secrets_.find(name);
  std::optional<SecretValue> old;
  if (previous != secrets_.end()) old = previous->second;
  secrets_[name] = std::move(value);
  // Build every affected context first; only when all succeed are they
  // swapped in, so a bad secret changes nothing.
  std::vector<std::pair<Entry*, std::shared_ptr<const tls::TlsContext>>> built;
  for (auto& [key, entry] : entries_) {
    const bool uses = entry.certificate.sds_name == name || (entry.validation && entry.validation->sds_name == name);
    if (!uses) continue;
    Entry trial = entry;
    trial.slot = std::make_shared<tls::ContextSlot>();
    if (base::Status s = rebuild(trial); !s) {
      if (old) secrets_[name] = *old;
      else secrets_.erase(name);
      return base::fail(s.error().code, "secret '" + name + "': " + s.error().message);
    }
    built.emplace_back(&entry, trial.slot->current());
    entry.waiting_for = trial.waiting_for;
  }
  for (auto& [entry, context] : built) {
    if (context) entry->slot->set(std::move(context));
  }
  return {};
}

base::Status TlsRegistry::rebuild(Entry& entry) {
  tls::ContextMaterial material;
  std::vector<std::string> missing;
  const CertificateSource& c = entry.certificate;
  if (!c.sds_name.empty()) {
    auto s = secrets_.find(c.sds_name);
    if (s == secrets_.end() || s->second.certificate_chain.empty()) {
      missing.push_back("secret '" + c.sds_name + "'");
    } else {
      material.certificate_chain = s->second.certificate_chain;
      material.private_key = s->second.private_key;
    }
  } else if (!c.certificate_chain_file.empty()) {
    auto chain = readPem(c.certificate_chain_file, "certificate_chain");
    if (!chain) return chain.error();
    auto key = readPem(c.private_key_file, "private_key");
    if (!key) return key.error();
    material.certificate_chain = std::move(*chain);
    material.private_key = std::move(*key);
  } else {
    material.certificate_chain = c.certificate_chain;
    material.private_key = c.private_key;
  }
  if (entry.validation) {
    const CertificateValidation& v = *entry.validation;
    // Envoy's combined validation context: the secret's roots and any the
    // config names itself are trusted together (a bootstrap names the mesh
    // root file for the control plane, and takes rotated roots from ROOTCA).
    std::string roots = v.trusted_ca;
    if (!v.trusted_ca_file.empty()) {
      auto file = readPem(v.trusted_ca_file, "trusted_ca");
      if (!file) return file.error();
      roots += *file;
    }
    if (!v.sds_name.empty()) {
      auto s = secrets_.find(v.sds_name);
      if (s != secrets_.end() && !s->second.trusted_ca.empty()) {
        if (!roots.empty() && roots.back() != '\n') roots += '\n';
        roots += s->second.trusted_ca;
      } else if (roots.empty()) {
        missing.push_back("secret '" + v.sds_name + "'");
      }
    }
    material.trusted_roots = std::move(roots);
  }
  if (!missing.empty()) {
    entry.waiting_for.clear();
    for (const auto& m : missing) entry.waiting_for += (entry.waiting_for.empty() ? "" : " and ") + m;
    return {};
  }
  entry.waiting_for.clear();
  auto context = tls::TlsContext::create(material, entry.options);
  if (!context) return context.error();
  entry.slot->set(std::move(*context));
  return {};
}

std::shared_ptr<tls::ContextSlot> TlsRegistry::slotFor(bool server, const CertificateSource& certificate,
                                                       const std::optional<CertificateValidation>& validation,
                                                       tls::ContextOptions options, std::string& waiting_for,
                                                       base::Status& error) {
  const std::string key = keyOf(server, certificate, validation, options);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    Entry entry{server, certificate, validation, std::move(options), std::make_shared<tls::ContextSlot>(), ""};
    if (base::Status s = rebuild(entry); !s) {
      error = s;
      return nullptr;
    }
    it = entries_.emplace(key, std::move(entry)).first;
  }
  waiting_for = it->second.waiting_for;
  return it->second.slot;
}

base::Result<upstream::TlsSettingsPtr> TlsRegistry::settingsFor(std::shared_ptr<tls::ContextSlot> slot,
                                                                std::string waiting_for,
                                                                const std::optional<CertificateValidation>& v,
                                                                const std::string& sni) {
  upstream::TlsSettings settings;
  settings.slot = std::move(slot);
  settings.sni = sni;
  settings.waiting_for = std::move(waiting_for);
  if (v) {
    settings.validation.exact = v->uri_san_exact;
    settings.validation.prefix = v->uri_san_prefix;
  }
  const std::string key = std::to_string(reinterpret_cast<uintptr_t>(settings.slot.get())) + "|" + sni + "|" +
                          join(settings.validation.exact) + "|" + join(settings.validation.prefix);
  if (auto held = settings_[key].lock()) return held;
  auto made = std::make_shared<const upstream::TlsSettings>(std::move(settings));
  settings_[key] = made;
  return upstream::TlsSettingsPtr(made);
}

base::Result<upstream::TlsSettingsPtr> TlsRegistry::forUpstream(const xds::resources::UpstreamTls& tls) {
  tls::ContextOptions options;
  options.server = false;
  options.require_peer_certificate = tls.validation.has_value();
  options.alpn = tls.alpn;
  options.min_version = tls.min_version;
  options.max_version = tls.max_version;
  std::string waiting_for;
  base::Status error;
  auto slot = slotFor(false, tls.certificate, tls.validation, std::move(options), waiting_for, error);
  if (!slot) return error;
  return settingsFor(std::move(slot), std::move(waiting_for), tls.validation, tls.sni);
}

base::Result<upstream::TlsSettingsPtr> TlsRegistry::forDownstream(const xds::resources::DownstreamTls& tls) {
  tls::ContextOptions options;
  options.server = true;
  options.require_peer_certificate = tls.require_client_certificate;
  options.alpn = tls.alpn;
  options.min_version = tls.min_version;
  options.max_version = tls.max_version;
  std::string waiting_for;
  base::Status error;
  auto slot = slotFor(true, tls.certificate, tls.validation, std::move(options), waiting_for, error);
  if (!slot) return error;
  return settingsFor(std::move(slot), std::move(waiting_for), tls.validation, "");
}

std::set<std::string> TlsRegistry::sdsNames() const {
  std::set<std::string> names;
  for (const auto& [key, e] : entries_) {
    if (!e.certificate.sds_name.empty() && e.certificate.sds_name != kWorkloadSecret) names.insert(e.certificate.sds_name);
    if (e.validation && !e.validation->sds_name.empty() && e.validation->sds_name != kWorkloadSecret) {
      names.insert(e.validation->sds_name);
    }
  }
  return names;
}

bool TlsRegistry::needsWorkloadIdentity() const {
  for (const auto& [key, e] : entries_) {
    if (e.certificate.sds_name == kWorkloadSecret) return true;
  }
  return false;
}

std::string TlsRegistry::waitingFor() const {
  for (const auto& [key, e] : entries_) {
    if (!e.waiting_for.empty()) return e.waiting_for;
  }
  return "";
}

std::map<std::string, std::chrono::system_clock::time_point> TlsRegistry::expiries() const {
  std::map<std::string, std::chrono::system_clock::time_point> out;
  for (const auto& [name, s] : secrets_) {
    const std::string& pem = s.certificate_chain.empty() ? s.trusted_ca : s.certificate_chain;
    auto certs = tls::splitPemCertificates(pem);
    if (!certs || certs->empty()) continue;
    // A chain expires with its leaf; a bundle is judged by its earliest root.
    const size_t count = s.certificate_chain.empty() ? certs->size() : 1;
    for (size_t i = 0; i < count; ++i) {
      auto info = tls::inspectCertificate((*certs)[i]);
      if (!info) continue;
      auto [it, fresh] = out.emplace(name, info->not_after);
      if (!fresh && info->not_after < it->second) it->second = info->not_after;
    }
  }
  return out;
}

void TlsRegistry::prune() {
  for (auto it = settings_.begin(); it != settings_.end();) {
    it = it->second.expired() ? settings_.erase(it) : std::next(it);
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    // Only the registry holds the slot: no snapshot (no TlsSettings) uses it.
    it = it->second.slot.use_count() == 1 ? entries_.erase(it) : std::next(it);
  }
}

}  // namespace remora::config
