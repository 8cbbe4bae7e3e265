#include "proxy/upstream/health_checker.h"

#include <set>
#include <utility>

#include "proxy/upstream/health_check_session.h"

namespace remora::upstream {

// The checks of one host: the interval timer, the timeout timer and the
// session in flight. Lives in HealthChecker::hosts_.
class HealthChecker::HostCheck {
 public:
  HostCheck(HealthChecker& owner, net::Address address) : owner_(owner), address_(std::move(address)) {
    net::Dispatcher& d = owner_.dispatcher_;
    interval_timer_ = d.createTimer([this] { startCheck(); });
    timeout_timer_ = d.createTimer([this] {
      complete(false, "timeout after " + std::to_string(owner_.config_.timeout.count()) + " ms");
    });
  }
  ~HostCheck() { releaseSession(); }

  void schedule(std::chrono::milliseconds delay) { interval_timer_->enable(delay); }
  const HostState& state() const { return state_; }

 private:
  void startCheck() {
    HealthCheckTarget target;
    target.address = address_;
    const auto& config = owner_.config_;
    const std::string& named = config.kind == xds::resources::HealthCheck::Kind::kGrpc ? config.authority : config.host;
    target.authority = named.empty() ? owner_.cluster_name_ : named;
    target.tls = owner_.tls_;
    // Armed before the session starts: a session never reports from inside
    // its start, so the timeout is always there to disarm.
    timeout_timer_->enable(config.timeout);
    session_ = startHealthCheckSession(owner_.dispatcher_, config, target,
                                       [this](bool pass, std::string reason) { complete(pass, std::move(reason)); });
  }

  void releaseSession() {
    if (!session_) return;
    session_->cancel();
    // We may be inside one of its callbacks: it dies when the iteration ends.
    owner_.dispatcher_.deferredDelete(std::move(session_));
  }

  void complete(bool pass, std::string reason) {
    timeout_timer_->disable();
    releaseSession();
    const auto& config = owner_.config_;
    ++state_.checks;
    bool changed = false;
    if (pass) {
      state_.consecutive_failures = 0;
      ++state_.consecutive_passes;
      if (!state_.healthy && state_.consecutive_passes >= config.healthy_threshold) {
        state_.healthy = true;
        changed = true;
      }
    } else {
      state_.consecutive_passes = 0;
      ++state_.consecutive_failures;
      if (state_.healthy && state_.consecutive_failures >= config.unhealthy_threshold) {
        state_.healthy = false;
        changed = true;
      }
    }
    state_.last_result = reason;
    // The next check is counted from the end of this one, so a slow host is
    // never probed by two checks at once.
    schedule(owner_.nextInterval());
    if (!changed) return;
    // Last: the callback may remove this host or destroy the whole checker.
    ChangeCallback on_change = owner_.on_change_;
    const net::Address address = address_;
    const bool healthy = state_.healthy;
    if (on_change) on_change(address, healthy, reason);
  }

  HealthChecker& owner_;
  const net::Address address_;
  HostState state_;
  net::TimerPtr interval_timer_;
  net::TimerPtr timeout_timer_;
  HealthCheckSessionPtr session_;
};

HealthChecker::HealthChecker(net::Dispatcher& dispatcher, const xds::resources::HealthCheck& config,
                             std::string cluster_name, TlsSettingsPtr tls, uint64_t seed, ChangeCallback on_change)
    : dispatcher_(dispatcher),
      config_(config),
      cluster_name_(std::move(cluster_name)),
      tls_(std::move(tls)),
      rng_(seed),
      on_change_(std::move(on_change)) {}

HealthChecker::~HealthChecker() = default;

void HealthChecker::setHosts(const std::vector<net::Address>& hosts) {
  std::set<std::string> wanted;
  for (const net::Address& host : hosts) {
    std::string key = host.toString();
    wanted.insert(key);
    if (hosts_.count(key) != 0) continue;
    auto check = std::make_unique<HostCheck>(*this, host);
    check->schedule(firstDelay());
    hosts_.emplace(std::move(key), std::move(check));
  }
  for (auto it = hosts_.begin(); it != hosts_.end();) {
    it = wanted.count(it->first) != 0 ? std::next(it) : hosts_.erase(it);
  }
}

const HealthChecker::HostState* HealthChecker::state(const net::Address& host) const {
  auto it = hosts_.find(host.toString());
  return it == hosts_.end() ? nullptr : &it->second->state();
}

uint64_t HealthChecker::uniformBelow(uint64_t bound) {
  if (bound == 0) return 0;
  // Modulo bias is irrelevant at millisecond jitter over 64-bit draws.
  return rng_() % bound;
}

std::chrono::milliseconds HealthChecker::nextInterval() {
  const uint64_t interval = static_cast<uint64_t>(config_.interval.count());
  uint64_t ms = interval;
  ms += uniformBelow(static_cast<uint64_t>(config_.interval_jitter.count()) + 1);
  ms += uniformBelow(interval * config_.interval_jitter_percent / 100 + 1);
  return std::chrono::milliseconds(ms);
}

std::chrono::milliseconds HealthChecker::firstDelay() {
  const uint64_t interval = static_cast<uint64_t>(config_.interval.count());
  const uint64_t jitter =
      static_cast<uint64_t>(config_.interval_jitter.count()) + interval * config_.interval_jitter_percent / 100;
  return std::chrono::milliseconds(uniformBelow(jitter + 1));
}

}  // namespace remora::upstream
