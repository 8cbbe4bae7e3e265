#include "proxy/router/route_table.h"

#include <re2/re2.h>

#include <algorithm>
#include <optional>
#include <unordered_set>
#include <utility>
#include <variant>

namespace remora::router {

using base::Error;
using base::fail;
using base::Result;
using base::Status;
using xds::resources::HeaderMatcher;
using xds::resources::RouteMatch;

namespace {

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

bool startsWith(std::string_view s, std::string_view prefix, bool case_sensitive) {
  if (s.size() < prefix.size()) return false;
  std::string_view head = s.substr(0, prefix.size());
  return case_sensitive ? head == prefix : equalsIgnoreCase(head, prefix);
}

bool equals(std::string_view a, std::string_view b, bool case_sensitive) {
  return case_sensitive ? a == b : equalsIgnoreCase(a, b);
}

// Request text echoed into reasons goes into response headers and logs:
// bounded, printable, and free of the quote that delimits it.
std::string printable(std::string_view s) {
  constexpr size_t kMaxEcho = 128;
  std::string out;
  out.reserve(std::min(s.size(), kMaxEcho) + 3);
  for (size_t i = 0; i < s.size() && i < kMaxEcho; ++i) {
    char c = s[i];
    out += (c >= 0x20 && c < 0x7f && c != '\'') ? c : '?';
  }
  if (s.size() > kMaxEcho) out += "...";
  return out;
}

std::string quoted(std::string_view s) { return "'" + printable(s) + "'"; }

std::string_view requestAuthority(const http::HeaderMap& headers) {
  std::optional<std::string_view> authority = headers.get(":authority");
  if (!authority || authority->empty()) authority = headers.get("host");
  return authority.value_or("");
}

// RE2 rather than std::regex: linear time on hostile input, no recursion.
std::unique_ptr<re2::RE2> compileRegex(const std::string& pattern) {
  re2::RE2::Options options;
  options.set_log_errors(false);  // the error goes into the Status instead
  return std::make_unique<re2::RE2>(pattern, options);
}

bool fullMatch(std::string_view text, const re2::RE2& regex) {
  return re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), regex);
}

}  // namespace

std::string_view matcherKindName(HeaderMatcher::Kind kind) {
  switch (kind) {
    case HeaderMatcher::Kind::kExact: return "exact";
    case HeaderMatcher::Kind::kPrefix: return "prefix";
    case HeaderMatcher::Kind::kSuffix: return "suffix";
    case HeaderMatcher::Kind::kContains: return "contains";
    case HeaderMatcher::Kind::kRegex: return "regex";
    case HeaderMatcher::Kind::kPresent: return "present";
  }
  return "unknown";
}

namespace detail {

size_t CaseInsensitiveHash::operator()(std::string_view s) const noexcept {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a over lower-cased bytes
  for (char c : s) {
    hash ^= static_cast<unsigned char>(lowerAscii(c));
    hash *= 1099511628211ull;
  }
  return static_cast<size_t>(hash);
}

bool CaseInsensitiveEqual::operator()(std::string_view a, std::string_view b) const noexcept {
  return equalsIgnoreCase(a, b);
}

struct CompiledHeaderMatcher {
  const HeaderMatcher* spec = nullptr;
  std::unique_ptr<re2::RE2> regex;  // kRegex only
};

struct CompiledRoute {
  const Route* route = nullptr;
  std::unique_ptr<re2::RE2> path_regex;  // PathKind::kRegex only
  std::vector<CompiledHeaderMatcher> headers;
  RetryConditions retry;  // of the route's retry policy, if any
};

}  // namespace detail

struct RouteTable::CompiledVirtualHost {
  const VirtualHost* vhost = nullptr;
  std::vector<detail::CompiledRoute> routes;
};

