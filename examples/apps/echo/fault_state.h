// FaultState: the fault knobs of one remora-echo instance (failure rate,
// added latency, resets, health) and the counters tests read through
// GET /stats to learn how many requests really reached the instance.
//
// Owned by the EchoServer; every handler of the instance shares it. Single
// thread (the echo app runs one event loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>

#include "xds/base/status.h"

namespace remora::echo {

enum class HealthMode {
  kOk,    // health endpoints answer 200 / SERVING
  kFail,  // health endpoints answer 503 / NOT_SERVING
  kHang,  // health endpoints never answer (health-check timeouts)
};

struct FaultKnobs {
  double fail = 0;            // probability a request is answered with `status`
  uint32_t status = 503;      // the failing status
  uint32_t latency_ms = 0;    // added before answering (or resetting)
  uint32_t latency_jitter_ms = 0;  // latency is uniform in [latency - jitter, latency + jitter]
  double reset = 0;           // probability the stream is reset instead of answered
  HealthMode health = HealthMode::kOk;
};

// What to do with one counted request, drawn from the knobs.
struct FaultDecision {
  enum class Action { kAnswer, kFail, kReset };
  Action action = Action::kAnswer;
  uint32_t status = 0;  // kFail: the status to send
  std::chrono::milliseconds delay{0};
};

class FaultState {
 public:
  FaultState(FaultKnobs initial, uint64_t seed) : knobs_(initial), rng_(seed) {}

  const FaultKnobs& knobs() const { return knobs_; }
  // The default seed is the bound port, known only after the listener binds.
  void seed(uint64_t seed) { rng_.seed(seed); }

  // Applies a query string such as "fail=0.5&status=503&health=fail". Knobs
  // not named keep their value. Nothing changes when any value is invalid.
  // `crash` is set when the query asks for crash=1 (the caller exits).
  base::Status apply(std::string_view query, bool& crash);
  // Every knob back to "no fault" (not to the start-up flags: a test that
  // clears wants a healthy instance, whatever the instance was started with).
  void clear() { knobs_ = FaultKnobs{}; }

  // Counts one request that reached the application and draws its fate.
  // A reset wins over a failure: each is drawn independently, reset first.
  FaultDecision decide(std::string_view method);

  // GET /fault: {"fail":0.5,"status":503,"latency":300,...}
  std::string knobsJson() const;
  // GET /stats: {"requests":N,"failed":F,"reset":R,"by_method":{"GET":N}}
  std::string statsJson() const;

 private:
  // Uniform in [0, 1) from the top 53 bits: the same sequence on every
  // platform for a seed (std::uniform_real_distribution is not specified).
  double uniform() { return static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0); }

  FaultKnobs knobs_;
  std::mt19937_64 rng_;
  uint64_t requests_ = 0;
  uint64_t failed_ = 0;
  uint64_t reset_ = 0;
  std::map<std::string, uint64_t> by_method_;
};

// Parses "ok" | "fail" | "hang".
base::Result<HealthMode> parseHealthMode(std::string_view text);
std::string_view healthModeName(HealthMode mode);

}  // namespace remora::echo
