// HealthCheckSession: one active health-check probe of one host — an HTTP
// GET, a TCP connect (with optional send/expect bytes) or a gRPC
// grpc.health.v1.Health/Check — over its own connection, closed when the
// probe ends. The HealthChecker starts one per check and enforces the
// timeout; the session only reports pass or fail with a reason in words.
//
// Main thread only (the HealthChecker's dispatcher). Internal to
// proxy/upstream.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "proxy/net/address.h"
#include "proxy/net/dispatcher.h"
#include "proxy/upstream/transport.h"
#include "xds/resources/model.h"

namespace remora::upstream {

class HealthCheckSession : public net::DeferredDeletable {
 public:
  // pass, and why in words: "HTTP 503 (expected 200)", "connect refused",
  // "connection reset", "gRPC NOT_SERVING".
  using DoneFn = std::function<void(bool pass, std::string reason)>;

  ~HealthCheckSession() override = default;
  // No callback after this; the connection closes now. The owner then hands
  // the session to deferred deletion (it may be inside one of its callbacks).
  virtual void cancel() = 0;
};
using HealthCheckSessionPtr = std::unique_ptr<HealthCheckSession>;

struct HealthCheckTarget {
  net::Address address;
  std::string authority;          // :authority / Host of HTTP and gRPC checks
  TlsSettingsPtr tls;        // the cluster's TLS; plain TCP when null
};

// Starts the probe `config.kind` names. `done` is called exactly once unless
// the session is cancelled first, and never from inside this call (even a
// connect that fails at once reports on a later loop iteration).
HealthCheckSessionPtr startHealthCheckSession(net::Dispatcher& dispatcher, const xds::resources::HealthCheck& config,
                                              const HealthCheckTarget& target, HealthCheckSession::DoneFn done);

// "HTTP 503 (expected 200)", "(expected 200-299, 304)": the reason text of a
// status outside `ranges` ([start, end) pairs; [200, 201) when empty).
bool statusExpected(const std::vector<std::pair<uint32_t, uint32_t>>& ranges, uint32_t status);
std::string describeExpected(const std::vector<std::pair<uint32_t, uint32_t>>& ranges);

}  // namespace remora::upstream
