// The authorizer: a chain of RBAC filters (the model's Rbac, in config order)
// compiled once, then asked per request (HTTP, by the router filter) or per
// connection (TCP, once the handshake is done and before any upstream
// connect) whether the peer may proceed.
//
// compile() runs on the main thread when a snapshot is built; the result is
// immutable and shared by every worker (std::shared_ptr<const Authorizer>).
// evaluate() is pure, thread-safe and allocates nothing (except to join a
// repeated header a header rule looks at).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/security/rbac_matcher.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::security {

struct Decision {
  bool allowed = true;
  // The policy that denied (DENY) or let the request through (the last ALLOW
  // filter's matching policy); "" when none did. Views into the Authorizer.
  std::string_view policy;
  // For a denial: "no ALLOW policy matched" or "DENY policy <name> matched".
  std::string_view reason;
};

class Authorizer {
 public:
  // Fails (kInvalidArgument) only on what the converters already refuse, such
  // as a regex RE2 cannot compile.
  static base::Result<Authorizer> compile(const std::vector<xds::resources::Rbac>& filters);

  // Every filter must let the request through, in order: a DENY filter denies
  // when any of its policies matches; an ALLOW filter denies when none does
  // (so an ALLOW filter without policies denies everything). No filters:
  // allowed.
  Decision evaluate(const RequestFacts& facts) const;

  bool empty() const { return filters_.empty(); }

 private:
  struct Policy {
    std::string name;
    std::string deny_reason;  // "DENY policy <name> matched"
    std::vector<RbacMatcher> permissions;  // any may match
    std::vector<RbacMatcher> principals;   // any may match
    bool matches(const RequestFacts& facts) const;
  };
  struct Filter {
    xds::resources::Rbac::Action action = xds::resources::Rbac::Action::kAllow;
    std::vector<Policy> policies;
  };

  std::vector<Filter> filters_;
};

}  // namespace remora::security
