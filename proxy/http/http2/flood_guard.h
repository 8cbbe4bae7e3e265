// FloodGuard: the HTTP/2 abuse counters that nghttp2 does not keep for us, in
// one place so each defence has one threshold and one test. It knows frames
// only by type and length, never nghttp2 types, so it is testable alone.
//
// Owned by one Http2Connection; worker-local, single-threaded. The clock is
// injected so the rapid-reset window can be driven by a fake clock in tests.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "proxy/http/codec.h"

namespace remora::http::http2 {

using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;

class FloodGuard {
 public:
  // HTTP/2 frame types FloodGuard cares about (RFC 9113 section 6).
  static constexpr uint8_t kFrameHeaders = 0x1;
  static constexpr uint8_t kFrameContinuation = 0x9;

  FloodGuard(const CodecLimits& limits, SteadyClock clock);

  // A RST_STREAM arrived from the client. False once more than
  // max_resets_per_second arrived within one second (CVE-2023-44487: opening
  // and cancelling streams costs the peer nothing and us a request each).
  bool onPeerReset();

  // A frame header arrived. False when the encoded header block (HEADERS plus
  // its CONTINUATIONs) grows far past the header list limit we advertise
  // (twice it, or it plus 16 KiB if more): refusing here keeps a
  // CONTINUATION stream from making the HPACK decoder work without end.
  bool onFrameHeader(uint8_t type, size_t length);

  // Why the last check failed, for the dispatch() failure message.
  std::string_view reason() const { return reason_; }

  size_t maxHeaderBlockBytes() const { return max_header_block_bytes_; }

 private:
  SteadyClock clock_;
  uint32_t max_resets_per_second_;
  size_t max_header_block_bytes_;
  std::chrono::steady_clock::time_point window_start_{};
  uint32_t resets_in_window_ = 0;
  bool window_started_ = false;
  size_t header_block_bytes_ = 0;
  std::string_view reason_;
};

}  // namespace remora::http::http2
