#include "examples/apps/echo/fault_state.h"

#include <cmath>
#include <cstdlib>
#include <vector>

namespace remora::echo {
namespace {

base::Result<double> parseProbability(std::string_view key, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v) || v < 0 || v > 1) {
    return base::fail(base::Error::kInvalidArgument,
                      std::string(key) + ": '" + value + "' is not a probability in [0, 1]");
  }
  return v;
}

base::Result<uint32_t> parseUnsigned(std::string_view key, const std::string& value, uint32_t max) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
  if (value.empty() || value[0] == '-' || *end != '\0' || v > max) {
    return base::fail(base::Error::kInvalidArgument,
                      std::string(key) + ": '" + value + "' is not a number in [0, " + std::to_string(max) + "]");
  }
  return static_cast<uint32_t>(v);
}

std::string formatDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

base::Result<HealthMode> parseHealthMode(std::string_view text) {
  if (text == "ok") return HealthMode::kOk;
  if (text == "fail") return HealthMode::kFail;
  if (text == "hang") return HealthMode::kHang;
  return base::fail(base::Error::kInvalidArgument, "health: '" + std::string(text) + "' is not ok, fail or hang");
}

std::string_view healthModeName(HealthMode mode) {
  switch (mode) {
    case HealthMode::kOk:
      return "ok";
    case HealthMode::kFail:
      return "fail";
    case HealthMode::kHang:
      return "hang";
  }
  return "ok";
}

base::Status FaultState::apply(std::string_view query, bool& crash) {
  // Work on a copy so a bad value leaves every knob as it was.
  FaultKnobs next = knobs_;
  bool want_crash = false;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string key(pair.substr(0, eq));
    const std::string value(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (key == "fail" || key == "reset") {
      auto p = parseProbability(key, value);
      if (!p) return p.error();
      (key == "fail" ? next.fail : next.reset) = *p;
    } else if (key == "status") {
      auto s = parseUnsigned(key, value, 599);
      if (!s) return s.error();
      if (*s < 200) return base::fail(base::Error::kInvalidArgument, "status: must be in [200, 599]");
      next.status = *s;
    } else if (key == "latency" || key == "latency_jitter") {
      auto ms = parseUnsigned(key, value, 600000);
      if (!ms) return ms.error();
      (key == "latency" ? next.latency_ms : next.latency_jitter_ms) = *ms;
    } else if (key == "health") {
      auto h = parseHealthMode(value);
      if (!h) return h.error();
      next.health = *h;
    } else if (key == "crash") {
      want_crash = value == "1" || value == "true";
    } else {
      return base::fail(base::Error::kInvalidArgument, "unknown knob '" + key + "'");
    }
  }
  knobs_ = next;
  crash = want_crash;
  return base::Status::ok();
}

FaultDecision FaultState::decide(std::string_view method) {
  ++requests_;
  ++by_method_[std::string(method)];
  FaultDecision d;
  // Always draw all three numbers so the sequence a seed gives does not
  // depend on which knobs are set (a run with reset=0 and one with reset=0.1
  // see the same failure draws).
  const double r_reset = uniform();
  const double r_fail = uniform();
  const double r_jitter = uniform();
  int64_t delay = knobs_.latency_ms;
  if (knobs_.latency_jitter_ms > 0) {
    const int64_t span = 2 * static_cast<int64_t>(knobs_.latency_jitter_ms) + 1;
    delay += static_cast<int64_t>(r_jitter * static_cast<double>(span)) - knobs_.latency_jitter_ms;
  }
  d.delay = std::chrono::milliseconds(delay < 0 ? 0 : delay);
  if (r_reset < knobs_.reset) {
    d.action = FaultDecision::Action::kReset;
    ++reset_;
  } else if (r_fail < knobs_.fail) {
    d.action = FaultDecision::Action::kFail;
    d.status = knobs_.status;
    ++failed_;
  }
  return d;
}

std::string FaultState::knobsJson() const {
  return "{\"fail\": " + formatDouble(knobs_.fail) + ", \"status\": " + std::to_string(knobs_.status) +
         ", \"latency\": " + std::to_string(knobs_.latency_ms) +
         ", \"latency_jitter\": " + std::to_string(knobs_.latency_jitter_ms) +
         ", \"reset\": " + formatDouble(knobs_.reset) + ", \"health\": \"" +
         std::string(healthModeName(knobs_.health)) + "\"}\n";
}

std::string FaultState::statsJson() const {
  std::string methods;
  for (const auto& [method, count] : by_method_) {
    if (!methods.empty()) methods += ", ";
    // Methods are HTTP tokens (no quotes or backslashes), safe in a JSON string.
    methods += "\"" + method + "\": " + std::to_string(count);
  }
  return "{\"requests\": " + std::to_string(requests_) + ", \"failed\": " + std::to_string(failed_) +
         ", \"reset\": " + std::to_string(reset_) + ", \"by_method\": {" + methods + "}}\n";
}

}  // namespace remora::echo
