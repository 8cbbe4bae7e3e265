#include "control-plane/mesh/spec_checks.h"

#include <charconv>

#include <arpa/inet.h>
#include <re2/re2.h>

#include <set>

namespace remora::cp::mesh {

namespace v1 = ::remora::mesh::v1;
using base::Status;

namespace {

constexpr uint32_t kMaxEndpointWeight = 128;

bool isAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Label keys and values as Kubernetes allows them: [A-Za-z0-9._-], starting
// and ending alphanumeric, at most 63; a key may carry a "prefix/" (a DNS name).
bool isLabelSegment(std::string_view value, bool allow_empty) {
  if (value.empty()) return allow_empty;
  if (value.size() > 63 || !isAlnum(value.front()) || !isAlnum(value.back())) return false;
  for (char c : value) {
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

bool isLabelKey(std::string_view key) {
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos) return isLabelSegment(key, false);
  std::string_view prefix = key.substr(0, slash);
  if (prefix.empty() || prefix.size() > 253) return false;
  for (char c : prefix) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return isLabelSegment(key.substr(slash + 1), false);
}

// RFC 9110 token characters, lower-case only: HTTP/2 forbids upper-case names.

Status checkPercent(double percent, std::string_view path) {
  if (!(percent >= 0 && percent <= 100)) return invalidAt(path, "must be 0..100");
  return Status::ok();
}

Status checkRegex(const std::string& pattern, std::string_view path) {
  RE2 re(pattern, RE2::Quiet);
  if (!re.ok()) return invalidAt(path, "is not a valid RE2 regex: " + re.error());
  return Status::ok();
}

Status checkServiceRef(const std::string& service, std::string_view path) {
  if (service.empty()) return invalidAt(path, "is required");
  if (!isDnsLabel(service)) return invalidAt(path, "must be a DNS-1123 label (a service name)");
  return Status::ok();
}

Status checkPathMatch(const v1::RouteMatch& match, std::string_view path) {
  switch (match.path_case()) {
    case v1::RouteMatch::kPathPrefix:
      if (match.path_prefix().empty() || match.path_prefix().front() != '/') {
        return invalidAt(pathOf(path, "path_prefix"), "must start with '/'");
      }
      break;
    case v1::RouteMatch::kPathExact:
      if (match.path_exact().empty() || match.path_exact().front() != '/') {
        return invalidAt(pathOf(path, "path_exact"), "must start with '/'");
      }
      break;
    case v1::RouteMatch::kPathRegex: return checkRegex(match.path_regex(), pathOf(path, "path_regex"));
    case v1::RouteMatch::PATH_NOT_SET: break;  // every path
  }
  return Status::ok();
}

Status checkRouteMatch(const v1::RouteMatch& match, std::string_view path) {
  if (Status s = checkPathMatch(match, path); !s) return s;
  for (int i = 0; i < match.headers_size(); ++i) {
    const v1::HeaderMatch& header = match.headers(i);
    const std::string item = pathOf(pathOf(path, "headers"), i);
    if (!isHeaderName(header.name())) {
      return invalidAt(pathOf(item, "name"), "must be a lower-case HTTP header name");
    }
    if (header.match_case() == v1::HeaderMatch::MATCH_NOT_SET) {
      return invalidAt(item, "one of exact, prefix, regex or present is required");
    }
    if (header.match_case() == v1::HeaderMatch::kRegex) {
      if (Status s = checkRegex(header.regex(), pathOf(item, "regex")); !s) return s;
    }
  }
  return Status::ok();
}

Status checkSplits(const v1::Route& route, std::string_view path) {
  const std::string split_path = pathOf(path, "split");
  if (route.split_size() == 0) return Status::ok();  // the whole service
  uint32_t sum = 0;
  for (int i = 0; i < route.split_size(); ++i) {
    const v1::Split& split = route.split(i);
    const std::string item = pathOf(split_path, i);
    if (!split.version().empty() && !split.labels().empty()) {
      return invalidAt(item, "set version or labels, not both");
    }
    if (!split.version().empty() && !isLabelSegment(split.version(), false)) {
      return invalidAt(pathOf(item, "version"), "must be a label value");
    }
    if (Status s = checkLabels(split.labels(), pathOf(item, "labels")); !s) return s;
    if (split.weight() > 100) return invalidAt(pathOf(item, "weight"), "must be 0..100");
    sum += split.weight();
  }
  if (sum != 100) return invalidAt(split_path, "weights must sum to 100 (they sum to " + std::to_string(sum) + ")");
  return Status::ok();
}

Status checkFault(const v1::FaultInjection& fault, std::string_view path) {
  if (fault.has_delay()) {
    const std::string delay = pathOf(path, "delay");
    if (!fault.delay().has_fixed_delay()) return invalidAt(pathOf(delay, "fixed_delay"), "is required");
    if (Status s = checkDuration(true, fault.delay().fixed_delay(), pathOf(delay, "fixed_delay"), true); !s) return s;
    if (Status s = checkPercent(fault.delay().percent(), pathOf(delay, "percent")); !s) return s;
  }
  if (fault.has_abort()) {
    const std::string abort = pathOf(path, "abort");
    const uint32_t status = fault.abort().http_status();
    if (status < 200 || status > 599) return invalidAt(pathOf(abort, "http_status"), "must be 200..599");
    if (Status s = checkPercent(fault.abort().percent(), pathOf(abort, "percent")); !s) return s;
  }
  return Status::ok();
}

// "spiffe://<trust-domain>/ns/<ns>/sa/<sa>" or "<ns>/<sa>".
bool isPrincipal(std::string_view principal) {
  constexpr std::string_view kScheme = "spiffe://";
  if (principal.substr(0, kScheme.size()) == kScheme) {
    std::string_view rest = principal.substr(kScheme.size());
    const size_t slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos) return false;
    rest = rest.substr(slash);  // "/ns/<ns>/sa/<sa>"
    if (rest.substr(0, 4) != "/ns/") return false;
    rest = rest.substr(4);
    const size_t sa = rest.find("/sa/");
    return sa != std::string_view::npos && isDnsLabel(rest.substr(0, sa)) && isDnsLabel(rest.substr(sa + 4));
  }
  const size_t slash = principal.find('/');
  return slash != std::string_view::npos && isDnsLabel(principal.substr(0, slash)) &&
         isDnsLabel(principal.substr(slash + 1));
}

}  // namespace

bool isHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

Status checkDuration(bool has, const google::protobuf::Duration& duration, std::string_view path,
                     bool must_be_positive) {
  if (!has) return Status::ok();
  if (duration.seconds() < 0 || duration.nanos() < 0) return invalidAt(path, "must not be negative");
  if (must_be_positive && duration.seconds() == 0 && duration.nanos() == 0) {
    return invalidAt(path, "must be more than 0");
  }
  return Status::ok();
}

bool isIpLiteral(const std::string& address) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, address.c_str(), buffer) == 1 || inet_pton(AF_INET6, address.c_str(), buffer) == 1;
}

