// BackoffStrategy: how long the proxy waits before reconnecting a gRPC
// stream (the ADS stream) after it failed: jittered exponential backoff.
//
// Policy ("equal jitter"): the ceiling starts at `base` and doubles after
// every attempt up to `max`; each delay is drawn uniformly from
// [ceiling / 2, ceiling]. Half the window is random, so a fleet of sidecars
// that lost the same control plane does not come back in lock-step; the other
// half is a floor, so a refused connect (which fails in microseconds) is never
// retried at once, unlike Envoy's full jitter over [0, ceiling), which may
// return 0. reset() after a stream that stayed up (received a message).
//
// Pure and owned by its caller (main thread); randomness is injected so tests
// drive it with fixed values.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace remora::grpc {

class BackoffStrategy {
 public:
  static constexpr std::chrono::milliseconds kDefaultBase{500};
  static constexpr std::chrono::milliseconds kDefaultMax{30000};

  // `random` returns uniformly distributed 64-bit values. base is raised to
  // 1 ms and max to base, so next() is never zero and never shrinks.
  BackoffStrategy(std::chrono::milliseconds base, std::chrono::milliseconds max, std::function<uint64_t()> random);

  // The delay before the next attempt; grows the ceiling for the one after.
  std::chrono::milliseconds next();
  // Back to `base`: the last attempt succeeded.
  void reset() { ceiling_ = base_; }

  // The upper bound of the delay next() will return.
  std::chrono::milliseconds ceiling() const { return std::chrono::milliseconds(ceiling_); }

 private:
  uint64_t base_;
  uint64_t max_;
  uint64_t ceiling_;
  std::function<uint64_t()> random_;
};

}  // namespace remora::grpc
