#include "xds/resources/tls_converter.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "xds/resources/common_converters.h"

namespace remora::xds::resources {

namespace core = envoy::config::core::v3;
namespace tls = envoy::extensions::transport_sockets::tls::v3;
namespace matcher = envoy::type::matcher::v3;
using base::Result;
using base::Status;

namespace {

// RFC 7301: a protocol name is 1..255 bytes.
constexpr size_t kMaxAlpnLength = 255;
constexpr size_t kMaxSniLength = 255;
constexpr std::string_view kDefaultIsNotABundle = "\"default\" is the proxy's own certificate, not a trust bundle";

enum class FilePolicy { kAllowFile, kInlineOnly };

// PEM from a DataSource: inline text, or (where the proxy may read files) a
// path. Exactly one of the two members is set.
struct PemSource {
  std::string inline_pem;
  std::string file;
};

Result<PemSource> toPemSource(const core::DataSource& proto, std::string_view path, FilePolicy files) {
  PemSource out;
  switch (proto.specifier_case()) {
    case core::DataSource::kFilename:
      if (files == FilePolicy::kInlineOnly) {
        return unsupportedField(fieldPath(path, "filename"), "a secret carries inline PEM only");
      }
      if (proto.filename().empty()) return invalidField(fieldPath(path, "filename"), "must not be empty");
      out.file = proto.filename();
      return out;
    case core::DataSource::kInlineString: out.inline_pem = proto.inline_string(); break;
    case core::DataSource::kInlineBytes: out.inline_pem = proto.inline_bytes(); break;
    case core::DataSource::kEnvironmentVariable:
      return unsupportedField(fieldPath(path, "environment_variable"));
    case core::DataSource::SPECIFIER_NOT_SET:
      return invalidField(path, "one of filename, inline_string or inline_bytes is required");
  }
  // A cheap check that catches a path or base64 DER pasted where PEM belongs;
  // the TLS layer parses the PEM for real.
  if (out.inline_pem.find("-----BEGIN ") == std::string::npos) {
    return invalidField(path, "is not PEM (no \"-----BEGIN \" line)");
  }
  return out;
}

Result<CertificateSource> toTlsCertificate(const tls::TlsCertificate& proto, std::string_view path, FilePolicy files) {
  if (Status s = onlySupportedFields(proto, path, {"certificate_chain", "private_key"}); !s) return s.error();
  const std::string chain_path = fieldPath(path, "certificate_chain");
  const std::string key_path = fieldPath(path, "private_key");
  if (!proto.has_certificate_chain()) return invalidField(chain_path, "is required");
  if (!proto.has_private_key()) return invalidField(key_path, "is required");
  Result<PemSource> chain = toPemSource(proto.certificate_chain(), chain_path, files);
  if (!chain) return chain.error();
  Result<PemSource> key = toPemSource(proto.private_key(), key_path, files);
  if (!key) return key.error();
  CertificateSource out;
  out.certificate_chain = std::move(chain->inline_pem);
  out.certificate_chain_file = std::move(chain->file);
  out.private_key = std::move(key->inline_pem);
  out.private_key_file = std::move(key->file);
  return out;
}

// The name of a secret fetched over ADS.
Result<std::string> toSdsName(const tls::SdsSecretConfig& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path, {"name", "sds_config"}); !s) return s.error();
  if (proto.name().empty()) return invalidField(fieldPath(path, "name"), "is required");
  const std::string source_path = fieldPath(path, "sds_config");
  if (proto.has_sds_config()) {
    if (Status s = onlySupportedFields(proto.sds_config(), source_path, {"ads", "resource_api_version"}); !s) {
      return s.error();
    }
    if (!proto.sds_config().has_ads()) {
      return invalidField(source_path, "must be {ads: {}} (remora-proxy fetches secrets over ADS only)");
    }
    if (proto.sds_config().resource_api_version() == core::V2) {
      return unsupportedField(fieldPath(source_path, "resource_api_version"), "xDS v2");
    }
  } else if (proto.name() != kDefaultSecretName) {
    return invalidField(source_path, "is required: {ads: {}} (only the proxy's own certificate, \"default\", "
                                     "is made locally)");
  }
  return proto.name();
}