std::string canonicalIp(const std::string& address) {
  unsigned char buffer[16];
  char text[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, address.c_str(), buffer) == 1 && inet_ntop(family, buffer, text, sizeof(text)) != nullptr) {
      return text;
    }
  }
  return {};
}

base::Result<std::pair<std::string, uint32_t>> parseIpPort(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return base::fail(base::Error::kInvalidArgument, "\"" + std::string(text) + "\" is not ip:port");
  }
  std::string host(text.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (!isIpLiteral(host)) return base::fail(base::Error::kInvalidArgument, "\"" + host + "\" is not an IP address");
  const std::string_view port_text = text.substr(colon + 1);
  uint32_t port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return base::fail(base::Error::kInvalidArgument, "\"" + std::string(port_text) + "\" is not a port 0..65535");
  }
  return std::make_pair(std::move(host), port);
}


base::Failure invalidAt(std::string_view path, std::string_view why) {
  std::string message(path);
  message += ": ";
  message += why;
  return base::fail(base::Error::kInvalidArgument, std::move(message));
}

std::string pathOf(std::string_view base, std::string_view field) {
  std::string out(base);
  if (!out.empty()) out += '.';
  out += field;
  return out;
}

std::string pathOf(std::string_view base, int index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

bool isDnsLabel(std::string_view value) {
  if (value.empty() || value.size() > 63) return false;
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_alnum(value.front()) || !lower_alnum(value.back())) return false;
  for (char c : value) {
    if (!lower_alnum(c) && c != '-') return false;
  }
  return true;
}

Status checkLabels(const google::protobuf::Map<std::string, std::string>& labels, std::string_view path) {
  for (const auto& [key, value] : labels) {
    if (!isLabelKey(key)) return invalidAt(path, "key \"" + key + "\" is not a valid label key");
    if (!isLabelSegment(value, true)) {
      return invalidAt(pathOf(path, key), "\"" + value + "\" is not a valid label value");
    }
  }
  return Status::ok();
}

