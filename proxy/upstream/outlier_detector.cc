#include "proxy/upstream/outlier_detector.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace remora::upstream {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

size_t index(EjectionKind kind) { return static_cast<size_t>(kind); }

// "41.0%": success rates keep one decimal so the reason shows how close a call it was.
std::string percentOneDecimal(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f%%", value);
  return text;
}

// "90%" or "87.5%": failure rates are usually whole numbers, as is the threshold.
std::string percentTrimmed(double value) {
  char text[32];
  if (std::fabs(value - std::round(value)) < 0.05) {
    std::snprintf(text, sizeof(text), "%.0f%%", value);
  } else {
    std::snprintf(text, sizeof(text), "%.1f%%", value);
  }
  return text;
}

// "30 s", "1.5 s" or "500 ms".
std::string humanDuration(milliseconds duration) {
  const long long ms = duration.count();
  char text[48];
  if (ms < 1000) {
    std::snprintf(text, sizeof(text), "%lld ms", ms);
  } else if (ms % 1000 == 0) {
    std::snprintf(text, sizeof(text), "%lld s", ms / 1000);
  } else {
    std::snprintf(text, sizeof(text), "%lld.%03lld", ms / 1000, ms % 1000);
    std::string trimmed = text;
    while (trimmed.back() == '0') trimmed.pop_back();
    return trimmed + " s";
  }
  return text;
}

}  // namespace

std::string_view ejectionKindName(EjectionKind kind) {
  switch (kind) {
    case EjectionKind::kConsecutive5xx:
      return "consecutive_5xx";
    case EjectionKind::kConsecutiveGatewayFailure:
      return "consecutive_gateway_failure";
    case EjectionKind::kConsecutiveLocalOriginFailure:
      return "consecutive_local_origin_failure";
    case EjectionKind::kSuccessRate:
      return "success_rate";
    case EjectionKind::kFailurePercentage:
      return "failure_percentage";
    case EjectionKind::kFailurePercentageLocalOrigin:
      return "failure_percentage_local_origin";
  }
  return "unknown";
}

uint64_t OutlierCounters::ejectedTotal() const {
  uint64_t total = 0;
  for (uint64_t count : ejected) total += count;
  return total;
}

OutlierDetector::OutlierDetector(const xds::resources::OutlierDetection& config, Clock now, uint64_t seed,
                                 ChangeCallback on_change)
    : config_(config), now_(std::move(now)), rng_(seed), on_change_(std::move(on_change)) {}

void OutlierDetector::setHosts(const std::vector<net::Address>& hosts) {
  Hosts next;
  for (const net::Address& address : hosts) {
    std::string key = address.toString();
    if (next.count(key) != 0) continue;
    auto old = hosts_.find(key);
    if (old != hosts_.end()) {
      next.emplace(std::move(key), std::move(old->second));
    } else {
      Entry entry;
      entry.address = address;
      next.emplace(std::move(key), std::move(entry));
    }
  }
  hosts_ = std::move(next);
}

void OutlierDetector::report(const net::Address& host, HostOutcome outcome) {
  auto found = hosts_.find(host.toString());
  if (found == hosts_.end()) return;
  Entry& entry = found->second;
  if (!config_.split_external_local_origin_errors) {
    // Envoy maps a local-origin failure to a 503: a gateway failure and a 5xx.
    // A bare connect success says nothing about the responses, so it is ignored.
    if (outcome == HostOutcome::kLocalOriginFailure) outcome = HostOutcome::kGatewayFailure;
    if (outcome != HostOutcome::kLocalOriginSuccess) countExternal(entry, outcome);
  } else if (outcome == HostOutcome::kLocalOriginFailure) {
    ++entry.local.failure;
    ++entry.consecutive_local;
    checkStreak(entry, entry.consecutive_local, config_.consecutive_local_origin_failure,
                EjectionKind::kConsecutiveLocalOriginFailure);
  } else if (outcome == HostOutcome::kLocalOriginSuccess) {
    ++entry.local.success;
    entry.consecutive_local = 0;
  } else {
    countExternal(entry, outcome);
  }
  flush();
}

