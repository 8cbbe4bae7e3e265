#include "xds/resources/lb_policy_converter.h"

#include <string>

#include "remora/extensions/load_balancing_policies/peak_ewma/v1/peak_ewma.pb.h"
#include "xds/resources/common_converters.h"

namespace remora::xds::resources {

namespace cluster = envoy::config::cluster::v3;
namespace peak_ewma = remora::extensions::load_balancing_policies::peak_ewma::v1;
using base::Result;
using base::Status;

namespace {

constexpr std::string_view kSupportedPolicies =
    "ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV, LOAD_BALANCING_POLICY_CONFIG (peak EWMA)";

// An option block given for another policy would silently do nothing.
Status onlyFor(bool present, cluster::Cluster::LbPolicy wanted, const cluster::Cluster& proto, std::string_view path,
               std::string_view field) {
  if (!present || proto.lb_policy() == wanted) return Status::ok();
  return invalidField(fieldPath(path, field), "is only for lb_policy " + cluster::Cluster::LbPolicy_Name(wanted));
}

Status toLeastRequest(const cluster::Cluster::LeastRequestLbConfig& proto, std::string_view path, Cluster& out) {
  if (Status s = onlySupportedFields(proto, path, {"choice_count"}); !s) return s;
  if (proto.has_choice_count()) {
    if (proto.choice_count().value() < 2) {
      return invalidField(fieldPath(path, "choice_count"), "must be at least 2");
    }
    out.least_request_choice_count = proto.choice_count().value();
  }
  return Status::ok();
}

Status toRingHash(const cluster::Cluster::RingHashLbConfig& proto, std::string_view path, Cluster& out) {
  if (Status s = onlySupportedFields(proto, path, {"minimum_ring_size", "maximum_ring_size", "hash_function"}); !s) {
    return s;
  }
  if (proto.hash_function() != cluster::Cluster::RingHashLbConfig::XX_HASH) {
    return unsupportedField(fieldPath(path, "hash_function"),
                            cluster::Cluster::RingHashLbConfig::HashFunction_Name(proto.hash_function()) +
                                "; supported: XX_HASH");
  }
  if (proto.has_minimum_ring_size()) out.ring_hash_minimum_size = proto.minimum_ring_size().value();
  if (proto.has_maximum_ring_size()) out.ring_hash_maximum_size = proto.maximum_ring_size().value();
  if (out.ring_hash_minimum_size < 1) return invalidField(fieldPath(path, "minimum_ring_size"), "must be at least 1");
  if (out.ring_hash_maximum_size > kMaxRingSize) {
    return invalidField(fieldPath(path, "maximum_ring_size"),
                        std::to_string(out.ring_hash_maximum_size) + " is over " + std::to_string(kMaxRingSize));
  }
  if (out.ring_hash_minimum_size > out.ring_hash_maximum_size) {
    return invalidField(fieldPath(path, "minimum_ring_size"),
                        std::to_string(out.ring_hash_minimum_size) + " is more than maximum_ring_size " +
                            std::to_string(out.ring_hash_maximum_size));
  }
  return Status::ok();
}

Status toMaglev(const cluster::Cluster::MaglevLbConfig& proto, std::string_view path, Cluster& out) {
  if (Status s = onlySupportedFields(proto, path, {"table_size"}); !s) return s;
  if (!proto.has_table_size()) return Status::ok();
  const uint64_t size = proto.table_size().value();
  const std::string size_path = fieldPath(path, "table_size");
  if (size > kMaxMaglevTableSize) {
    return invalidField(size_path, std::to_string(size) + " is over " + std::to_string(kMaxMaglevTableSize));
  }
  // Maglev's permutation only visits every slot when the size is prime.
  if (!isPrime(size)) return invalidField(size_path, std::to_string(size) + " is not a prime number");
  out.maglev_table_size = size;
  return Status::ok();
}

Status toCommonLb(const cluster::Cluster::CommonLbConfig& proto, std::string_view path, Cluster& out) {
  if (Status s = onlySupportedFields(proto, path, {"healthy_panic_threshold"}); !s) return s;
  if (proto.has_healthy_panic_threshold()) {
    const std::string threshold_path = fieldPath(path, "healthy_panic_threshold");
    if (Status s = onlySupportedFields(proto.healthy_panic_threshold(), threshold_path, {"value"}); !s) return s;
    Result<double> value = toPercent(proto.healthy_panic_threshold().value(), fieldPath(threshold_path, "value"));
    if (!value) return value.status();
    out.healthy_panic_threshold = *value;
  }
  return Status::ok();
}

// The first policy Remora knows wins, as in Envoy; a list naming none of
// them is refused with the types it did name.
Status toPolicyList(const cluster::LoadBalancingPolicy& proto, std::string_view path, Cluster& out) {
  if (Status s = onlySupportedFields(proto, path, {"policies"}); !s) return s;
  const std::string policies_path = fieldPath(path, "policies");
  if (proto.policies_size() == 0) return invalidField(policies_path, "must list at least one policy");
  std::string seen;
  for (int i = 0; i < proto.policies_size(); ++i) {
    const std::string item = indexPath(policies_path, static_cast<size_t>(i));
    const cluster::LoadBalancingPolicy::Policy& policy = proto.policies(i);
    if (Status s = onlySupportedFields(policy, item, {"typed_extension_config"}); !s) return s;
    const std::string config_path = fieldPath(item, "typed_extension_config");
    if (Status s = onlySupportedFields(policy.typed_extension_config(), config_path, {"name", "typed_config"}); !s) {
      return s;
    }
    const google::protobuf::Any& any = policy.typed_extension_config().typed_config();
    const std::string_view type = anyTypeName(any.type_url());
    if (type != peak_ewma::PeakEwma::descriptor()->full_name()) {
      if (!seen.empty()) seen += ", ";
      seen += type.empty() ? std::string("(no @type)") : std::string(type);
      continue;
    }
    const std::string typed_path = fieldPath(config_path, "typed_config");
    peak_ewma::PeakEwma config;
    if (!any.UnpackTo(&config)) return invalidField(typed_path, "cannot be decoded as " + std::string(kPeakEwmaType));
    if (Status s = onlySupportedFields(config, typed_path, {"decay_time"}); !s) return s;
    if (config.has_decay_time()) {
      Result<Millis> decay = toPositiveMillis(config.decay_time(), fieldPath(typed_path, "decay_time"));
      if (!decay) return decay.status();
      out.peak_ewma_decay = *decay;
    }
    out.lb_policy = Cluster::LbPolicy::kPeakEwma;
    return Status::ok();
  }
  return unsupportedField(policies_path, "no policy remora-proxy knows (" + seen + "); supported: " +
                                             std::string(kPeakEwmaType));
}

}  // namespace

bool isPrime(uint64_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint64_t d = 3; d * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

Status toLoadBalancing(const cluster::Cluster& proto, std::string_view path, Cluster& out) {
  const std::string policy_path = fieldPath(path, "lb_policy");
  switch (proto.lb_policy()) {
    case cluster::Cluster::ROUND_ROBIN: out.lb_policy = Cluster::LbPolicy::kRoundRobin; break;
    case cluster::Cluster::LEAST_REQUEST: out.lb_policy = Cluster::LbPolicy::kLeastRequest; break;
    case cluster::Cluster::RANDOM: out.lb_policy = Cluster::LbPolicy::kRandom; break;
    case cluster::Cluster::RING_HASH: out.lb_policy = Cluster::LbPolicy::kRingHash; break;
    case cluster::Cluster::MAGLEV: out.lb_policy = Cluster::LbPolicy::kMaglev; break;
    case cluster::Cluster::LOAD_BALANCING_POLICY_CONFIG:
      if (!proto.has_load_balancing_policy()) {
        return invalidField(fieldPath(path, "load_balancing_policy"),
                            "is required with lb_policy LOAD_BALANCING_POLICY_CONFIG");
      }
      break;
    default:
      return unsupportedField(policy_path, cluster::Cluster::LbPolicy_Name(proto.lb_policy()) +
                                               "; supported: " + std::string(kSupportedPolicies));
  }
  if (proto.has_load_balancing_policy()) {
    // Envoy lets load_balancing_policy override lb_policy; here it must not
    // contradict an explicit one.
    if (proto.lb_policy() != cluster::Cluster::LOAD_BALANCING_POLICY_CONFIG &&
        proto.lb_policy() != cluster::Cluster::ROUND_ROBIN) {
      return invalidField(fieldPath(path, "load_balancing_policy"),
                          "cannot be used with lb_policy " + cluster::Cluster::LbPolicy_Name(proto.lb_policy()));
    }
    if (Status s = toPolicyList(proto.load_balancing_policy(), fieldPath(path, "load_balancing_policy"), out); !s) {
      return s;
    }
  }
  if (Status s = onlyFor(proto.has_least_request_lb_config(), cluster::Cluster::LEAST_REQUEST, proto, path,
                         "least_request_lb_config");
      !s) {
    return s;
  }
  if (Status s = onlyFor(proto.has_ring_hash_lb_config(), cluster::Cluster::RING_HASH, proto, path,
                         "ring_hash_lb_config");
      !s) {
    return s;
  }
  if (Status s = onlyFor(proto.has_maglev_lb_config(), cluster::Cluster::MAGLEV, proto, path, "maglev_lb_config");
      !s) {
    return s;
  }
  // An empty round robin block is accepted with any policy (some control
  // planes always send it); an option inside it is refused.
  if (Status s = onlySupportedFields(proto.round_robin_lb_config(), fieldPath(path, "round_robin_lb_config"), {});
      !s) {
    return s;
  }
  if (Status s = toLeastRequest(proto.least_request_lb_config(), fieldPath(path, "least_request_lb_config"), out);
      !s) {
    return s;
  }
  if (Status s = toRingHash(proto.ring_hash_lb_config(), fieldPath(path, "ring_hash_lb_config"), out); !s) return s;
  if (Status s = toMaglev(proto.maglev_lb_config(), fieldPath(path, "maglev_lb_config"), out); !s) return s;
  return toCommonLb(proto.common_lb_config(), fieldPath(path, "common_lb_config"), out);
}

}  // namespace remora::xds::resources
