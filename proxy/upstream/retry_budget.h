// RetryBudget: how many retries a cluster may send, as a share of the
// requests it was asked to carry recently (Finagle's and Linkerd's budget):
// over the last `window`, retries stay at or below budget_percent of the
// requests plus a reserve of min_retries_per_second for each second of the
// window. A service that fails every request then sees at most that many
// extra requests, however many callers retry.
//
// Worker-local: each worker's Cluster owns one and counts its own requests;
// the clock is injected so tests drive time.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

#include "xds/resources/model.h"

namespace remora::upstream {

class RetryBudget {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit RetryBudget(const xds::resources::RetryBudget& config);

  // An original request started.
  void onRequest(TimePoint now);
  // A retry wants to start: true (and counted) when the budget allows it.
  bool tryRetry(TimePoint now);

  // Retries the window still allows; for stats and tests.
  double remaining(TimePoint now);

 private:
  static constexpr size_t kSlots = 10;
  struct Slot {
    int64_t index = -1;  // which slot-length period of time it counts
    uint64_t requests = 0;
    uint64_t retries = 0;
  };
  Slot& current(TimePoint now);

  double ratio_;
  double reserve_;
  std::chrono::nanoseconds slot_length_;
  std::array<Slot, kSlots> slots_{};
};

}  // namespace remora::upstream