Status toSanMatchers(const google::protobuf::RepeatedPtrField<tls::SubjectAltNameMatcher>& matchers,
                     std::string_view path, CertificateValidation& out) {
  for (int i = 0; i < matchers.size(); ++i) {
    const tls::SubjectAltNameMatcher& san = matchers.Get(i);
    const std::string item = indexPath(path, static_cast<size_t>(i));
    if (Status s = onlySupportedFields(san, item, {"san_type", "matcher"}); !s) return s;
    if (san.san_type() == tls::SubjectAltNameMatcher::SAN_TYPE_UNSPECIFIED) {
      return invalidField(fieldPath(item, "san_type"), "is required");
    }
    if (san.san_type() != tls::SubjectAltNameMatcher::URI) {
      return unsupportedField(fieldPath(item, "san_type"),
                              tls::SubjectAltNameMatcher::SanType_Name(san.san_type()) +
                                  "; peers are identified by their URI SAN (SPIFFE ID) only");
    }
    const std::string matcher_path = fieldPath(item, "matcher");
    const matcher::StringMatcher& m = san.matcher();
    if (Status s = onlySupportedFields(m, matcher_path, {"exact", "prefix"}); !s) return s;
    switch (m.match_pattern_case()) {
      case matcher::StringMatcher::kExact:
        if (m.exact().empty()) return invalidField(fieldPath(matcher_path, "exact"), "must not be empty");
        out.uri_san_exact.push_back(m.exact());
        break;
      case matcher::StringMatcher::kPrefix:
        if (m.prefix().empty()) return invalidField(fieldPath(matcher_path, "prefix"), "must not be empty");
        out.uri_san_prefix.push_back(m.prefix());
        break;
      default: return invalidField(matcher_path, "one of exact or prefix is required");
    }
  }
  return Status::ok();
}

// A CertificateValidationContext. `roots_required` is false inside a combined
// context: its roots come from the SDS secret, and any it names itself are
// trusted as well (Envoy merges the two; a bootstrap names the mesh root
// file so the control plane can be verified before the secret arrives).
Status toValidationContext(const tls::CertificateValidationContext& proto, std::string_view path, bool roots_required,
                           FilePolicy files, CertificateValidation& out) {
  if (Status s = onlySupportedFields(proto, path, {"trusted_ca", "match_typed_subject_alt_names"}); !s) return s;
  const std::string ca_path = fieldPath(path, "trusted_ca");
  if (proto.has_trusted_ca()) {
    Result<PemSource> roots = toPemSource(proto.trusted_ca(), ca_path, files);
    if (!roots) return roots.status();
    out.trusted_ca = std::move(roots->inline_pem);
    out.trusted_ca_file = std::move(roots->file);
  } else if (roots_required) {
    return invalidField(ca_path, "is required: without roots no peer certificate can be verified");
  }
  return toSanMatchers(proto.match_typed_subject_alt_names(), fieldPath(path, "match_typed_subject_alt_names"), out);
}

Result<std::optional<CertificateValidation>> toValidation(const tls::CommonTlsContext& proto, std::string_view path) {
  CertificateValidation out;
  switch (proto.validation_context_type_case()) {
    case tls::CommonTlsContext::kValidationContext:
      if (Status s = toValidationContext(proto.validation_context(), fieldPath(path, "validation_context"), true,
                                         FilePolicy::kAllowFile, out);
          !s) {
        return s.error();
      }
      return std::optional<CertificateValidation>(std::move(out));
    case tls::CommonTlsContext::kValidationContextSdsSecretConfig: {
      const std::string sds_path = fieldPath(path, "validation_context_sds_secret_config");
      Result<std::string> name = toSdsName(proto.validation_context_sds_secret_config(), sds_path);
      if (!name) return name.error();
      if (*name == kDefaultSecretName) {
        return invalidField(fieldPath(sds_path, "name"), kDefaultIsNotABundle);
      }
      out.sds_name = std::move(*name);
      return std::optional<CertificateValidation>(std::move(out));
    }
    case tls::CommonTlsContext::kCombinedValidationContext: {
      const std::string combined_path = fieldPath(path, "combined_validation_context");
      const tls::CommonTlsContext::CombinedCertificateValidationContext& combined = proto.combined_validation_context();
      if (Status s = onlySupportedFields(combined, combined_path,
                                         {"default_validation_context", "validation_context_sds_secret_config"});
          !s) {
        return s.error();
      }
      const std::string sds_path = fieldPath(combined_path, "validation_context_sds_secret_config");
      if (!combined.has_validation_context_sds_secret_config()) return invalidField(sds_path, "is required");
      Result<std::string> name = toSdsName(combined.validation_context_sds_secret_config(), sds_path);
      if (!name) return name.error();
      if (*name == kDefaultSecretName) {
        return invalidField(fieldPath(sds_path, "name"), kDefaultIsNotABundle);
      }
      out.sds_name = std::move(*name);
      if (Status s = toValidationContext(combined.default_validation_context(),
                                         fieldPath(combined_path, "default_validation_context"), false,
                                         FilePolicy::kAllowFile, out);
          !s) {
        return s.error();
      }
      return std::optional<CertificateValidation>(std::move(out));
    }
    case tls::CommonTlsContext::VALIDATION_CONTEXT_TYPE_NOT_SET: break;
  }
  return std::optional<CertificateValidation>();
}

