// Test backends that are independent of Remora's codecs (Python's http.server,
// a Python TCP echo, gRPC C++), started as child processes that bind port 0
// on loopback and report their port through a file. Test thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/integration/harness/process.h"
#include "tests/integration/harness/temp_dir.h"
#include "xds/base/status.h"

namespace remora::harness {

class BackendProcess {
 public:
  // Starts `args` with "--port-file FILE" appended (FILE in a private temp
  // dir) and waits for the port. Fails if the process exits first.
  static base::Result<BackendProcess> start(std::vector<std::string> args, std::string name,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // tests/integration/backends/http_echo.py.
  static base::Result<BackendProcess> httpEcho();
  // tests/integration/backends/tcp_echo.py; `server_first` sends a banner
  // line before reading anything.
  static base::Result<BackendProcess> tcpEcho(bool server_first = false);
  // grpc_echo_server from the build tree.
  static base::Result<BackendProcess> grpcEcho();
  // examples/apps/echo's remora-echo (the fault-knob app) on loopback,
  // answering as `name` (x-served-by), with extra `flags`.
  static base::Result<BackendProcess> remoraEcho(const std::string& name, std::vector<std::string> flags = {});

  uint16_t port() const { return port_; }
  // "127.0.0.1:PORT".
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  Process& process() { return process_; }

 private:
  BackendProcess(TempDir dir, Process process, uint16_t port)
      : dir_(std::move(dir)), process_(std::move(process)), port_(port) {}

  // Declared first so it outlives the process writing into it.
  TempDir dir_;
  Process process_;
  uint16_t port_ = 0;
};

// The number after "key": in a flat JSON object (remora-echo's /stats and
// /fault); -1 when absent.
long jsonNumber(std::string_view json, std::string_view key);

// The body http_echo.py's /bytes/N serves: byte i is kBytesAlphabet[i % 62].
// The odd period makes a lost or repeated 64 KiB piece visible.
std::string bytesPattern(size_t size);

}  // namespace remora::harness