void OutlierDetector::countExternal(Entry& entry, HostOutcome outcome) {
  if (outcome == HostOutcome::kSuccess) {
    ++entry.external.success;
    entry.consecutive_5xx = 0;
    entry.consecutive_gateway = 0;
    return;
  }
  ++entry.external.failure;
  // Envoy checks the gateway streak first; a plain 5xx breaks it.
  if (outcome == HostOutcome::kGatewayFailure) {
    ++entry.consecutive_gateway;
    checkStreak(entry, entry.consecutive_gateway, config_.consecutive_gateway_failure,
                EjectionKind::kConsecutiveGatewayFailure);
  } else {
    entry.consecutive_gateway = 0;
  }
  ++entry.consecutive_5xx;
  checkStreak(entry, entry.consecutive_5xx, config_.consecutive_5xx, EjectionKind::kConsecutive5xx);
}

void OutlierDetector::checkStreak(Entry& entry, uint32_t& streak, uint32_t threshold, EjectionKind kind) {
  if (threshold == 0 || streak < threshold) return;
  // The next detection needs another full run, even when this one was not
  // enforced; otherwise every further failure would count as a new outlier.
  streak = 0;
  std::string reason = std::to_string(threshold);
  switch (kind) {
    case EjectionKind::kConsecutiveGatewayFailure:
      reason += " consecutive gateway failures (502/503/504)";
      break;
    case EjectionKind::kConsecutiveLocalOriginFailure:
      reason += " consecutive local-origin failures (connect/timeout/reset)";
      break;
    default:
      reason += " consecutive 5xx responses";
      break;
  }
  detect(entry, kind, std::move(reason));
}

void OutlierDetector::detect(Entry& entry, EjectionKind kind, std::string reason) {
  if (entry.state.ejected) return;
  ++counters_.detected[index(kind)];
  if (!capAllows()) {
    ++counters_.overflow;
    return;
  }
  if (!enforced(kind)) return;
  eject(entry, kind, std::move(reason));
}

bool OutlierDetector::enforced(EjectionKind kind) {
  uint32_t percent = 0;
  switch (kind) {
    case EjectionKind::kConsecutive5xx:
      percent = config_.enforcing_consecutive_5xx;
      break;
    case EjectionKind::kConsecutiveGatewayFailure:
      percent = config_.enforcing_consecutive_gateway_failure;
      break;
    case EjectionKind::kConsecutiveLocalOriginFailure:
      percent = config_.enforcing_consecutive_local_origin_failure;
      break;
    case EjectionKind::kSuccessRate:
      percent = config_.enforcing_success_rate;
      break;
    case EjectionKind::kFailurePercentage:
      percent = config_.enforcing_failure_percentage;
      break;
    case EjectionKind::kFailurePercentageLocalOrigin:
      percent = config_.enforcing_failure_percentage_local_origin;
      break;
  }
  // 0 and 100 draw nothing, so the default config consumes no random numbers
  // and a test's seed only matters where a percentage really is partial.
  if (percent == 0) return false;
  if (percent >= 100) return true;
  return rng_() % 100 < percent;
}

bool OutlierDetector::capAllows() const {
  const uint64_t percent = std::min<uint32_t>(config_.max_ejection_percent, 100);
  if (percent == 0) return false;
  const uint64_t allowed = std::max<uint64_t>(1, hosts_.size() * percent / 100);
  return ejectedCount() + 1 <= allowed;
}

void OutlierDetector::eject(Entry& entry, EjectionKind kind, std::string reason) {
  const milliseconds base = config_.base_ejection_time;
  const milliseconds cap = std::max(base, config_.max_ejection_time);
  HostState& state = entry.state;
  // Stop growing at the cap, so the decay of one step per healthy interval
  // shortens the next ejection soon after a host recovered.
  if (state.times_ejected == 0 || base * state.times_ejected < cap) ++state.times_ejected;
  const milliseconds duration = std::min<milliseconds>(base * state.times_ejected, cap);
  state.ejected = true;
  state.ejected_until = now_() + duration;
  state.reason = reason;
  entry.unejected_at.reset();
  ++counters_.ejected[index(kind)];
  pending_.push_back(Change{entry.address, true, std::move(reason)});
}

void OutlierDetector::unejectDue(steady_clock::time_point now) {
  const milliseconds base = config_.base_ejection_time;
  const milliseconds cap = std::max(base, config_.max_ejection_time);
  for (auto& [key, entry] : hosts_) {
    HostState& state = entry.state;
    if (!state.ejected || now < state.ejected_until) continue;
    state.ejected = false;
    entry.unejected_at = now;
    const milliseconds duration = std::min<milliseconds>(base * state.times_ejected, cap);
    pending_.push_back(Change{entry.address, false, "ejection time of " + humanDuration(duration) + " over"});
  }
}

void OutlierDetector::unejectExpired() {
  unejectDue(now_());
  flush();
}

