#include "xds/resources/tls_converter.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
using SocketProto = envoy::config::core::v3::TransportSocket;
using SecretProto = envoy::extensions::transport_sockets::tls::v3::Secret;

namespace {

constexpr const char* kPem = "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n";
constexpr const char* kKey = "-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----\\n";

std::string upstream(const std::string& context) {
  return R"({"name": "envoy.transport_sockets.tls", "typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", )" +
         context + "}}";
}

std::string downstream(const std::string& context) {
  return R"({"name": "envoy.transport_sockets.tls", "typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", )" +
         context + "}}";
}

std::string upstreamError(const std::string& context) {
  auto tls = toUpstreamTls(protoFromJson<SocketProto>(upstream(context)), "ts");
  REQUIRE_FALSE(tls);
  return tls.error().message;
}

std::string downstreamError(const std::string& context) {
  auto tls = toDownstreamTls(protoFromJson<SocketProto>(downstream(context)), "ts");
  REQUIRE_FALSE(tls);
  return tls.error().message;
}

std::string secretError(const std::string& json) {
  auto secret = toSecret(protoFromJson<SecretProto>(json));
  REQUIRE_FALSE(secret);
  return secret.error().message;
}

}  // namespace

TEST_CASE("an upstream context with inline files and versions converts", "[xds][resources][tls]") {
  auto tls = toUpstreamTls(protoFromJson<SocketProto>(upstream(std::string(R"("sni": "b.svc", "common_tls_context": {
      "tls_params": {"tls_minimum_protocol_version": "TLSv1_3"},
      "tls_certificates": [{"certificate_chain": {"filename": "/etc/certs/chain.pem"},
                            "private_key": {"inline_string": ")") + kKey + R"("}}],
      "validation_context": {"trusted_ca": {"filename": "/etc/certs/root.pem"},
        "match_typed_subject_alt_names": [{"san_type": "URI", "matcher": {"exact": "spiffe://td/ns/a/sa/b"}},
                                          {"san_type": "URI", "matcher": {"prefix": "spiffe://td/ns/c/"}}]},
      "alpn_protocols": ["h2", "http/1.1"]})")),
                           "ts");
  REQUIRE(tls);
  CHECK(tls->sni == "b.svc");
  CHECK(tls->min_version == TlsVersion::kTls13);
  CHECK(tls->max_version == TlsVersion::kTls13);
  CHECK(tls->certificate.certificate_chain_file == "/etc/certs/chain.pem");
  CHECK(tls->certificate.private_key.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  REQUIRE(tls->validation);
  CHECK(tls->validation->trusted_ca_file == "/etc/certs/root.pem");
  CHECK(tls->validation->uri_san_exact == std::vector<std::string>{"spiffe://td/ns/a/sa/b"});
  CHECK(tls->validation->uri_san_prefix == std::vector<std::string>{"spiffe://td/ns/c/"});
  CHECK(tls->alpn == std::vector<std::string>{"h2", "http/1.1"});
}

TEST_CASE("an upstream context needs no certificate and no validation", "[xds][resources][tls]") {
  auto tls = toUpstreamTls(protoFromJson<SocketProto>(upstream(R"("common_tls_context": {})")), "ts");
  REQUIRE(tls);
  CHECK(tls->certificate.empty());
  CHECK_FALSE(tls->validation);
}

TEST_CASE("secrets are fetched over ADS, except the proxy's own", "[xds][resources][tls]") {
  auto by_name = toUpstreamTls(protoFromJson<SocketProto>(upstream(R"("common_tls_context": {
      "tls_certificate_sds_secret_configs": [{"name": "default"}],
      "validation_context_sds_secret_config": {"name": "ROOTCA", "sds_config": {"ads": {}}}})")),
                               "ts");
  REQUIRE(by_name);
  CHECK(by_name->certificate.sds_name == "default");
  CHECK(by_name->validation->sds_name == "ROOTCA");
  CHECK(upstreamError(R"("common_tls_context": {"validation_context_sds_secret_config": {"name": "ROOTCA"}})") ==
        "ts.typed_config.common_tls_context.validation_context_sds_secret_config.sds_config: is required: {ads: {}} "
        "(only the proxy's own certificate, \"default\", is made locally)");
  CHECK(upstreamError(R"("common_tls_context": {"tls_certificate_sds_secret_configs": [{"name": "cert",
      "sds_config": {"api_config_source": {"api_type": "GRPC"}}}]})") ==
        "ts.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].sds_config.api_config_source: "
        "not supported by remora-proxy");
  CHECK(upstreamError(R"("common_tls_context": {"validation_context_sds_secret_config": {"name": "default"}})") ==
        "ts.typed_config.common_tls_context.validation_context_sds_secret_config.name: \"default\" is the proxy's "
        "own certificate, not a trust bundle");
  CHECK(upstreamError(R"("common_tls_context": {"tls_certificate_sds_secret_configs": [{"name": "default"},
      {"name": "other", "sds_config": {"ads": {}}}]})") ==
        "ts.typed_config.common_tls_context: at most one certificate (tls_certificates or "
        "tls_certificate_sds_secret_configs) is supported");
}

