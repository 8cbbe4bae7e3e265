#include "control-plane/mesh/security_builder.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>

#include "envoy/config/rbac/v3/rbac.pb.h"
#include "envoy/extensions/filters/http/rbac/v3/rbac.pb.h"
#include "envoy/extensions/filters/network/rbac/v3/rbac.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"

namespace remora::cp::mesh {

namespace rbac = envoy::config::rbac::v3;
namespace tls = envoy::extensions::transport_sockets::tls::v3;
namespace matcher = envoy::type::matcher::v3;

namespace {

constexpr std::string_view kTlsSocketName = "envoy.transport_sockets.tls";

// RBAC policies are a proto map, whose serialization order is otherwise
// unspecified; resource versions are hashes of these bytes, so an unchanged
// mesh must serialize identically.
void packDeterministic(const google::protobuf::Message& message, google::protobuf::Any& any) {
  any.set_type_url("type.googleapis.com/" + message.GetDescriptor()->full_name());
  std::string* bytes = any.mutable_value();
  bytes->clear();
  google::protobuf::io::StringOutputStream stream(bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
}

void setSdsAds(tls::SdsSecretConfig& config, std::string_view name) {
  config.set_name(std::string(name));
  config.mutable_sds_config()->mutable_ads();
  config.mutable_sds_config()->set_resource_api_version(envoy::config::core::v3::V3);
}

// Certificate "default" (the proxy's own, made locally: no sds_config) and
// validation by ROOTCA plus the given URI SAN matchers.
void setCommon(tls::CommonTlsContext& common, const std::vector<std::string>& san_exact,
               const std::vector<std::string>& san_prefix, const std::vector<std::string>& alpn,
               const MeshSecurity& security) {
  if (!security.allow_tls12) common.mutable_tls_params()->set_tls_minimum_protocol_version(tls::TlsParameters::TLSv1_3);
  common.add_tls_certificate_sds_secret_configs()->set_name(std::string(kWorkloadSecretName));
  tls::CommonTlsContext::CombinedCertificateValidationContext* combined = common.mutable_combined_validation_context();
  setSdsAds(*combined->mutable_validation_context_sds_secret_config(), kRootCaSecretName);
  tls::CertificateValidationContext* validation = combined->mutable_default_validation_context();
  for (const std::string& exact : san_exact) {
    tls::SubjectAltNameMatcher* san = validation->add_match_typed_subject_alt_names();
    san->set_san_type(tls::SubjectAltNameMatcher::URI);
    san->mutable_matcher()->set_exact(exact);
  }
  for (const std::string& prefix : san_prefix) {
    tls::SubjectAltNameMatcher* san = validation->add_match_typed_subject_alt_names();
    san->set_san_type(tls::SubjectAltNameMatcher::URI);
    san->mutable_matcher()->set_prefix(prefix);
  }
  for (const std::string& protocol : alpn) common.add_alpn_protocols(protocol);
}

std::string trustDomainPrefix(std::string_view trust_domain) { return "spiffe://" + std::string(trust_domain) + "/"; }

rbac::Principal authenticated(const std::string& value, bool prefix) {
  rbac::Principal out;
  matcher::StringMatcher* name = out.mutable_authenticated()->mutable_principal_name();
  if (prefix) {
    name->set_prefix(value);
  } else {
    name->set_exact(value);
  }
  return out;
}

// "<ns>/<sa>" in the mesh's trust domain, or a SPIFFE ID as written.
std::string principalId(const std::string& principal, const MeshSecurity& security) {
  if (principal.rfind("spiffe://", 0) == 0) return principal;
  const size_t slash = principal.find('/');
  return spiffeId(security.trust_domain, principal.substr(0, slash), principal.substr(slash + 1));
}

void addPrincipals(const v1::AuthorizationRule& rule, const MeshSecurity& security, rbac::Policy& out) {
  for (const std::string& principal : rule.principals()) {
    *out.add_principals() = authenticated(principalId(principal, security), false);
  }
  for (const std::string& ns : rule.namespaces()) {
    *out.add_principals() = authenticated(trustDomainPrefix(security.trust_domain) + "ns/" + ns + "/sa/", true);
  }
  for (const std::string& domain : rule.trust_domains()) {
    *out.add_principals() = authenticated(trustDomainPrefix(domain), true);
  }
  if (out.principals_size() == 0) out.add_principals()->set_any(true);
}

// One of `alternatives`, or the single alternative itself.
rbac::Permission anyOf(std::vector<rbac::Permission> alternatives) {
  if (alternatives.size() == 1) return std::move(alternatives.front());
  rbac::Permission out;
  for (rbac::Permission& alternative : alternatives) *out.mutable_or_rules()->add_rules() = std::move(alternative);
  return out;
}

void addPermissions(const v1::AuthorizationRule& rule, bool http, rbac::Policy& out) {
  std::vector<rbac::Permission> all_of;
  if (http && rule.paths_size() > 0) {
    std::vector<rbac::Permission> paths;
    for (const std::string& path : rule.paths()) {
      rbac::Permission permission;
      matcher::StringMatcher* match = permission.mutable_url_path()->mutable_path();
      if (!path.empty() && path.back() == '*') {
        match->set_prefix(path.substr(0, path.size() - 1));
      } else {
        match->set_exact(path);
      }
      paths.push_back(std::move(permission));
    }
    all_of.push_back(anyOf(std::move(paths)));
  }
  if (http && rule.methods_size() > 0) {
    std::vector<rbac::Permission> methods;
    for (const std::string& method : rule.methods()) {
      rbac::Permission permission;
      permission.mutable_header()->set_name(":method");
      permission.mutable_header()->mutable_string_match()->set_exact(method);
      methods.push_back(std::move(permission));
    }
    all_of.push_back(anyOf(std::move(methods)));
  }
  if (all_of.empty()) {
    out.add_permissions()->set_any(true);
  } else if (all_of.size() == 1) {
    *out.add_permissions() = std::move(all_of.front());
  } else {
    rbac::Permission* both = out.add_permissions();
    for (rbac::Permission& part : all_of) *both->mutable_and_rules()->add_rules() = std::move(part);
  }
}

// Whether a rule's `ports` (service ports or target ports) include `plan`'s.
bool appliesToPort(const v1::AuthorizationRule& rule, const PortPlan& plan) {
  if (rule.ports_size() == 0) return true;
  const uint32_t target = plan.port.target_port() != 0 ? plan.port.target_port() : plan.port.port();
  return std::any_of(rule.ports().begin(), rule.ports().end(),
                     [&](uint32_t port) { return port == plan.port.port() || port == target; });
}

struct RuleSet {
  rbac::RBAC deny;
  rbac::RBAC allow;
  bool has_allow = false;
};

void addRules(const AuthorizationPlan& policy, const PortPlan& plan, bool http, const MeshSecurity& security,
              RuleSet& out, std::vector<std::string>& warnings) {
  const std::string who = "AuthorizationPolicy '" + plan.namespace_ + "/" + policy.name + "'";
  // A policy without rules admits nobody.
  if (policy.spec->allow_size() == 0 && policy.spec->deny_size() == 0) out.has_allow = true;
  for (int i = 0; i < policy.spec->deny_size(); ++i) {
    const v1::AuthorizationRule& rule = policy.spec->deny(i);
    if (!appliesToPort(rule, plan)) continue;
    if (!http && (rule.paths_size() > 0 || rule.methods_size() > 0)) {
      warnings.push_back(who + " deny[" + std::to_string(i) + "]: paths and methods do not apply to TCP port " +
                         std::to_string(plan.port.port()) + "; the rule denies every request it matches otherwise");
    }
    rbac::Policy compiled;
    addPrincipals(rule, security, compiled);
    addPermissions(rule, http, compiled);
    (*out.deny.mutable_policies())[plan.namespace_ + "/" + policy.name + ".deny[" + std::to_string(i) + "]"] =
        std::move(compiled);
  }
  for (int i = 0; i < policy.spec->allow_size(); ++i) {
    const v1::AuthorizationRule& rule = policy.spec->allow(i);
    out.has_allow = true;
    if (!appliesToPort(rule, plan)) continue;
    if (!http && (rule.paths_size() > 0 || rule.methods_size() > 0)) {
      warnings.push_back(who + " allow[" + std::to_string(i) + "]: paths and methods do not apply to TCP port " +
                         std::to_string(plan.port.port()) + "; the rule admits nobody there");
      continue;
    }
    rbac::Policy compiled;
    addPrincipals(rule, security, compiled);
    addPermissions(rule, http, compiled);
    (*out.allow.mutable_policies())[plan.namespace_ + "/" + policy.name + ".allow[" + std::to_string(i) + "]"] =
        std::move(compiled);
  }
}

google::protobuf::Any wrap(const rbac::RBAC& rules, bool http, const std::string& stat_prefix) {
  google::protobuf::Any any;
  if (http) {
    envoy::extensions::filters::http::rbac::v3::RBAC filter;
    *filter.mutable_rules() = rules;
    packDeterministic(filter, any);
  } else {
    envoy::extensions::filters::network::rbac::v3::RBAC filter;
    *filter.mutable_rules() = rules;
    filter.set_stat_prefix(stat_prefix);
    packDeterministic(filter, any);
  }
  return any;
}

}  // namespace

void addUpstreamTls(const PortPlan& plan, const MeshSecurity& security, envoy::config::cluster::v3::Cluster& cluster) {
  if (!security.enabled || plan.mtls == v1::Service::DISABLE) return;
  tls::UpstreamTlsContext context;
  context.set_sni(cluster.name());
  std::vector<std::string> accepted;
  for (const std::string& account : plan.service_accounts) {
    accepted.push_back(spiffeId(security.trust_domain, plan.namespace_, account));
  }
  std::vector<std::string> alpn;
  if (plan.isHttp2()) {
    alpn.push_back("h2");
  } else if (plan.isHttp()) {
    alpn.push_back("http/1.1");
  }
  setCommon(*context.mutable_common_tls_context(), accepted, {}, alpn, security);
  envoy::config::core::v3::TransportSocket* socket = cluster.mutable_transport_socket();
  socket->set_name(std::string(kTlsSocketName));
  socket->mutable_typed_config()->PackFrom(context);
}

void setDownstreamTls(bool http, const MeshSecurity& security, envoy::config::listener::v3::FilterChain& chain) {
  tls::DownstreamTlsContext context;
  context.mutable_require_client_certificate()->set_value(true);
  std::vector<std::string> alpn;
  if (http) alpn = {"h2", "http/1.1"};
  setCommon(*context.mutable_common_tls_context(), {}, {trustDomainPrefix(security.trust_domain)}, alpn, security);
  envoy::config::core::v3::TransportSocket* socket = chain.mutable_transport_socket();
  socket->set_name(std::string(kTlsSocketName));
  socket->mutable_typed_config()->PackFrom(context);
}

std::vector<google::protobuf::Any> buildRbac(const PortPlan* plan, bool http, const MeshSecurity& security,
                                             const std::string& stat_prefix, std::vector<std::string>& warnings) {
  if (!security.enabled || plan == nullptr || plan->authorization.empty()) return {};
  RuleSet rules;
  rules.deny.set_action(rbac::RBAC::DENY);
  rules.allow.set_action(rbac::RBAC::ALLOW);
  for (const AuthorizationPlan& policy : plan->authorization) {
    addRules(policy, *plan, http, security, rules, warnings);
  }
  std::vector<google::protobuf::Any> out;
  if (!rules.deny.policies().empty()) out.push_back(wrap(rules.deny, http, stat_prefix));
  if (rules.has_allow) out.push_back(wrap(rules.allow, http, stat_prefix));
  return out;
}

google::protobuf::Any rootCaSecret(const MeshSecurity& security) {
  tls::Secret secret;
  secret.set_name(std::string(kRootCaSecretName));
  secret.mutable_validation_context()->mutable_trusted_ca()->set_inline_string(security.trust_bundle_pem);
  google::protobuf::Any any;
  any.PackFrom(secret);
  return any;
}

}  // namespace remora::cp::mesh