namespace {

// The value of header `name` as one string. Several fields of one name are
// matched comma-joined (as Envoy does); that rare case builds `joined`.
std::optional<std::string_view> headerValue(const http::HeaderMap& headers, std::string_view name,
                                            std::string& joined) {
  std::optional<std::string_view> first;
  bool several = false;
  for (const http::HeaderField& field : headers) {
    if (field.name != name) continue;
    if (!first) {
      first = field.value;
      continue;
    }
    if (!several) {
      joined.assign(*first);
      several = true;
    }
    joined += ',';
    joined += field.value;
  }
  if (several) return std::string_view(joined);
  return first;
}

// Every match function takes `why`: null on the request path (no allocation),
// set by explain() to receive the reason for a miss.
bool headerMatches(const detail::CompiledHeaderMatcher& matcher, const http::HeaderMap& headers,
                   std::string* why) {
  const HeaderMatcher& spec = *matcher.spec;
  std::string joined;
  std::optional<std::string_view> value = headerValue(headers, spec.name, joined);
  bool base = false;
  if (spec.kind == HeaderMatcher::Kind::kPresent) {
    base = value.has_value() == spec.present;
  } else if (value) {
    switch (spec.kind) {
      case HeaderMatcher::Kind::kExact: base = *value == spec.value; break;
      case HeaderMatcher::Kind::kPrefix: base = value->starts_with(spec.value); break;
      case HeaderMatcher::Kind::kSuffix: base = value->ends_with(spec.value); break;
      case HeaderMatcher::Kind::kContains: base = value->find(spec.value) != std::string_view::npos; break;
      case HeaderMatcher::Kind::kRegex: base = fullMatch(*value, *matcher.regex); break;
      case HeaderMatcher::Kind::kPresent: break;
    }
  }
  bool matched = base != spec.invert;
  if (matched || why == nullptr) return matched;
  // Request header values are not echoed: they may carry credentials.
  std::string header = "header '" + spec.name + "'";
  std::string expected = spec.kind == HeaderMatcher::Kind::kPresent
                             ? std::string(spec.present ? "present" : "absent")
                             : std::string(matcherKindName(spec.kind)) + " '" + spec.value + "'";
  if (spec.invert) {
    *why = header + (value ? " is " : " is absent and ") + "matches " + expected + ", and the matcher is inverted";
  } else if (!value) {
    *why = header + " is absent";
  } else if (spec.kind == HeaderMatcher::Kind::kPresent) {
    *why = header + " is present";
  } else {
    *why = header + " does not match " + expected;
  }
  return false;
}

bool pathMatches(const detail::CompiledRoute& route, std::string_view path, std::string* why) {
  const RouteMatch& match = route.route->match;
  bool matched = false;
  std::string_view verb;
  switch (match.path_kind) {
    case RouteMatch::PathKind::kPrefix:
      matched = startsWith(path, match.path, match.case_sensitive);
      verb = " does not start with ";
      break;
    case RouteMatch::PathKind::kExact:
      matched = equals(path, match.path, match.case_sensitive);
      verb = " is not ";
      break;
    case RouteMatch::PathKind::kRegex:
      matched = fullMatch(path, *route.path_regex);
      verb = " does not match regex ";
      break;
  }
  if (!matched && why != nullptr) {
    *why = "path " + quoted(path) + std::string(verb) + "'" + match.path + "'";
    if (!match.case_sensitive && match.path_kind != RouteMatch::PathKind::kRegex) *why += " (case-insensitive)";
  }
  return matched;
}

bool routeMatches(const detail::CompiledRoute& route, std::string_view path, const http::HeaderMap& headers,
                  std::string* why) {
  if (!pathMatches(route, path, why)) return false;
  for (const detail::CompiledHeaderMatcher& matcher : route.headers) {
    if (!headerMatches(matcher, headers, why)) return false;
  }
  return true;
}

std::string missReason(const VirtualHost* vhost, std::string_view host, std::string_view path) {
  if (vhost == nullptr) return "no virtual host for authority " + quoted(host);
  return "no route in virtual host '" + vhost->name + "' for path " + quoted(path);
}

Status validateAction(const Route& route) {
  const auto* action = std::get_if<RouteAction>(&route.action);
  if (action == nullptr) return Status::ok();  // a direct response needs no cluster
  if (action->cluster.empty() && action->weighted_clusters.empty()) {
    return fail(Error::kInvalidArgument, "route action names no cluster");
  }
  if (!action->cluster.empty() && !action->weighted_clusters.empty()) {
    return fail(Error::kInvalidArgument, "route action names both a cluster and weighted clusters");
  }
  uint64_t total = 0;
  for (size_t k = 0; k < action->weighted_clusters.size(); ++k) {
    if (action->weighted_clusters[k].name.empty()) {
      return fail(Error::kInvalidArgument, "weighted_clusters[" + std::to_string(k) + "] has no name");
    }
    total += action->weighted_clusters[k].weight;
  }
  if (!action->weighted_clusters.empty() && total == 0) {
    return fail(Error::kInvalidArgument, "weighted clusters have a total weight of 0");
  }
  return Status::ok();
}

Result<detail::CompiledRoute> compileRoute(Route& route) {
  detail::CompiledRoute compiled;
  compiled.route = &route;
  if (const auto* action = std::get_if<xds::resources::RouteAction>(&route.action); action && action->retry_policy) {
    compiled.retry = RetryConditions::parse(*action->retry_policy);
  }
  if (route.match.path_kind == RouteMatch::PathKind::kRegex) {
    compiled.path_regex = compileRegex(route.match.path);
    if (!compiled.path_regex->ok()) {
      return fail(Error::kInvalidArgument,
                  "bad path regex '" + route.match.path + "': " + compiled.path_regex->error());
    }
  }
  for (size_t k = 0; k < route.match.headers.size(); ++k) {
    HeaderMatcher& spec = route.match.headers[k];
    std::string where = "headers[" + std::to_string(k) + "]";
    if (spec.name.empty()) return fail(Error::kInvalidArgument, where + " has no name");
    spec.name = lowerCopy(spec.name);  // our copy: HeaderMap stores names lower-case
    detail::CompiledHeaderMatcher matcher;
    matcher.spec = &spec;
    if (spec.kind == HeaderMatcher::Kind::kRegex) {
      matcher.regex = compileRegex(spec.value);
      if (!matcher.regex->ok()) {
        return fail(Error::kInvalidArgument,
                    where + " '" + spec.name + "': bad regex '" + spec.value + "': " + matcher.regex->error());
      }
    }
    compiled.headers.push_back(std::move(matcher));
  }
  if (Status status = validateAction(route); !status) return status;
  return compiled;
}

}  // namespace

