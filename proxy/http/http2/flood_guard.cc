#include "proxy/http/http2/flood_guard.h"

#include <algorithm>
#include <utility>

namespace remora::http::http2 {
namespace {

// The decoded limit plus as much again (at least 16 KiB): HPACK never makes a
// block much larger than its decoded list, so a peer a little over the limit
// still gets a 431 for its stream, while anything far beyond it is cut off
// with the connection before we buffer it.
size_t headerBlockLimit(uint32_t max_request_headers_kb) {
  const size_t limit = static_cast<size_t>(max_request_headers_kb) * 1024;
  return limit + std::max<size_t>(limit, 16 * 1024);
}

}  // namespace

FloodGuard::FloodGuard(const CodecLimits& limits, SteadyClock clock)
    : clock_(std::move(clock)),
      max_resets_per_second_(limits.max_resets_per_second),
      max_header_block_bytes_(headerBlockLimit(limits.max_request_headers_kb)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

bool FloodGuard::onPeerReset() {
  // A fixed one-second window rather than a token bucket: the limit then reads
  // exactly as configured ("N per second") and costs two fields.
  auto now = clock_();
  if (!window_started_ || now - window_start_ >= std::chrono::seconds(1)) {
    window_started_ = true;
    window_start_ = now;
    resets_in_window_ = 0;
  }
  if (++resets_in_window_ > max_resets_per_second_) {
    reason_ = "rapid reset: too many RST_STREAM frames per second";
    return false;
  }
  return true;
}

bool FloodGuard::onFrameHeader(uint8_t type, size_t length) {
  if (type == kFrameHeaders) {
    header_block_bytes_ = length;
  } else if (type == kFrameContinuation) {
    header_block_bytes_ += length;
  } else {
    return true;
  }
  if (header_block_bytes_ > max_header_block_bytes_) {
    reason_ = "header block flood: HEADERS and CONTINUATION frames over the size limit";
    return false;
  }
  return true;
}

}  // namespace remora::http::http2