void OutlierDetector::onInterval() {
  const steady_clock::time_point now = now_();
  // Decay before un-ejecting: a host that returns in this pass has not yet
  // spent a healthy interval.
  for (auto& [key, entry] : hosts_) {
    if (entry.state.ejected || !entry.unejected_at) continue;
    if (now - *entry.unejected_at >= config_.interval && entry.state.times_ejected > 0) {
      --entry.state.times_ejected;
    }
  }
  unejectDue(now);
  successRatePass();
  failurePercentagePass(false);
  if (config_.split_external_local_origin_errors) failurePercentagePass(true);
  for (auto& [key, entry] : hosts_) {
    entry.external = Tally{};
    entry.local = Tally{};
  }
  flush();
}

void OutlierDetector::successRatePass() {
  struct Candidate {
    Entry* entry;
    double rate;
  };
  std::vector<Candidate> candidates;
  for (auto& [key, entry] : hosts_) {
    const uint64_t volume = entry.external.total();
    if (entry.state.ejected || volume == 0 || volume < config_.success_rate_request_volume) continue;
    candidates.push_back({&entry, 100.0 * static_cast<double>(entry.external.success) / static_cast<double>(volume)});
  }
  if (candidates.empty() || candidates.size() < config_.success_rate_minimum_hosts) return;
  double sum = 0;
  for (const Candidate& c : candidates) sum += c.rate;
  const double mean = sum / static_cast<double>(candidates.size());
  double squares = 0;
  for (const Candidate& c : candidates) squares += (c.rate - mean) * (c.rate - mean);
  const double stdev = std::sqrt(squares / static_cast<double>(candidates.size()));
  const double threshold = mean - stdev * static_cast<double>(config_.success_rate_stdev_factor) / 1000.0;
  for (const Candidate& c : candidates) {
    if (c.rate >= threshold) continue;
    detect(*c.entry, EjectionKind::kSuccessRate,
           "success rate " + percentOneDecimal(c.rate) + " below threshold " + percentOneDecimal(threshold) +
               " (mean " + percentOneDecimal(mean) + ", stdev " + percentOneDecimal(stdev) + ")");
  }
}

void OutlierDetector::failurePercentagePass(bool local_origin) {
  struct Candidate {
    Entry* entry;
    double failure_percent;
  };
  std::vector<Candidate> candidates;
  for (auto& [key, entry] : hosts_) {
    const Tally& tally = local_origin ? entry.local : entry.external;
    const uint64_t volume = tally.total();
    if (entry.state.ejected || volume == 0 || volume < config_.failure_percentage_request_volume) continue;
    candidates.push_back({&entry, 100.0 * static_cast<double>(tally.failure) / static_cast<double>(volume)});
  }
  if (candidates.empty() || candidates.size() < config_.failure_percentage_minimum_hosts) return;
  const double threshold = config_.failure_percentage_threshold;
  for (const Candidate& c : candidates) {
    if (c.failure_percent < threshold) continue;
    std::string reason = local_origin ? "local-origin failure rate " : "failure rate ";
    reason += percentTrimmed(c.failure_percent) + " at or above " + percentTrimmed(threshold);
    detect(*c.entry, local_origin ? EjectionKind::kFailurePercentageLocalOrigin : EjectionKind::kFailurePercentage,
           std::move(reason));
  }
}

void OutlierDetector::flush() {
  // Moved out first: a callback may report() again, which appends and flushes
  // on its own, and must not invalidate the list being walked here.
  while (!pending_.empty()) {
    std::vector<Change> changes = std::move(pending_);
    pending_.clear();
    if (!on_change_) continue;
    for (const Change& change : changes) on_change_(change.address, change.ejected, change.reason);
  }
}

std::optional<steady_clock::time_point> OutlierDetector::nextUnejection() const {
  std::optional<steady_clock::time_point> earliest;
  for (const auto& [key, entry] : hosts_) {
    if (!entry.state.ejected) continue;
    if (!earliest || entry.state.ejected_until < *earliest) earliest = entry.state.ejected_until;
  }
  return earliest;
}

const OutlierDetector::HostState* OutlierDetector::state(const net::Address& host) const {
  auto found = hosts_.find(host.toString());
  return found == hosts_.end() ? nullptr : &found->second.state;
}

size_t OutlierDetector::ejectedCount() const {
  size_t count = 0;
  for (const auto& [key, entry] : hosts_) count += entry.state.ejected ? 1 : 0;
  return count;
}

}  // namespace remora::upstream