std::string_view stripPort(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) return authority;
  // Several colons: an unbracketed IPv6 literal, not host:port.
  if (authority.find(':') != colon) return authority;
  for (char c : authority.substr(colon + 1)) {
    if (c < '0' || c > '9') return authority;
  }
  return authority.substr(0, colon);
}

std::string_view pathWithoutQuery(std::string_view path) { return path.substr(0, path.find_first_of("?#")); }

std::string noRouteReason(const MatchResult& result) {
  if (result.route != nullptr) return "";
  return missReason(result.virtual_host, result.host, result.path);
}

std::string_view domainMatchName(DomainMatch how) {
  switch (how) {
    case DomainMatch::kNone: return "none";
    case DomainMatch::kExact: return "exact domain";
    case DomainMatch::kSuffixWildcard: return "suffix wildcard";
    case DomainMatch::kPrefixWildcard: return "prefix wildcard";
    case DomainMatch::kDefault: return "default domain";
  }
  return "unknown";
}

std::string Explanation::toString() const {
  std::string out = "authority " + quoted(host) + ", path " + quoted(path) + "\n";
  if (virtual_host == nullptr) {
    out += "virtual host: none\n";
  } else {
    out += "virtual host: '" + virtual_host->name + "' (" + std::string(domainMatchName(domain_match)) + " '" +
           domain_pattern + "')\n";
  }
  for (const RouteStep& step : steps) {
    out += "  routes[" + std::to_string(step.index) + "] '" + step.route_name + "': ";
    out += step.matched ? "matched\n" : "skipped: " + step.reason + "\n";
  }
  if (route != nullptr) {
    out += "result: route '" + route->name + "'\n";
  } else {
    out += "result: " + missReason(virtual_host, host, path) + "\n";
  }
  return out;
}

