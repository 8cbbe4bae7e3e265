// OutlierDetector: passive health checking of one cluster's hosts (Envoy's
// outlier detection). Workers report per-host request outcomes in batches; the
// owner (the cluster manager, on the main thread) feeds them to report(), calls
// onInterval() every config.interval, and publishes the ejections it learns of
// through the change callback to every worker as HostHealthFlag::kOutlierEjected.
//
// Main thread only, one per cluster. Pure logic: no I/O, no timers of its own;
// the clock and the seed of the enforcement draws are injected so tests replay
// exact timelines.
//
// Semantics follow Envoy, with these Remora decisions:
// - Consecutive failures eject at once from report(). When
//   split_external_local_origin_errors is false a local-origin failure counts
//   as a gateway failure (Envoy maps it to 503) and kLocalOriginSuccess is
//   ignored; when true, local-origin outcomes only feed their own streak and
//   their own failure percentage, and only kLocalOriginSuccess resets that
//   streak (the owner reports it when a connection was made). A threshold of
//   0 disables that check. A detection resets its streak, so the next one
//   needs another full run of failures.
// - max_ejection_percent: an ejection is allowed when the number of ejected
//   hosts after it is <= max(1, floor(hosts * percent / 100)). So one host may
//   always be ejected (unless percent is 0), even in a small cluster where
//   Envoy's plain percentage check would eject nothing (3 hosts at 10 %).
//   A prevented ejection counts as overflow and draws no enforcement number.
// - Ejection time = base_ejection_time * times_ejected, capped at
//   max(base_ejection_time, max_ejection_time). times_ejected stops growing
//   once the cap is reached, and drops by one for every interval that a host
//   spends un-ejected, so a host that recovered for good earns short
//   ejections again.
// - Un-ejection happens in onInterval() (as in Envoy), and also in
//   unejectExpired(): the owner may arm a one-shot timer at nextUnejection()
//   and call unejectExpired() then, so a host returns when its time is over
//   rather than up to one interval later. unejectExpired() leaves the interval
//   statistics alone; calling onInterval() early instead would cut an interval short.
// - Success rate and failure percentage skip hosts ejected at the start of the
//   interval; the standard deviation is the population one (Envoy's).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/net/address.h"
#include "xds/resources/model.h"

namespace remora::upstream {

// What happened to one request (or connection attempt) to a host.
enum class HostOutcome : uint8_t {
  kSuccess,             // a response that is not a 5xx
  kUpstream5xx,         // a 5xx the upstream sent (500, 501, 505, ...)
  kGatewayFailure,      // 502, 503, 504 the upstream sent
  kLocalOriginFailure,  // connect failure/refused, timeout, reset before a response
  kLocalOriginSuccess,  // the connection was made (resets the local-origin streak)
};

// Why a host was found to be an outlier; also the label of the ejection metrics.
enum class EjectionKind : uint8_t {
  kConsecutive5xx,
  kConsecutiveGatewayFailure,
  kConsecutiveLocalOriginFailure,
  kSuccessRate,
  kFailurePercentage,
  kFailurePercentageLocalOrigin,  // only with split_external_local_origin_errors
};
inline constexpr size_t kEjectionKindCount = 6;

// "consecutive_5xx", "consecutive_gateway_failure", "consecutive_local_origin_failure",
// "success_rate", "failure_percentage", "failure_percentage_local_origin".
std::string_view ejectionKindName(EjectionKind kind);

// Monotonic counters the owner exports as metrics (indexed by EjectionKind).
struct OutlierCounters {
  // An outlier was found, whether or not it was ejected (enforcing_* < 100 or overflow).
  std::array<uint64_t, kEjectionKindCount> detected{};
  // A host was ejected.
  std::array<uint64_t, kEjectionKindCount> ejected{};
  // An ejection prevented by max_ejection_percent.
  uint64_t overflow = 0;

