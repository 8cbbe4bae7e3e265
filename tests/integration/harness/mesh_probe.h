// What tests of remora-cp with real sidecars do over and over: run remoractl
// against a control plane, ask through a sidecar's outbound listener which
// echo backend answered, and poll a condition until it holds. Test threads.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/process.h"

namespace remora::harness {

// remoractl --server <cp's API URL> ARGS..., bounded by `timeout`.
CommandResult remoractl(const ControlPlaneProcess& cp, const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = std::chrono::seconds(20));

// GET /echo with Host `host` through `outbound` (a sidecar's outbound
// listener): the port of the echo backend that answered ("server_port"), or
// 0 when none did; the status (-1 without a response) goes to `status`.
int echoPortVia(const std::string& outbound, const std::string& host, int* status = nullptr);

// Calls `done` every `pause` until it holds `in_a_row` times in a row, for at
// most `within`; how long that took, or nullopt.
std::optional<std::chrono::milliseconds> pollUntil(const std::function<bool()>& done,
                                                   std::chrono::milliseconds within, int in_a_row = 1,
                                                   std::chrono::milliseconds pause = std::chrono::milliseconds(10));

}  // namespace remora::harness
