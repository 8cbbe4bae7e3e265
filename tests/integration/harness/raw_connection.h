// A blocking TCP client with exact control over the bytes on the wire: for
// request-smuggling, half-close and malformed-input tests where a real client
// would "fix" the request. Owned and used by one test thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "xds/base/status.h"

namespace remora::harness {

// Splits "127.0.0.1:80" or "[::1]:80" into host and port.
base::Result<std::pair<std::string, uint16_t>> splitHostPort(std::string_view host_port);

class RawConnection {
 public:
  // Connects to a numeric "ip:port" (IPv4, or IPv6 in brackets).
  static base::Result<RawConnection> connect(std::string_view host_port,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(5));

  ~RawConnection();
  RawConnection(RawConnection&& other) noexcept;
  RawConnection& operator=(RawConnection&& other) noexcept;
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Writes all of `bytes` (fails if the peer closed or reset).
  base::Status send(std::string_view bytes);

  // Waits up to `timeout` for the first byte, then returns everything that is
  // already readable without waiting further. "" when nothing came (check
  // peerClosed() to tell a close from silence).
  std::string readAvailable(std::chrono::milliseconds timeout);

  // Reads until `marker` has been received (it is included), the peer closes,
  // or `timeout` passes; returns what was read either way. Bytes after the
  // marker that arrived in the same read are kept for the next read.
  std::string readUntil(std::string_view marker, std::chrono::milliseconds timeout);

  // Reads until the peer closes (or resets) or `timeout` passes.
  std::string readUntilClose(std::chrono::milliseconds timeout);

  // shutdown(SHUT_WR): tells the peer we are done sending (half-close).
  base::Status shutdownWrite();

  // Closes now. With `reset`, SO_LINGER 0 makes it an RST instead of a FIN.
  void close(bool reset = false);

  // The peer sent FIN or RST (any read saw end of stream).
  bool peerClosed() const { return peer_closed_; }
  // The end of stream was an RST (ECONNRESET).
  bool peerReset() const { return peer_reset_; }

 private:
  explicit RawConnection(int fd) : fd_(fd) {}
  // One poll+recv of at most 64 KiB into `out`; false on timeout or EOF.
  bool readSome(std::string& out, std::chrono::milliseconds timeout);

  int fd_ = -1;
  bool peer_closed_ = false;
  bool peer_reset_ = false;
  // Bytes read past a readUntil() marker.
  std::string pending_;
};

}  // namespace remora::harness