const std::string& pickCluster(const RouteAction& action, uint64_t random) {
  if (action.weighted_clusters.empty()) return action.cluster;
  uint64_t total = 0;
  for (const auto& weighted : action.weighted_clusters) total += weighted.weight;
  if (total == 0) return action.weighted_clusters.front().name;  // build() rejects this
  uint64_t point = random % total;
  for (const auto& weighted : action.weighted_clusters) {
    if (point < weighted.weight) return weighted.name;
    point -= weighted.weight;
  }
  return action.weighted_clusters.back().name;  // unreachable: point < total
}

RouteTable::RouteTable(const RouteConfiguration& config) : config_(config) {}

RouteTable::~RouteTable() = default;

Result<std::shared_ptr<const RouteTable>> RouteTable::build(const RouteConfiguration& config) {
  std::shared_ptr<RouteTable> table(new RouteTable(config));
  if (Status status = table->compile(); !status) return status;
  return std::shared_ptr<const RouteTable>(std::move(table));
}

Status RouteTable::compile() {
  // Compiled routes point into config_, so it is never resized after this.
  vhosts_.reserve(config_.virtual_hosts.size());
  std::unordered_set<std::string_view> names;
  for (size_t i = 0; i < config_.virtual_hosts.size(); ++i) {
    VirtualHost& vhost = config_.virtual_hosts[i];
    std::string where = "virtual_hosts[" + std::to_string(i) + "] '" + vhost.name + "'";
    if (!names.insert(vhost.name).second) {
      return fail(Error::kAlreadyExists, where + ": the virtual host name is used twice");
    }
    if (vhost.domains.empty()) return fail(Error::kInvalidArgument, where + ": no domains");
    vhosts_.push_back(CompiledVirtualHost{&vhost, {}});
    for (const std::string& domain : vhost.domains) {
      if (Status status = indexDomain(i, domain); !status) {
        return fail(status.code(), where + ": " + status.message());
      }
    }
    vhosts_.back().routes.reserve(vhost.routes.size());
    for (size_t j = 0; j < vhost.routes.size(); ++j) {
      Result<detail::CompiledRoute> route = compileRoute(vhost.routes[j]);
      if (!route) {
        return fail(route.error().code, where + " routes[" + std::to_string(j) + "] '" + vhost.routes[j].name +
                                            "': " + route.error().message);
      }
      vhosts_.back().routes.push_back(std::move(*route));
    }
  }
  auto longestFirst = [](const WildcardGroup& a, const WildcardGroup& b) { return a.length > b.length; };
  std::sort(suffix_wildcards_.begin(), suffix_wildcards_.end(), longestFirst);
  std::sort(prefix_wildcards_.begin(), prefix_wildcards_.end(), longestFirst);
  return Status::ok();
}

Status RouteTable::indexDomain(size_t vhost_index, std::string_view domain) {
  std::string normalized = lowerCopy(domain);
  auto taken = [&](size_t other) {
    return fail(Error::kAlreadyExists, "domain '" + std::string(domain) + "' is already used by virtual host '" +
                                           config_.virtual_hosts[other].name + "'");
  };
  if (normalized.empty()) return fail(Error::kInvalidArgument, "empty domain");
  if (normalized == "*") {
    if (default_vhost_ != kNoVirtualHost && default_vhost_ != vhost_index) return taken(default_vhost_);
    default_vhost_ = vhost_index;
    return Status::ok();
  }
  size_t stars = static_cast<size_t>(std::count(normalized.begin(), normalized.end(), '*'));
  detail::DomainIndex* index = &exact_;
  std::string key = normalized;
  if (stars > 0) {
    bool suffix = stars == 1 && normalized.front() == '*';
    bool prefix = stars == 1 && normalized.back() == '*';
    if (!suffix && !prefix) {
      return fail(Error::kInvalidArgument,
                  "domain '" + std::string(domain) + "' may have one '*', only at its start or end");
    }
    key = suffix ? normalized.substr(1) : normalized.substr(0, normalized.size() - 1);
    std::vector<WildcardGroup>& groups = suffix ? suffix_wildcards_ : prefix_wildcards_;
    auto group = std::find_if(groups.begin(), groups.end(),
                              [&](const WildcardGroup& g) { return g.length == key.size(); });
    if (group == groups.end()) group = groups.insert(groups.end(), WildcardGroup{key.size(), {}});
    index = &group->patterns;
  }
  auto [it, inserted] = index->emplace(key, vhost_index);
  // One virtual host may list a domain twice; two virtual hosts may not
  // share one.
  if (!inserted && it->second != vhost_index) return taken(it->second);
  return Status::ok();
}