Status checkMetadata(v1::Metadata& metadata, std::string_view path) {
  constexpr std::string_view kDnsLabel =
      "must be a DNS-1123 label (lower-case letters, digits and '-', at most 63)";
  if (metadata.name().empty()) return invalidAt(pathOf(path, "name"), "is required");
  if (!isDnsLabel(metadata.name())) return invalidAt(pathOf(path, "name"), kDnsLabel);
  if (metadata.namespace_().empty()) metadata.set_namespace_("default");
  if (!isDnsLabel(metadata.namespace_())) return invalidAt(pathOf(path, "namespace"), kDnsLabel);
  return checkLabels(metadata.labels(), pathOf(path, "labels"));
}

Status checkServiceSpec(const v1::Service& spec, std::string_view path) {
  const std::string ports_path = pathOf(path, "ports");
  if (spec.ports_size() == 0) return invalidAt(ports_path, "at least one port is required");
  std::set<uint32_t> numbers;
  std::set<std::string> names;
  for (int i = 0; i < spec.ports_size(); ++i) {
    const v1::ServicePort& port = spec.ports(i);
    const std::string item = pathOf(ports_path, i);
    if (port.port() < 1 || port.port() > 65535) return invalidAt(pathOf(item, "port"), "must be 1..65535");
    if (port.target_port() > 65535) return invalidAt(pathOf(item, "target_port"), "must be 0..65535");
    if (!numbers.insert(port.port()).second) {
      return invalidAt(pathOf(item, "port"), std::to_string(port.port()) + " is listed twice");
    }
    if (port.name().empty()) {
      if (spec.ports_size() > 1) return invalidAt(pathOf(item, "name"), "is required when a service has several ports");
      continue;
    }
    if (!isDnsLabel(port.name())) return invalidAt(pathOf(item, "name"), "must be a DNS-1123 label");
    if (!names.insert(port.name()).second) {
      return invalidAt(pathOf(item, "name"), "\"" + port.name() + "\" is listed twice");
    }
  }
  std::set<std::string> accounts;
  for (int i = 0; i < spec.service_accounts_size(); ++i) {
    const std::string item = pathOf(pathOf(path, "service_accounts"), i);
    if (!isDnsLabel(spec.service_accounts(i))) return invalidAt(item, "must be a DNS-1123 label (a service account)");
    if (!accounts.insert(spec.service_accounts(i)).second) {
      return invalidAt(item, "\"" + spec.service_accounts(i) + "\" is listed twice");
    }
  }
  // Two spellings of one address are one address ("fd00::1", "fd00:0::1").
  std::set<std::string> addresses;
  for (int i = 0; i < spec.addresses_size(); ++i) {
    const std::string item = pathOf(pathOf(path, "addresses"), i);
    const std::string canonical = canonicalIp(spec.addresses(i));
    if (canonical.empty()) {
      return invalidAt(item, "\"" + spec.addresses(i) + "\" is not an IPv4 or IPv6 address");
    }
    if (!addresses.insert(canonical).second) {
      return invalidAt(item, "\"" + spec.addresses(i) + "\" is listed twice");
    }
  }
  if (!v1::Service::Mtls_IsValid(spec.mtls())) {
    return invalidAt(pathOf(path, "mtls"), "must be STRICT, PERMISSIVE or DISABLE");
  }
  return Status::ok();
}

Status checkEndpointSpec(const v1::Endpoint& spec, std::string_view path) {
  if (Status s = checkServiceRef(spec.service(), pathOf(path, "service")); !s) return s;
  if (spec.address().empty()) return invalidAt(pathOf(path, "address"), "is required");
  if (!isIpLiteral(spec.address())) {
    return invalidAt(pathOf(path, "address"), "\"" + spec.address() + "\" is not an IPv4 or IPv6 address");
  }
  if (spec.port() > 65535) return invalidAt(pathOf(path, "port"), "must be 1..65535");
  if (spec.port() == 0 && spec.port_name().empty()) {
    return invalidAt(pathOf(path, "port"), "is required (or port_name, naming a service port)");
  }
  if (!spec.port_name().empty() && !isDnsLabel(spec.port_name())) {
    return invalidAt(pathOf(path, "port_name"), "must be a DNS-1123 label");
  }
  if (spec.weight() > kMaxEndpointWeight) return invalidAt(pathOf(path, "weight"), "must be 1..128");
  return checkLabels(spec.labels(), pathOf(path, "labels"));
}