Result<TlsVersion> toTlsVersion(tls::TlsParameters::TlsProtocol proto, TlsVersion automatic, std::string_view path) {
  switch (proto) {
    case tls::TlsParameters::TLS_AUTO: return automatic;
    case tls::TlsParameters::TLSv1_2: return TlsVersion::kTls12;
    case tls::TlsParameters::TLSv1_3: return TlsVersion::kTls13;
    case tls::TlsParameters::TLSv1_0:
    case tls::TlsParameters::TLSv1_1:
      return unsupportedField(path, tls::TlsParameters::TlsProtocol_Name(proto) +
                                        "; remora-proxy speaks TLS 1.2 and 1.3 only");
    default: return invalidField(path, "unknown TLS version " + std::to_string(static_cast<int>(proto)));
  }
}

// What Upstream- and DownstreamTlsContext share.
struct CommonTls {
  CertificateSource certificate;
  std::optional<CertificateValidation> validation;
  std::vector<std::string> alpn;
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
};

Status toTlsParams(const tls::TlsParameters& proto, std::string_view path, CommonTls& out) {
  if (Status s = onlySupportedFields(proto, path, {"tls_minimum_protocol_version", "tls_maximum_protocol_version"});
      !s) {
    return s;
  }
  Result<TlsVersion> min = toTlsVersion(proto.tls_minimum_protocol_version(), TlsVersion::kTls12,
                                        fieldPath(path, "tls_minimum_protocol_version"));
  if (!min) return min.status();
  Result<TlsVersion> max = toTlsVersion(proto.tls_maximum_protocol_version(), TlsVersion::kTls13,
                                        fieldPath(path, "tls_maximum_protocol_version"));
  if (!max) return max.status();
  if (*min == TlsVersion::kTls13 && *max == TlsVersion::kTls12) {
    return invalidField(fieldPath(path, "tls_minimum_protocol_version"), "TLSv1_3 is above the maximum TLSv1_2");
  }
  out.min_version = *min;
  out.max_version = *max;
  return Status::ok();
}

Result<CommonTls> toCommonTls(const tls::CommonTlsContext& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path,
                                     {"tls_params", "tls_certificates", "tls_certificate_sds_secret_configs",
                                      "validation_context", "validation_context_sds_secret_config",
                                      "combined_validation_context", "alpn_protocols"});
      !s) {
    return s.error();
  }
  CommonTls out;
  if (Status s = toTlsParams(proto.tls_params(), fieldPath(path, "tls_params"), out); !s) return s.error();
  if (proto.tls_certificates_size() + proto.tls_certificate_sds_secret_configs_size() > 1) {
    return invalidField(path,
                        "at most one certificate (tls_certificates or tls_certificate_sds_secret_configs) "
                        "is supported");
  }
  if (proto.tls_certificates_size() == 1) {
    Result<CertificateSource> certificate = toTlsCertificate(
        proto.tls_certificates(0), indexPath(fieldPath(path, "tls_certificates"), 0), FilePolicy::kAllowFile);
    if (!certificate) return certificate.error();
    out.certificate = std::move(*certificate);
  } else if (proto.tls_certificate_sds_secret_configs_size() == 1) {
    Result<std::string> name = toSdsName(proto.tls_certificate_sds_secret_configs(0),
                                         indexPath(fieldPath(path, "tls_certificate_sds_secret_configs"), 0));
    if (!name) return name.error();
    out.certificate.sds_name = std::move(*name);
  }
  Result<std::optional<CertificateValidation>> validation = toValidation(proto, path);
  if (!validation) return validation.error();
  out.validation = std::move(*validation);
  for (int i = 0; i < proto.alpn_protocols_size(); ++i) {
    const std::string& protocol = proto.alpn_protocols(i);
    const std::string item = indexPath(fieldPath(path, "alpn_protocols"), static_cast<size_t>(i));
    if (protocol.empty() || protocol.size() > kMaxAlpnLength) return invalidField(item, "must be 1..255 bytes");
    if (std::find(out.alpn.begin(), out.alpn.end(), protocol) != out.alpn.end()) {
      return invalidField(item, quoted(protocol) + " is listed twice");
    }
    out.alpn.push_back(protocol);
  }
  return out;
}