RouteTable::VirtualHostLookup RouteTable::lookupAuthority(std::string_view authority) const {
  const std::string_view host = stripPort(authority);
  if (host.size() != authority.size()) {
    VirtualHostLookup with_port = findVirtualHost(authority, /*use_default=*/false);
    if (with_port.vhost != nullptr) return with_port;
  }
  return findVirtualHost(host);
}

RouteTable::VirtualHostLookup RouteTable::findVirtualHost(std::string_view host, bool use_default) const {
  if (auto it = exact_.find(host); it != exact_.end()) {
    return {&vhosts_[it->second], DomainMatch::kExact, it->first};
  }
  // A wildcard stands for at least one character, hence the strict '<'.
  for (const WildcardGroup& group : suffix_wildcards_) {
    if (group.length >= host.size()) continue;
    auto it = group.patterns.find(host.substr(host.size() - group.length));
    if (it != group.patterns.end()) return {&vhosts_[it->second], DomainMatch::kSuffixWildcard, it->first};
  }
  for (const WildcardGroup& group : prefix_wildcards_) {
    if (group.length >= host.size()) continue;
    auto it = group.patterns.find(host.substr(0, group.length));
    if (it != group.patterns.end()) return {&vhosts_[it->second], DomainMatch::kPrefixWildcard, it->first};
  }
  if (use_default && default_vhost_ != kNoVirtualHost) return {&vhosts_[default_vhost_], DomainMatch::kDefault, "*"};
  return {};
}

MatchResult RouteTable::match(const http::HeaderMap& request_headers) const {
  MatchResult result;
  const std::string_view authority = requestAuthority(request_headers);
  result.host = stripPort(authority);
  result.path = pathWithoutQuery(request_headers.path());
  VirtualHostLookup found = lookupAuthority(authority);
  if (found.vhost == nullptr) return result;
  result.virtual_host = found.vhost->vhost;
  for (const detail::CompiledRoute& route : found.vhost->routes) {
    if (routeMatches(route, result.path, request_headers, nullptr)) {
      result.route = route.route;
      result.retry_conditions = &route.retry;
      break;
    }
  }
  return result;
}

Explanation RouteTable::explain(const http::HeaderMap& request_headers) const {
  Explanation explanation;
  const std::string_view authority = requestAuthority(request_headers);
  std::string_view path = pathWithoutQuery(request_headers.path());
  explanation.host = std::string(stripPort(authority));
  explanation.path = std::string(path);
  VirtualHostLookup found = lookupAuthority(authority);
  explanation.domain_match = found.how;
  if (found.vhost == nullptr) return explanation;
  explanation.virtual_host = found.vhost->vhost;
  std::string pattern(found.pattern);
  if (found.how == DomainMatch::kSuffixWildcard) pattern = "*" + pattern;
  if (found.how == DomainMatch::kPrefixWildcard) pattern += "*";
  explanation.domain_pattern = std::move(pattern);
  const std::vector<detail::CompiledRoute>& routes = found.vhost->routes;
  for (size_t i = 0; i < routes.size(); ++i) {
    RouteStep step;
    step.index = i;
    step.route_name = routes[i].route->name;
    step.matched = routeMatches(routes[i], path, request_headers, &step.reason);
    explanation.steps.push_back(std::move(step));
    if (explanation.steps.back().matched) {
      explanation.route = routes[i].route;
      break;
    }
  }
  return explanation;
}

}  // namespace remora::router