  uint64_t detectedOf(EjectionKind kind) const { return detected[static_cast<size_t>(kind)]; }
  uint64_t ejectedOf(EjectionKind kind) const { return ejected[static_cast<size_t>(kind)]; }
  uint64_t ejectedTotal() const;
};

class OutlierDetector {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // Called after the detector's state changed, once per host and change:
  // ejected true with why ("5 consecutive 5xx responses"), or false when the
  // host comes back ("ejection time of 30 s over"). Callbacks run at the end
  // of report()/onInterval()/unejectExpired(), so they may read state() and
  // nextUnejection() and may even call setHosts() or report().
  using ChangeCallback = std::function<void(const net::Address&, bool ejected, const std::string& reason)>;

  struct HostState {
    bool ejected = false;
    std::chrono::steady_clock::time_point ejected_until{};  // meaningful while ejected
    uint32_t times_ejected = 0;  // the ejection-time multiplier (decays, see above)
    std::string reason;          // why the host is, or was last, ejected
  };

  OutlierDetector(const xds::resources::OutlierDetection& config, Clock now, uint64_t seed,
                  ChangeCallback on_change);

  // The cluster's membership. Hosts that stay keep their state (an ejected host
  // stays ejected); removed hosts are forgotten without a callback.
  void setHosts(const std::vector<net::Address>& hosts);
  // One outcome for a host; consecutive-failure ejections happen here. Unknown
  // hosts (removed since the worker's report was built) are ignored.
  void report(const net::Address& host, HostOutcome outcome);
  // The owner's timer, every config.interval: un-ejects hosts whose time is
  // over, decays multipliers, runs success-rate and failure-percentage
  // detection over the interval's outcomes, then starts a new interval.
  void onInterval();
  // Un-ejects the hosts whose ejection time is over; nothing else.
  void unejectExpired();
  // The earliest time an ejected host is due back, for the owner's one-shot
  // timer; nullopt when no host is ejected.
  std::optional<std::chrono::steady_clock::time_point> nextUnejection() const;

  const HostState* state(const net::Address& host) const;  // nullptr: not a member
  size_t ejectedCount() const;
  size_t hostCount() const { return hosts_.size(); }
  const OutlierCounters& counters() const { return counters_; }

 private:
  // Successes and failures seen during the current interval.
  struct Tally {
    uint64_t success = 0;
    uint64_t failure = 0;
    uint64_t total() const { return success + failure; }
  };
  struct Entry {
    net::Address address;
    HostState state;
    uint32_t consecutive_5xx = 0;
    uint32_t consecutive_gateway = 0;
    uint32_t consecutive_local = 0;
    Tally external;  // every outcome when not split; responses only when split
    Tally local;     // local-origin outcomes, when split
    // Set when the host came back; the multiplier decays only after a whole
    // interval without ejection.
    std::optional<std::chrono::steady_clock::time_point> unejected_at;
  };
  struct Change {
    net::Address address;
    bool ejected;
    std::string reason;
  };
  using Hosts = std::map<std::string, Entry>;  // by Address::toString(), ordered for replayable draws

  void countExternal(Entry& entry, HostOutcome outcome);
  void checkStreak(Entry& entry, uint32_t& streak, uint32_t threshold, EjectionKind kind);
  // Envoy's order: the max_ejection_percent cap, then the enforcing_* draw.
  void detect(Entry& entry, EjectionKind kind, std::string reason);
  bool enforced(EjectionKind kind);
  bool capAllows() const;
  void eject(Entry& entry, EjectionKind kind, std::string reason);
  void unejectDue(std::chrono::steady_clock::time_point now);
  void successRatePass();
  void failurePercentagePass(bool local_origin);
  void flush();

  xds::resources::OutlierDetection config_;
  Clock now_;
  std::mt19937_64 rng_;
  ChangeCallback on_change_;
  Hosts hosts_;
  OutlierCounters counters_;
  std::vector<Change> pending_;  // fired by flush() once the state is consistent
};

}  // namespace remora::upstream
