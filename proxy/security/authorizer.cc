#include "proxy/security/authorizer.h"

#include <utility>

namespace remora::security {

namespace res = xds::resources;
using base::Result;

namespace {

constexpr std::string_view kNoAllowMatched = "no ALLOW policy matched";

Result<std::vector<RbacMatcher>> compileAll(const std::vector<res::RbacMatch>& matches, std::string_view what,
                                            std::string_view policy) {
  std::vector<RbacMatcher> out;
  out.reserve(matches.size());
  for (const res::RbacMatch& match : matches) {
    Result<RbacMatcher> compiled = RbacMatcher::compile(match);
    if (!compiled) {
      return base::fail(compiled.error().code,
                        "RBAC policy \"" + std::string(policy) + "\" " + std::string(what) + ": " +
                            compiled.error().message);
    }
    out.push_back(std::move(*compiled));
  }
  return out;
}

template <typename Matchers>
bool anyMatches(const Matchers& matchers, const RequestFacts& facts) {
  for (const RbacMatcher& matcher : matchers) {
    if (matcher.matches(facts)) return true;
  }
  return false;
}

}  // namespace

bool Authorizer::Policy::matches(const RequestFacts& facts) const {
  // Principals first: most mesh policies are about who calls, and the peer
  // identity check is the cheapest.
  return anyMatches(principals, facts) && anyMatches(permissions, facts);
}

Result<Authorizer> Authorizer::compile(const std::vector<res::Rbac>& filters) {
  Authorizer out;
  out.filters_.reserve(filters.size());
  for (const res::Rbac& rbac : filters) {
    Filter filter;
    filter.action = rbac.action;
    filter.policies.reserve(rbac.policies.size());
    for (const res::RbacPolicy& policy : rbac.policies) {
      Policy compiled;
      compiled.name = policy.name;
      compiled.deny_reason = "DENY policy " + policy.name + " matched";
      Result<std::vector<RbacMatcher>> permissions = compileAll(policy.permissions, "permission", policy.name);
      if (!permissions) return permissions.error();
      compiled.permissions = std::move(*permissions);
      Result<std::vector<RbacMatcher>> principals = compileAll(policy.principals, "principal", policy.name);
      if (!principals) return principals.error();
      compiled.principals = std::move(*principals);
      filter.policies.push_back(std::move(compiled));
    }
    out.filters_.push_back(std::move(filter));
  }
  return out;
}

Decision Authorizer::evaluate(const RequestFacts& facts) const {
  Decision decision;
  for (const Filter& filter : filters_) {
    const Policy* matched = nullptr;
    for (const Policy& policy : filter.policies) {
      if (policy.matches(facts)) {
        matched = &policy;
        break;
      }
    }
    if (filter.action == res::Rbac::Action::kDeny) {
      if (matched != nullptr) return Decision{false, matched->name, matched->deny_reason};
      continue;
    }
    if (matched == nullptr) return Decision{false, {}, kNoAllowMatched};
    decision.policy = matched->name;
  }
  return decision;
}

}  // namespace remora::security
