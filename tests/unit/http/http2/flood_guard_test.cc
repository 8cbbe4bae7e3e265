#include "proxy/http/http2/flood_guard.h"

#include <catch2/catch.hpp>

namespace remora::http::http2 {
namespace {

TEST_CASE("flood guard allows max resets per second and trips on the next", "[http2][flood]") {
  CodecLimits limits;
  limits.max_resets_per_second = 3;
  std::chrono::steady_clock::time_point now{};
  FloodGuard guard(limits, [&] { return now; });
  CHECK(guard.onPeerReset());
  CHECK(guard.onPeerReset());
  CHECK(guard.onPeerReset());
  CHECK_FALSE(guard.onPeerReset());
  CHECK(guard.reason().find("rapid reset") != std::string_view::npos);
}

TEST_CASE("flood guard starts a new reset window after a second", "[http2][flood]") {
  CodecLimits limits;
  limits.max_resets_per_second = 2;
  std::chrono::steady_clock::time_point now{};
  FloodGuard guard(limits, [&] { return now; });
  for (int second = 0; second < 5; ++second) {
    CHECK(guard.onPeerReset());
    CHECK(guard.onPeerReset());
    now += std::chrono::seconds(1);
  }
  now += std::chrono::milliseconds(999);
  CHECK(guard.onPeerReset());
  CHECK(guard.onPeerReset());
  now += std::chrono::milliseconds(500);  // within the window begun 500 ms ago
  CHECK_FALSE(guard.onPeerReset());
}

TEST_CASE("flood guard bounds the encoded header block across CONTINUATION frames", "[http2][flood]") {
  CodecLimits limits;
  limits.max_request_headers_kb = 64;  // 128 KiB encoded
  FloodGuard guard(limits, nullptr);
  CHECK(guard.maxHeaderBlockBytes() == 128 * 1024);
  CHECK(guard.onFrameHeader(FloodGuard::kFrameHeaders, 64 * 1024));
  CHECK(guard.onFrameHeader(FloodGuard::kFrameContinuation, 64 * 1024));
  CHECK(guard.onFrameHeader(0x0 /* DATA */, 1000000));
  CHECK_FALSE(guard.onFrameHeader(FloodGuard::kFrameContinuation, 1));
  // A new HEADERS frame starts a new block.
  CHECK(guard.onFrameHeader(FloodGuard::kFrameHeaders, 100 * 1024));
}

TEST_CASE("flood guard leaves at least 16 KiB of slack over a small header limit", "[http2][flood]") {
  CodecLimits limits;
  limits.max_request_headers_kb = 1;
  FloodGuard guard(limits, nullptr);
  CHECK(guard.maxHeaderBlockBytes() == 17 * 1024);
}

}  // namespace
}  // namespace remora::http::http2