// checkTrafficPolicySpec is in traffic_policy_checks.cc.

Status checkRouteRuleSpec(const v1::RouteRule& spec, std::string_view path) {
  if (Status s = checkServiceRef(spec.service(), pathOf(path, "service")); !s) return s;
  const std::string routes_path = pathOf(path, "routes");
  if (spec.routes_size() == 0) return invalidAt(routes_path, "at least one route is required");
  for (int i = 0; i < spec.routes_size(); ++i) {
    const v1::Route& route = spec.routes(i);
    const std::string item = pathOf(routes_path, i);
    if (Status s = checkRouteMatch(route.match(), pathOf(item, "match")); !s) return s;
    if (Status s = checkSplits(route, item); !s) return s;
    if (Status s = checkDuration(route.has_timeout(), route.timeout(), pathOf(item, "timeout"), false); !s) return s;
    if (Status s = checkFault(route.fault(), pathOf(item, "fault")); !s) return s;
  }
  return Status::ok();
}

namespace {

// SPIFFE trust domain names: lower-case letters, digits, '.', '-' and '_'.
bool isTrustDomain(std::string_view value) {
  if (value.empty() || value.size() > 255) return false;
  for (char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// An HTTP method as callers send it: an upper-case token.
bool isMethod(std::string_view value) {
  if (value.empty() || value.size() > 32) return false;
  for (char c : value) {
    if (!((c >= 'A' && c <= 'Z') || c == '-' || c == '_')) return false;
  }
  return true;
}

Status checkAuthorizationRule(const v1::AuthorizationRule& rule, std::string_view item) {
  for (int j = 0; j < rule.principals_size(); ++j) {
    if (!isPrincipal(rule.principals(j))) {
      return invalidAt(pathOf(pathOf(item, "principals"), j),
                       "\"" + rule.principals(j) +
                           "\" is not a SPIFFE ID (spiffe://<trust-domain>/ns/<ns>/sa/<sa>) or <ns>/<sa>");
    }
  }
  for (int j = 0; j < rule.namespaces_size(); ++j) {
    if (!isDnsLabel(rule.namespaces(j))) {
      return invalidAt(pathOf(pathOf(item, "namespaces"), j), "must be a DNS-1123 label (a namespace)");
    }
  }
  for (int j = 0; j < rule.trust_domains_size(); ++j) {
    if (!isTrustDomain(rule.trust_domains(j))) {
      return invalidAt(pathOf(pathOf(item, "trust_domains"), j),
                       "\"" + rule.trust_domains(j) +
                           "\" is not a trust domain (lower-case letters, digits, '.', '-' and '_')");
    }
  }
  for (int j = 0; j < rule.ports_size(); ++j) {
    if (rule.ports(j) < 1 || rule.ports(j) > 65535) {
      return invalidAt(pathOf(pathOf(item, "ports"), j), "must be 1..65535");
    }
  }
  for (int j = 0; j < rule.paths_size(); ++j) {
    const std::string& value = rule.paths(j);
    const size_t star = value.find('*');
    if (value.empty() || value.front() != '/' || (star != std::string::npos && star != value.size() - 1)) {
      return invalidAt(pathOf(pathOf(item, "paths"), j),
                       "\"" + value + "\" must be \"/exact\" or \"/prefix*\" (a '*' only at the end)");
    }
  }
  for (int j = 0; j < rule.methods_size(); ++j) {
    if (!isMethod(rule.methods(j))) {
      return invalidAt(pathOf(pathOf(item, "methods"), j),
                       "\"" + rule.methods(j) + "\" is not an upper-case HTTP method (GET, POST, ...)");
    }
  }
  return Status::ok();
}

}  // namespace

Status checkAuthorizationPolicySpec(const v1::AuthorizationPolicy& spec, std::string_view path) {
  if (Status s = checkServiceRef(spec.service(), pathOf(path, "service")); !s) return s;
  // A policy without rules is valid: it admits nobody. An empty rule matches
  // every request.
  for (int i = 0; i < spec.allow_size(); ++i) {
    if (Status s = checkAuthorizationRule(spec.allow(i), pathOf(pathOf(path, "allow"), i)); !s) return s;
  }
  for (int i = 0; i < spec.deny_size(); ++i) {
    if (Status s = checkAuthorizationRule(spec.deny(i), pathOf(pathOf(path, "deny"), i)); !s) return s;
  }
  return Status::ok();
}

}  // namespace remora::cp::mesh
