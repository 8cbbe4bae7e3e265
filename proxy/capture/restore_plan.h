// Decides what to feed iptables-restore, given what `iptables-save -t nat`
// says is installed now. Pure functions over text; the applier (main thread
// of `remora-proxy init`) runs the binaries around them.
//
// Apply is idempotent because our chains are re-declared (restore --noflush
// empties and refills a declared chain) and a jump already present in
// PREROUTING/OUTPUT is not appended again. Cleanup deletes exactly the jumps
// that target our chains and then our chains; any other rule stays.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/capture/rule_builder.h"

namespace remora::capture {

// What of ours one `iptables-save -t nat` shows.
struct InstalledState {
  // Our chains that exist, in ownChains() order.
  std::vector<std::string> chains;
  // Rules in chains we do not own that jump to one of ours, verbatim.
  std::vector<std::string> jumps;
  // Number of rules inside our chains.
  size_t chain_rules = 0;

  bool empty() const { return chains.empty() && jumps.empty(); }
};

InstalledState readInstalledState(std::string_view save_output);

// Restore input that brings the nat table to `rules` from `installed`.
std::string planApply(const RuleSet& rules, const InstalledState& installed);

// Restore input that removes everything of ours, or nullopt when there is
// nothing to remove.
std::optional<std::string> planCleanup(const InstalledState& installed);

}  // namespace remora::capture
