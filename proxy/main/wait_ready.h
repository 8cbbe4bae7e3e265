// `remora-proxy wait-ready`: blocks until the local proxy's admin endpoint
// answers GET /ready with 200, so a pod can hold its app container back
// until the sidecar serves (a postStart hook, docs/lifecycle.md).
//
// A small blocking HTTP/1.1 client over plain sockets: it runs in its own
// short-lived process, before and without any event loop, so libuv would
// only add weight. Called from main() on the main thread; nothing here is
// shared.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "xds/base/status.h"

namespace remora::server {

// One answer to GET /ready: the status code and body, or why there was none.
struct ReadyProbe {
  int status = 0;     // 0 when no HTTP answer came (see error)
  std::string body;
  std::string error;  // "connect 127.0.0.1:15000: Connection refused", ...
};

// Sends one GET /ready to `address` ("ip:port", "[v6]:port" or
// "host:port") and reads the whole answer, within `timeout`.
ReadyProbe probeReady(const std::string& address, std::chrono::milliseconds timeout);

// Splits "host:port" / "[v6]:port"; fails with a one-line reason.
base::Result<std::pair<std::string, uint16_t>> splitHostPort(const std::string& address);

struct WaitReadyOptions {
  std::string admin_address = "127.0.0.1:15000";
  std::chrono::milliseconds timeout{60000};
  // Between probes: often enough that the app starts within a few hundred
  // ms of the sidecar, rare enough to cost the admin endpoint nothing.
  std::chrono::milliseconds interval{200};
};

// Polls until /ready answers 200 (prints one line to `out`, returns 0) or
// the timeout passes (prints the last /ready body, or the last connect
// error, to `err`, returns 1).
int waitReady(const WaitReadyOptions& options, std::FILE* out, std::FILE* err);

}  // namespace remora::server
