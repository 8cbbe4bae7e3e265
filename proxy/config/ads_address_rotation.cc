#include "proxy/config/ads_address_rotation.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace remora::config {

AdsAddressRotation::AdsAddressRotation(std::vector<net::Address> addresses, std::chrono::milliseconds backoff_base,
                                       std::chrono::milliseconds backoff_max, std::function<uint64_t()> random)
    : addresses_(std::move(addresses)), backoff_(backoff_base, backoff_max, std::move(random)) {
  assert(!addresses_.empty());
}

void AdsAddressRotation::onProven() {
  backoff_.reset();
  failed_in_row_ = 0;
}

AdsAddressRotation::Retry AdsAddressRotation::onFailure(bool proven) {
  index_ = (index_ + 1) % addresses_.size();
  Retry retry;
  if (proven) {
    // Its replica went away; the others were fine a moment ago. One base
    // delay, not zero: a replica shutting down may take its peers' streams
    // too (a rolling restart), and a fleet should not arrive in one burst.
    onProven();
    retry.delay = backoff_.next();
    return retry;
  }
  if (++failed_in_row_ < addresses_.size()) return retry;  // the next address, at once
  failed_in_row_ = 0;
  retry.delay = backoff_.next();
  retry.cycle_completed = true;
  return retry;
}

bool AdsAddressRotation::onConnected() {
  const bool failover = last_connected_ && !(*last_connected_ == current());
  last_connected_ = current();
  return failover;
}

void AdsAddressRotation::replaceAddresses(std::vector<net::Address> addresses) {
  if (addresses.empty()) return;
  addresses_ = std::move(addresses);
  index_ = 0;
  failed_in_row_ = 0;
}

}  // namespace remora::config