TEST_CASE("a combined validation context trusts the secret's roots and any it names itself",
          "[xds][resources][tls]") {
  auto both = toUpstreamTls(protoFromJson<SocketProto>(upstream(R"("common_tls_context": {"combined_validation_context": {
      "default_validation_context": {"trusted_ca": {"filename": "/etc/remora/root.pem"}},
      "validation_context_sds_secret_config": {"name": "ROOTCA", "sds_config": {"ads": {}}}}})")),
                            "ts");
  INFO((both ? std::string() : both.error().message));
  REQUIRE(both);
  REQUIRE(both->validation);
  CHECK(both->validation->sds_name == "ROOTCA");
  CHECK(both->validation->trusted_ca_file == "/etc/remora/root.pem");
  CHECK(upstreamError(R"("common_tls_context": {"combined_validation_context": {"default_validation_context": {}}})") ==
        "ts.typed_config.common_tls_context.combined_validation_context.validation_context_sds_secret_config: "
        "is required");
  CHECK(upstreamError(R"("common_tls_context": {"validation_context": {"match_typed_subject_alt_names": [
      {"san_type": "URI", "matcher": {"exact": "spiffe://td/ns/a/sa/b"}}]}})") ==
        "ts.typed_config.common_tls_context.validation_context.trusted_ca: is required: without roots no peer "
        "certificate can be verified");
}

TEST_CASE("only URI SANs matched exactly or by prefix identify a peer", "[xds][resources][tls]") {
  auto san = [](const std::string& matcher) {
    return upstreamError(std::string(R"("common_tls_context": {"validation_context": {"trusted_ca": {"inline_string": ")") +
                         kPem + R"("}, "match_typed_subject_alt_names": [)" + matcher + "]}}");
  };
  const std::string base = "ts.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names[0]";
  CHECK(san(R"({"san_type": "DNS", "matcher": {"exact": "b.svc"}})") ==
        base + ".san_type: not supported by remora-proxy (DNS; peers are identified by their URI SAN (SPIFFE ID) only)");
  CHECK(san(R"({"matcher": {"exact": "x"}})") == base + ".san_type: is required");
  CHECK(san(R"({"san_type": "URI", "matcher": {"suffix": "/sa/b"}})") ==
        base + ".matcher.suffix: not supported by remora-proxy");
  CHECK(san(R"({"san_type": "URI", "matcher": {"exact": ""}})") == base + ".matcher.exact: must not be empty");
}

TEST_CASE("TLS below 1.2, cipher lists and unknown sockets are refused", "[xds][resources][tls]") {
  CHECK(upstreamError(R"("common_tls_context": {"tls_params": {"tls_minimum_protocol_version": "TLSv1_1"}})") ==
        "ts.typed_config.common_tls_context.tls_params.tls_minimum_protocol_version: not supported by remora-proxy "
        "(TLSv1_1; remora-proxy speaks TLS 1.2 and 1.3 only)");
  CHECK(upstreamError(R"("common_tls_context": {"tls_params": {"tls_minimum_protocol_version": "TLSv1_3",
      "tls_maximum_protocol_version": "TLSv1_2"}})") ==
        "ts.typed_config.common_tls_context.tls_params.tls_minimum_protocol_version: TLSv1_3 is above the maximum "
        "TLSv1_2");
  CHECK(upstreamError(R"("allow_renegotiation": true)") ==
        "ts.typed_config.allow_renegotiation: not supported by remora-proxy");
  CHECK(upstreamError(R"("common_tls_context": {"alpn_protocols": ["h2", "h2"]})") ==
        "ts.typed_config.common_tls_context.alpn_protocols[1]: \"h2\" is listed twice");
  auto wrong = toUpstreamTls(protoFromJson<SocketProto>(downstream(R"("require_client_certificate": false)")), "ts");
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message ==
        "ts.typed_config: @type type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext "
        "is not envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext");
  auto raw = toUpstreamTls(protoFromJson<SocketProto>(R"({"name": "envoy.transport_sockets.raw_buffer"})"), "ts");
  REQUIRE_FALSE(raw);
  CHECK(raw.error().code == Error::kUnsupported);
}

