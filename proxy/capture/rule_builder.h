// The capture rule set: CaptureOptions -> iptables-restore input for table nat.
//
// Pure functions, no I/O; called by the `init` subcommand (main thread) for
// --dry-run and by the applier. Rules are written exactly as iptables-save
// prints them back ("-p tcp -m tcp --dport", "-d ... -o lo", masked CIDRs),
// so "is our rule already there?" is a string comparison and --dry-run shows
// what the kernel will list.
//
//   PREROUTING -p tcp -> REMORA_INBOUND -> REMORA_IN_REDIRECT (REDIRECT :inbound)
//   OUTPUT     -p tcp -> REMORA_OUTPUT  -> REMORA_REDIRECT    (REDIRECT :outbound)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/capture/capture_options.h"

namespace remora::capture {

inline constexpr std::string_view kInboundChain = "REMORA_INBOUND";
inline constexpr std::string_view kInboundRedirectChain = "REMORA_IN_REDIRECT";
inline constexpr std::string_view kOutboundChain = "REMORA_OUTPUT";
inline constexpr std::string_view kOutboundRedirectChain = "REMORA_REDIRECT";

// Our four chains, in the order iptables-save lists them.
const std::vector<std::string_view>& ownChains();

// The structured rule set of one family; every entry is one "-A ..." line.
struct RuleSet {
  // "-A PREROUTING ..." and "-A OUTPUT ...": the only lines we put in
  // chains we do not own.
  std::vector<std::string> jumps;
  // Lines appended to our own chains.
  std::vector<std::string> rules;

  size_t size() const { return jumps.size() + rules.size(); }
};

RuleSet buildRuleSet(const CaptureOptions& options, Family family);

// The full iptables-restore input ("*nat", our chain declarations, jumps,
// rules, "COMMIT"); meant for `iptables-restore --noflush`, which empties a
// declared user chain before refilling it and leaves every other chain alone.
std::string buildRules(const CaptureOptions& options, Family family);

// Renders a RuleSet as restore input, leaving out the jump lines listed in
// `present_jumps` (already installed, so applying again does not duplicate them).
std::string renderRestoreInput(const RuleSet& rules, const std::vector<std::string>& present_jumps = {});

std::string_view familyName(Family family);

}  // namespace remora::capture