// Checks the transport socket's name and unpacks its typed_config as T.
template <typename T>
Result<T> unpackTransportSocket(const core::TransportSocket& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path, {"name", "typed_config"}); !s) return s.error();
  if (!proto.name().empty() && proto.name() != kTlsTransportSocketName) {
    return unsupportedField(fieldPath(path, "name"),
                            "transport socket " + quoted(proto.name()) + "; supported: " +
                                std::string(kTlsTransportSocketName));
  }
  const std::string config_path = fieldPath(path, "typed_config");
  if (!proto.has_typed_config()) return invalidField(config_path, "is required");
  const std::string& expected = T::descriptor()->full_name();
  if (anyTypeName(proto.typed_config().type_url()) != expected) {
    return invalidField(config_path, "@type " + proto.typed_config().type_url() + " is not " + expected);
  }
  T message;
  if (!proto.typed_config().UnpackTo(&message)) return invalidField(config_path, "cannot be decoded as " + expected);
  return message;
}

}  // namespace

Result<UpstreamTls> toUpstreamTlsContext(const tls::UpstreamTlsContext& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path, {"common_tls_context", "sni"}); !s) return s.error();
  Result<CommonTls> common = toCommonTls(proto.common_tls_context(), fieldPath(path, "common_tls_context"));
  if (!common) return common.error();
  if (proto.sni().size() > kMaxSniLength) return invalidField(fieldPath(path, "sni"), "is longer than 255 bytes");
  UpstreamTls out;
  out.certificate = std::move(common->certificate);
  out.validation = std::move(common->validation);
  out.sni = proto.sni();
  out.alpn = std::move(common->alpn);
  out.min_version = common->min_version;
  out.max_version = common->max_version;
  return out;
}

Result<DownstreamTls> toDownstreamTlsContext(const tls::DownstreamTlsContext& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path, {"common_tls_context", "require_client_certificate"}); !s) {
    return s.error();
  }
  const std::string common_path = fieldPath(path, "common_tls_context");
  Result<CommonTls> common = toCommonTls(proto.common_tls_context(), common_path);
  if (!common) return common.error();
  if (common->certificate.empty()) {
    return invalidField(common_path,
                        "a certificate is required (tls_certificates or tls_certificate_sds_secret_configs)");
  }
  DownstreamTls out;
  out.require_client_certificate = proto.has_require_client_certificate() && proto.require_client_certificate().value();
  if (out.require_client_certificate && !common->validation) {
    return invalidField(fieldPath(path, "require_client_certificate"),
                        "needs a validation context in common_tls_context to verify the client against");
  }
  out.certificate = std::move(common->certificate);
  out.validation = std::move(common->validation);
  out.alpn = std::move(common->alpn);
  out.min_version = common->min_version;
  out.max_version = common->max_version;
  return out;
}

Result<UpstreamTls> toUpstreamTls(const core::TransportSocket& proto, std::string_view path) {
  Result<tls::UpstreamTlsContext> context = unpackTransportSocket<tls::UpstreamTlsContext>(proto, path);
  if (!context) return context.error();
  return toUpstreamTlsContext(*context, fieldPath(path, "typed_config"));
}

Result<DownstreamTls> toDownstreamTls(const core::TransportSocket& proto, std::string_view path) {
  Result<tls::DownstreamTlsContext> context = unpackTransportSocket<tls::DownstreamTlsContext>(proto, path);
  if (!context) return context.error();
  return toDownstreamTlsContext(*context, fieldPath(path, "typed_config"));
}

Result<Secret> toSecret(const tls::Secret& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path, {"name", "tls_certificate", "validation_context"}); !s) {
    return s.error();
  }
  Secret out;
  if (proto.name().empty()) return invalidField(fieldPath(path, "name"), "is required");
  out.name = proto.name();
  switch (proto.type_case()) {
    case tls::Secret::kTlsCertificate: {
      Result<CertificateSource> certificate =
          toTlsCertificate(proto.tls_certificate(), fieldPath(path, "tls_certificate"), FilePolicy::kInlineOnly);
      if (!certificate) return certificate.error();
      out.tls_certificate = std::move(*certificate);
      return out;
    }
    case tls::Secret::kValidationContext: {
      CertificateValidation validation;
      if (Status s = toValidationContext(proto.validation_context(), fieldPath(path, "validation_context"), true,
                                         FilePolicy::kInlineOnly, validation);
          !s) {
        return s.error();
      }
      out.validation_context = std::move(validation);
      return out;
    }
    default: break;
  }
  return invalidField(path.empty() ? std::string_view("type") : path,
                      "one of tls_certificate or validation_context is required");
}

}  // namespace remora::xds::resources