TEST_CASE("a downstream context needs a certificate, and roots to require a client's", "[xds][resources][tls]") {
  auto tls = toDownstreamTls(protoFromJson<SocketProto>(downstream(R"("require_client_certificate": true,
      "common_tls_context": {"tls_certificate_sds_secret_configs": [{"name": "default"}],
      "validation_context_sds_secret_config": {"name": "ROOTCA", "sds_config": {"ads": {}}},
      "alpn_protocols": ["h2", "http/1.1"]})")),
                             "ts");
  REQUIRE(tls);
  CHECK(tls->require_client_certificate);
  CHECK(tls->alpn == std::vector<std::string>{"h2", "http/1.1"});
  CHECK(downstreamError(R"("common_tls_context": {})") ==
        "ts.typed_config.common_tls_context: a certificate is required (tls_certificates or "
        "tls_certificate_sds_secret_configs)");
  CHECK(downstreamError(R"("require_client_certificate": true,
      "common_tls_context": {"tls_certificate_sds_secret_configs": [{"name": "default"}]})") ==
        "ts.typed_config.require_client_certificate: needs a validation context in common_tls_context to verify the "
        "client against");
  CHECK(downstreamError(R"("session_timeout": "10s",
      "common_tls_context": {"tls_certificate_sds_secret_configs": [{"name": "default"}]})") ==
        "ts.typed_config.session_timeout: not supported by remora-proxy");
  CHECK(downstreamError(R"("common_tls_context": {"tls_certificates": [{"certificate_chain": {"inline_string": "MIIB"},
      "private_key": {"inline_string": "x"}}]})") ==
        "ts.typed_config.common_tls_context.tls_certificates[0].certificate_chain: is not PEM (no \"-----BEGIN \" line)");
}

TEST_CASE("a Secret is a certificate with its key or a trust bundle, inline", "[xds][resources][tls]") {
  auto certificate = toSecret(protoFromJson<SecretProto>(std::string(R"({"name": "svc-cert", "tls_certificate": {
      "certificate_chain": {"inline_string": ")") + kPem + R"("}, "private_key": {"inline_bytes": "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCg=="}}})"));
  REQUIRE(certificate);
  REQUIRE(certificate->tls_certificate);
  CHECK(certificate->tls_certificate->certificate_chain.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  CHECK(certificate->tls_certificate->private_key == "-----BEGIN PRIVATE KEY-----\n");
  CHECK_FALSE(certificate->validation_context);

  auto bundle = toSecret(protoFromJson<SecretProto>(std::string(R"({"name": "ROOTCA", "validation_context": {
      "trusted_ca": {"inline_string": ")") + kPem + kPem + R"("}}})"));
  REQUIRE(bundle);
  REQUIRE(bundle->validation_context);
  const std::string pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  CHECK(bundle->validation_context->trusted_ca == pem + pem);

  CHECK(secretError(R"({"name": "ROOTCA", "validation_context": {"trusted_ca": {"filename": "/etc/root.pem"}}})") ==
        "validation_context.trusted_ca.filename: not supported by remora-proxy (a secret carries inline PEM only)");
  CHECK(secretError(R"({"name": "ROOTCA", "validation_context": {}})") ==
        "validation_context.trusted_ca: is required: without roots no peer certificate can be verified");
  CHECK(secretError(R"({"name": "k", "generic_secret": {"secret": {"inline_string": "x"}}})") ==
        "generic_secret: not supported by remora-proxy");
  CHECK(secretError(R"({"name": "empty"})") == "type: one of tls_certificate or validation_context is required");
  CHECK(secretError(R"({"validation_context": {}})") == "name: is required");
}
