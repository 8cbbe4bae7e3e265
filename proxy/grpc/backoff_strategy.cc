#include "proxy/grpc/backoff_strategy.h"

#include <algorithm>
#include <utility>

namespace remora::grpc {

BackoffStrategy::BackoffStrategy(std::chrono::milliseconds base, std::chrono::milliseconds max,
                                 std::function<uint64_t()> random)
    : base_(static_cast<uint64_t>(std::max<int64_t>(base.count(), 1))),
      max_(std::max(base_, static_cast<uint64_t>(std::max<int64_t>(max.count(), 0)))),
      ceiling_(base_),
      random_(std::move(random)) {}

std::chrono::milliseconds BackoffStrategy::next() {
  const uint64_t ceiling = ceiling_;
  const uint64_t floor = ceiling / 2;
  // Inclusive of the ceiling: span + 1 values from floor.
  const uint64_t span = ceiling - floor;
  const uint64_t delay = floor + random_() % (span + 1);
  // Doubling saturates at max_ (checked before multiplying, so no overflow).
  ceiling_ = ceiling_ >= max_ / 2 ? max_ : ceiling_ * 2;
  return std::chrono::milliseconds(static_cast<int64_t>(std::max<uint64_t>(delay, 1)));
}

}  // namespace remora::grpc
