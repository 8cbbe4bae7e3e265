// A Cluster's load balancing settings -> the model: lb_policy with its option
// block (least request, ring hash, Maglev), common_lb_config's panic
// threshold, and load_balancing_policy for Remora's PEAK_EWMA extension.
// Split from cluster_converter.cc, which calls it; pure, any thread.
#pragma once

#include <string_view>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

// The @type of Remora's peak-EWMA policy in load_balancing_policy.
inline constexpr std::string_view kPeakEwmaType = "remora.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma";

// Envoy's bounds: a ring of at most 8M entries; a Maglev table of a prime
// size up to 5000011.
inline constexpr uint64_t kMaxRingSize = 8 * 1024 * 1024;
inline constexpr uint64_t kMaxMaglevTableSize = 5000011;

// Fills out.lb_policy and the balancer options; `path` is the cluster's.
base::Status toLoadBalancing(const envoy::config::cluster::v3::Cluster& proto, std::string_view path, Cluster& out);

bool isPrime(uint64_t n);

}  // namespace remora::xds::resources
