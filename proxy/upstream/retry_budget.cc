#include "proxy/upstream/retry_budget.h"

#include <algorithm>

namespace remora::upstream {

RetryBudget::RetryBudget(const xds::resources::RetryBudget& config)
    : ratio_(config.budget_percent / 100.0),
      reserve_(static_cast<double>(config.min_retries_per_second) *
               std::chrono::duration<double>(config.window).count()),
      slot_length_(std::max<std::chrono::nanoseconds>(config.window / kSlots, std::chrono::milliseconds(1))) {}

RetryBudget::Slot& RetryBudget::current(TimePoint now) {
  const int64_t index = now.time_since_epoch() / slot_length_;
  Slot& slot = slots_[static_cast<size_t>(index) % kSlots];
  if (slot.index != index) slot = Slot{index, 0, 0};
  return slot;
}

double RetryBudget::remaining(TimePoint now) {
  const int64_t newest = now.time_since_epoch() / slot_length_;
  uint64_t requests = 0;
  uint64_t retries = 0;
  for (const Slot& s : slots_) {
    // Only the slots of the last window count; older ones have expired.
    if (s.index > newest - static_cast<int64_t>(kSlots) && s.index <= newest) {
      requests += s.requests;
      retries += s.retries;
    }
  }
  return ratio_ * static_cast<double>(requests) + reserve_ - static_cast<double>(retries);
}

void RetryBudget::onRequest(TimePoint now) { ++current(now).requests; }

bool RetryBudget::tryRetry(TimePoint now) {
  if (remaining(now) < 1.0) return false;
  ++current(now).retries;
  return true;
}

}  // namespace remora::upstream
