// AdsAddressRotation: which control-plane replica the ADS client dials next,
// and after how long. The ADS cluster may list several replicas (endpoints,
// or the addresses one name resolves to); a proxy whose replica goes away
// moves to the next one while it keeps serving its last config.
//
// Policy:
//   - every failure moves to the next address (round robin);
//   - a stream that had proven itself (it delivered a response, or stayed up
//     a while) fails over at once, after one base backoff delay (jittered in
//     [base/2, base]): its replica went away, another is likely fine;
//   - attempts that never got that far try the next address immediately,
//     until every address has failed in a row: that completes a cycle, which
//     waits a jittered exponential backoff (BackoffStrategy) and is the
//     moment to resolve names again.
// With one address this is exactly BackoffStrategy's behaviour.
//
// Pure (no I/O, no clock; randomness injected). Owned by AdsClient (and by
// IdentityClient, whose certificate requests fail over the same way), main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "proxy/grpc/backoff_strategy.h"
#include "proxy/net/address.h"

namespace remora::config {

class AdsAddressRotation {
 public:
  struct Retry {
    std::chrono::milliseconds delay{0};
    // Every address failed in a row: the caller may re-resolve names.
    bool cycle_completed = false;
  };

  // `addresses` must not be empty (the bootstrap converter guarantees one).
  AdsAddressRotation(std::vector<net::Address> addresses, std::chrono::milliseconds backoff_base,
                     std::chrono::milliseconds backoff_max, std::function<uint64_t()> random);

  // The address the next attempt dials.
  const net::Address& current() const { return addresses_[index_]; }
  const std::vector<net::Address>& addresses() const { return addresses_; }

  // The stream delivered a response: later failures start from the base delay.
  void onProven();
  // The stream to current() ended or never opened; moves to the next address.
  // `proven`: it had delivered a response or stayed up long enough to count
  // as working.
  Retry onFailure(bool proven);

  // The stream came up on current(). Returns true when that is a failover:
  // an earlier stream was up on a different address.
  bool onConnected();

  // New addresses (a re-resolution); ignored when empty. The next attempt
  // dials the first of them, so a cycle starts afresh.
  void replaceAddresses(std::vector<net::Address> addresses);

 private:
  std::vector<net::Address> addresses_;
  size_t index_ = 0;
  size_t failed_in_row_ = 0;
  grpc::BackoffStrategy backoff_;
  std::optional<net::Address> last_connected_;
};

}  // namespace remora::config
