// Installs and removes the capture rules of one address family in the
// current network namespace, through iptables-save / iptables-restore
// (ip6tables-* for IPv6). Called by `remora-proxy init` on its main thread;
// needs CAP_NET_ADMIN in the pod's namespace.
//
// Each change is one `*-restore --noflush` transaction, so a failure leaves
// the table as it was, and rules we do not own are never flushed.
#pragma once

#include <string>

#include "proxy/capture/capture_options.h"
#include "proxy/capture/restore_plan.h"
#include "xds/base/status.h"

namespace remora::capture {

struct ApplyReport {
  // Rules of ours in the table afterwards (jumps included).
  size_t rules = 0;
  // Jumps that were already there and were kept rather than added again.
  size_t jumps_kept = 0;
};

struct CleanupReport {
  // False when the namespace had none of our chains or jumps.
  bool removed_anything = false;
  size_t rules = 0;
  size_t chains = 0;
};

// `iptables-save -t nat` (or ip6tables-save) output; the failure carries the
// tool's stderr.
base::Result<std::string> saveNat(Family family);

// Installs (or refreshes) the rule set; idempotent.
base::Result<ApplyReport> applyRules(const CaptureOptions& options, Family family);

// Removes our jumps and chains, and nothing else.
base::Result<CleanupReport> removeRules(Family family);

// The restore input removeRules would use now ("" when nothing to remove),
// read-only: for `init --cleanup --dry-run`.
base::Result<std::string> planRemoval(Family family);

}  // namespace remora::capture
