#include "xds/resources/route_converter.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "xds/resources/common_converters.h"
#include "xds/resources/retry_policy_converter.h"

namespace remora::xds::resources {

namespace route = envoy::config::route::v3;
namespace matcher = envoy::type::matcher::v3;
using base::Result;
using base::Status;

namespace {

// Envoy's default max_direct_response_body_size_bytes: direct responses are
// for small canned answers, not for serving files.
constexpr size_t kMaxDirectResponseBodyBytes = 4096;

std::string lowerAscii(std::string_view in) {
  std::string out(in);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A header's string match: the shared StringMatcher conversion; header
// values are matched case-sensitively (ignore_case is not supported here).
Result<HeaderMatcher> toHeaderStringMatch(const matcher::StringMatcher& proto, std::string_view path,
                                          HeaderMatcher out) {
  if (proto.ignore_case()) return unsupportedField(fieldPath(path, "ignore_case"), "header values match exactly");
  Result<StringMatch> match = toStringMatch(proto, path);
  if (!match) return match.error();
  switch (match->kind) {
    case StringMatch::Kind::kExact: out.kind = HeaderMatcher::Kind::kExact; break;
    case StringMatch::Kind::kPrefix: out.kind = HeaderMatcher::Kind::kPrefix; break;
    case StringMatch::Kind::kSuffix: out.kind = HeaderMatcher::Kind::kSuffix; break;
    case StringMatch::Kind::kContains: out.kind = HeaderMatcher::Kind::kContains; break;
    case StringMatch::Kind::kRegex: out.kind = HeaderMatcher::Kind::kRegex; break;
  }
  out.value = std::move(match->value);
  return out;
}

}  // namespace

Result<HeaderMatcher> toHeaderMatcher(const route::HeaderMatcher& proto, std::string_view path) {
  // Every field of our HeaderMatcher is supported; ranges are not defined at all.
  HeaderMatcher out;
  Result<std::string> name = toHeaderName(proto.name(), fieldPath(path, "name"));
  if (!name) return name.error();
  out.name = std::move(*name);
  out.invert = proto.invert_match();
  auto nonEmpty = [&](HeaderMatcher::Kind kind, const std::string& value,
                      std::string_view field) -> Result<HeaderMatcher> {
    if (value.empty()) return invalidField(fieldPath(path, field), "must not be empty");
    out.kind = kind;
    out.value = value;
    return out;
  };
  switch (proto.header_match_specifier_case()) {
    case route::HeaderMatcher::HEADER_MATCH_SPECIFIER_NOT_SET:
      out.kind = HeaderMatcher::Kind::kPresent;  // Envoy: no specifier means "is present"
      return out;
    case route::HeaderMatcher::kExactMatch:
      out.kind = HeaderMatcher::Kind::kExact;
      out.value = proto.exact_match();
      return out;
    case route::HeaderMatcher::kPresentMatch:
      out.kind = HeaderMatcher::Kind::kPresent;
      out.present = proto.present_match();
      return out;
    case route::HeaderMatcher::kPrefixMatch:
      return nonEmpty(HeaderMatcher::Kind::kPrefix, proto.prefix_match(), "prefix_match");
    case route::HeaderMatcher::kSuffixMatch:
      return nonEmpty(HeaderMatcher::Kind::kSuffix, proto.suffix_match(), "suffix_match");
    case route::HeaderMatcher::kContainsMatch:
      return nonEmpty(HeaderMatcher::Kind::kContains, proto.contains_match(), "contains_match");
    case route::HeaderMatcher::kSafeRegexMatch: {
      Result<std::string> regex = toRegex(proto.safe_regex_match(), fieldPath(path, "safe_regex_match"));
      if (!regex) return regex.error();
      out.kind = HeaderMatcher::Kind::kRegex;
      out.value = std::move(*regex);
      return out;
    }
    case route::HeaderMatcher::kStringMatch:
      return toHeaderStringMatch(proto.string_match(), fieldPath(path, "string_match"), std::move(out));
  }
  return invalidField(path, "unknown header match specifier");
}

namespace {

Result<RouteMatch> toRouteMatch(const route::RouteMatch& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path, {"prefix", "path", "safe_regex", "case_sensitive", "headers"}); !s) {
    return s.error();
  }
  RouteMatch out;
  switch (proto.path_specifier_case()) {
    case route::RouteMatch::kPrefix:
      if (!proto.prefix().empty() && proto.prefix().front() != '/') {
        return invalidField(fieldPath(path, "prefix"), quoted(proto.prefix()) + " must start with \"/\"");
      }
      out.path_kind = RouteMatch::PathKind::kPrefix;
      out.path = proto.prefix();
      break;
    case route::RouteMatch::kPath:
      if (proto.path().empty() || proto.path().front() != '/') {
        return invalidField(fieldPath(path, "path"), quoted(proto.path()) + " must start with \"/\"");
      }
      out.path_kind = RouteMatch::PathKind::kExact;
      out.path = proto.path();
      break;
    case route::RouteMatch::kSafeRegex: {
      Result<std::string> regex = toRegex(proto.safe_regex(), fieldPath(path, "safe_regex"));
      if (!regex) return regex.error();
      out.path_kind = RouteMatch::PathKind::kRegex;
      out.path = std::move(*regex);
      break;
    }
    default: return invalidField(path, "one of prefix, path or safe_regex is required");
  }
  out.case_sensitive = proto.has_case_sensitive() ? proto.case_sensitive().value() : true;
  for (int i = 0; i < proto.headers_size(); ++i) {
    Result<HeaderMatcher> header =
        toHeaderMatcher(proto.headers(i), indexPath(fieldPath(path, "headers"), static_cast<size_t>(i)));
    if (!header) return header.error();
    out.headers.push_back(std::move(*header));
  }
  return out;
}

Status toWeightedClusters(const route::WeightedCluster& proto, std::string_view path, RouteAction& out) {
  if (Status s = onlySupportedFields(proto, path, {"clusters", "total_weight"}); !s) return s;
  const std::string clusters_path = fieldPath(path, "clusters");
  if (proto.clusters_size() == 0) return invalidField(clusters_path, "must name at least one cluster");
  uint64_t sum = 0;
  for (int i = 0; i < proto.clusters_size(); ++i) {
    const route::WeightedCluster::ClusterWeight& weight = proto.clusters(i);
    const std::string item = indexPath(clusters_path, static_cast<size_t>(i));
    if (Status s = onlySupportedFields(weight, item, {"name", "weight"}); !s) return s;
    if (weight.name().empty()) return invalidField(fieldPath(item, "name"), "is required");
    sum += weight.weight().value();
    out.weighted_clusters.push_back({weight.name(), weight.weight().value()});
  }
  if (sum == 0) return invalidField(clusters_path, "the weights must add up to more than 0");
  if (sum > UINT32_MAX) return invalidField(clusters_path, "the weights add up to more than 4294967295");
  if (proto.has_total_weight() && proto.total_weight().value() != sum) {
    return invalidField(
        fieldPath(path, "total_weight"),
        std::to_string(proto.total_weight().value()) + " differs from the sum of the weights, " + std::to_string(sum));
  }
  return Status::ok();
}

Status toUpgradeConfigs(const route::RouteAction& proto, std::string_view path, RouteAction& out) {
  std::set<std::string> seen;
  for (int i = 0; i < proto.upgrade_configs_size(); ++i) {
    const route::RouteAction::UpgradeConfig& upgrade = proto.upgrade_configs(i);
    const std::string item = indexPath(fieldPath(path, "upgrade_configs"), static_cast<size_t>(i));
    if (Status s = onlySupportedFields(upgrade, item, {"upgrade_type", "enabled"}); !s) return s;
    const std::string type = lowerAscii(upgrade.upgrade_type());
    const bool enabled = upgrade.has_enabled() ? upgrade.enabled().value() : true;
    if (!seen.insert(type).second) {
      return invalidField(fieldPath(item, "upgrade_type"), quoted(upgrade.upgrade_type()) + " is listed twice");
    }
    if (type == "websocket") {
      out.allow_upgrade_websocket = enabled;
    } else if (type == "connect") {
      out.allow_connect = enabled;
    } else {
      return unsupportedField(fieldPath(item, "upgrade_type"),
                              quoted(upgrade.upgrade_type()) + "; supported: websocket, CONNECT");
    }
  }
  return Status::ok();
}

Result<RouteAction> toRouteAction(const route::RouteAction& proto, std::string_view path) {
  if (Status s =
          onlySupportedFields(proto, path,
                              // auto_host_rewrite is refused until the router applies it: a
                              // field that parses but does nothing would promise behaviour the
                              // proxy does not have.
                              {"cluster", "weighted_clusters", "prefix_rewrite", "host_rewrite_literal", "timeout",
                               "idle_timeout", "retry_policy", "hash_policy", "hedge_policy", "max_stream_duration",
                               "upgrade_configs"});
      !s) {
    return s.error();
  }
  RouteAction out;
  switch (proto.cluster_specifier_case()) {
    case route::RouteAction::kCluster:
      if (proto.cluster().empty()) return invalidField(fieldPath(path, "cluster"), "must not be empty");
      out.cluster = proto.cluster();
      break;
    case route::RouteAction::kWeightedClusters:
      if (Status s = toWeightedClusters(proto.weighted_clusters(), fieldPath(path, "weighted_clusters"), out); !s) {
        return s.error();
      }
      break;
    case route::RouteAction::CLUSTER_SPECIFIER_NOT_SET:
      return invalidField(path, "one of cluster or weighted_clusters is required");
  }
  if (!proto.prefix_rewrite().empty()) out.prefix_rewrite = proto.prefix_rewrite();
  if (proto.has_host_rewrite_literal()) {
    const std::string& host = proto.host_rewrite_literal();
    if (host.empty() || host.find_first_of(std::string_view("\r\n\0 ", 4)) != std::string::npos) {
      return invalidField(fieldPath(path, "host_rewrite_literal"), quoted(host) + " is not a valid host");
    }
    out.host_rewrite_literal = host;
  }
  out.auto_host_rewrite = proto.has_auto_host_rewrite() && proto.auto_host_rewrite().value();
  if (proto.has_timeout()) {
    Result<Millis> timeout = toMillis(proto.timeout(), fieldPath(path, "timeout"));
    if (!timeout) return timeout.error();
    out.timeout = *timeout;
  }
  if (proto.has_idle_timeout()) {
    Result<Millis> timeout = toMillis(proto.idle_timeout(), fieldPath(path, "idle_timeout"));
    if (!timeout) return timeout.error();
    out.idle_timeout = *timeout;
  }
  if (proto.has_retry_policy()) {
    Result<RetryPolicy> retry = toRetryPolicy(proto.retry_policy(), fieldPath(path, "retry_policy"));
    if (!retry) return retry.error();
    out.retry_policy = std::move(*retry);
  }
  Result<std::vector<HashPolicy>> hash = toHashPolicies(proto.hash_policy(), fieldPath(path, "hash_policy"));
  if (!hash) return hash.error();
  out.hash_policy = std::move(*hash);
  if (proto.has_hedge_policy()) {
    if (Status s = toHedgePolicy(proto.hedge_policy(), fieldPath(path, "hedge_policy"), out); !s) return s.error();
  }
  if (proto.has_max_stream_duration()) {
    if (Status s = toMaxStreamDuration(proto.max_stream_duration(), fieldPath(path, "max_stream_duration"), out);
        !s) {
      return s.error();
    }
  }
  if (Status s = toUpgradeConfigs(proto, path, out); !s) return s.error();
  return out;
}

Result<DirectResponse> toDirectResponse(const route::DirectResponseAction& proto, std::string_view path) {
  DirectResponse out;
  if (proto.status() < 200 || proto.status() > 599) {
    return invalidField(fieldPath(path, "status"), std::to_string(proto.status()) + " is out of range 200..599");
  }
  out.status = proto.status();
  const std::string body_path = fieldPath(path, "body");
  if (Status s = onlySupportedFields(proto.body(), body_path, {"inline_string", "inline_bytes"}); !s) {
    return s.error();
  }
  out.body = proto.body().has_inline_bytes() ? proto.body().inline_bytes() : proto.body().inline_string();
  if (out.body.size() > kMaxDirectResponseBodyBytes) {
    return invalidField(body_path, std::to_string(out.body.size()) + " bytes is over the limit of " +
                                       std::to_string(kMaxDirectResponseBodyBytes));
  }
  return out;
}

Result<Route> toRoute(const route::Route& proto, std::string_view path) {
  if (Status s =
          onlySupportedFields(proto, path,
                              {"name", "match", "route", "direct_response", "request_headers_to_add",
                               "request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove"});
      !s) {
    return s.error();
  }
  Route out;
  out.name = proto.name();
  if (!proto.has_match()) return invalidField(fieldPath(path, "match"), "is required");
  Result<RouteMatch> match = toRouteMatch(proto.match(), fieldPath(path, "match"));
  if (!match) return match.error();
  out.match = std::move(*match);
  switch (proto.action_case()) {
    case route::Route::kRoute: {
      Result<RouteAction> action = toRouteAction(proto.route(), fieldPath(path, "route"));
      if (!action) return action.error();
      if (action->prefix_rewrite && out.match.path_kind == RouteMatch::PathKind::kRegex) {
        // There is no matched prefix to replace in a regex match.
        return invalidField(fieldPath(fieldPath(path, "route"), "prefix_rewrite"),
                            "cannot be used with a safe_regex path match");
      }
      out.action = std::move(*action);
      break;
    }
    case route::Route::kDirectResponse: {
      Result<DirectResponse> direct = toDirectResponse(proto.direct_response(), fieldPath(path, "direct_response"));
      if (!direct) return direct.error();
      out.action = std::move(*direct);
      break;
    }
    case route::Route::ACTION_NOT_SET: return invalidField(path, "one of route or direct_response is required");
  }
  auto adds = toHeadersToAdd(proto.request_headers_to_add(), fieldPath(path, "request_headers_to_add"));
  if (!adds) return adds.error();
  out.request_headers_to_add = std::move(*adds);
  adds = toHeadersToAdd(proto.response_headers_to_add(), fieldPath(path, "response_headers_to_add"));
  if (!adds) return adds.error();
  out.response_headers_to_add = std::move(*adds);
  auto removes = toHeadersToRemove(proto.request_headers_to_remove(), fieldPath(path, "request_headers_to_remove"));
  if (!removes) return removes.error();
  out.request_headers_to_remove = std::move(*removes);
  removes = toHeadersToRemove(proto.response_headers_to_remove(), fieldPath(path, "response_headers_to_remove"));
  if (!removes) return removes.error();
  out.response_headers_to_remove = std::move(*removes);
  return out;
}

// "*", "*.example.com", "*-suffix", "example.*", or an exact host; at most one
// wildcard, at one end.
Status checkDomain(const std::string& domain, std::string_view path) {
  if (domain.empty()) return invalidField(path, "must not be empty");
  const size_t star = domain.find('*');
  const bool wildcard_ok = star == std::string::npos || (domain.find('*', star + 1) == std::string::npos &&
                                                         (star == 0 || star == domain.size() - 1));
  if (!wildcard_ok) return invalidField(path, quoted(domain) + " may hold one \"*\", at its start or end");
  for (char c : domain) {
    if (c <= ' ' || c == '/' || c >= 0x7f) return invalidField(path, quoted(domain) + " is not a valid domain");
  }
  return Status::ok();
}

Result<VirtualHost> toVirtualHost(const route::VirtualHost& proto, std::string_view path,
                                  std::map<std::string, std::string>& domain_owner) {
  if (Status s = onlySupportedFields(proto, path, {"name", "domains", "routes"}); !s) return s.error();
  VirtualHost out;
  if (proto.name().empty()) return invalidField(fieldPath(path, "name"), "is required");
  out.name = proto.name();
  const std::string domains_path = fieldPath(path, "domains");
  if (proto.domains_size() == 0) return invalidField(domains_path, "must list at least one domain");
  for (int i = 0; i < proto.domains_size(); ++i) {
    const std::string item = indexPath(domains_path, static_cast<size_t>(i));
    // Host matching is case-insensitive, so domains are kept lower-cased.
    std::string domain = lowerAscii(proto.domains(i));
    if (Status s = checkDomain(domain, item); !s) return s.error();
    auto [it, inserted] = domain_owner.emplace(domain, item);
    if (!inserted) {
      return base::fail(base::Error::kAlreadyExists,
                        item + ": " + quoted(domain) + " is already used by " + it->second);
    }
    out.domains.push_back(std::move(domain));
  }
  for (int i = 0; i < proto.routes_size(); ++i) {
    Result<Route> route = toRoute(proto.routes(i), indexPath(fieldPath(path, "routes"), static_cast<size_t>(i)));
    if (!route) return route.error();
    out.routes.push_back(std::move(*route));
  }
  return out;
}

}  // namespace

Result<RouteConfiguration> toRouteConfiguration(const route::RouteConfiguration& proto, std::string_view path) {
  // validate_clusters is accepted and has no effect: the caller always checks
  // that every named cluster exists.
  if (Status s = onlySupportedFields(proto, path, {"name", "virtual_hosts", "validate_clusters"}); !s) {
    return s.error();
  }
  RouteConfiguration out;
  out.name = proto.name();
  std::map<std::string, std::string> vhost_owner;
  std::map<std::string, std::string> domain_owner;
  for (int i = 0; i < proto.virtual_hosts_size(); ++i) {
    const std::string item = indexPath(fieldPath(path, "virtual_hosts"), static_cast<size_t>(i));
    Result<VirtualHost> vhost = toVirtualHost(proto.virtual_hosts(i), item, domain_owner);
    if (!vhost) return vhost.error();
    auto [it, inserted] = vhost_owner.emplace(vhost->name, item);
    if (!inserted) {
      return base::fail(base::Error::kAlreadyExists,
                        fieldPath(item, "name") + ": " + quoted(vhost->name) + " is already used by " + it->second);
    }
    out.virtual_hosts.push_back(std::move(*vhost));
  }
  return out;
}

}  // namespace remora::xds::resources
