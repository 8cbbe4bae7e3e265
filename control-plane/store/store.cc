#include "control-plane/store/store.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>

namespace remora::cp::store {

std::string describeKey(const ObjectKey& key) {
  std::string out = key.kind;
  out += ' ';
  if (!key.namespace_.empty()) {
    out += key.namespace_;
    out += '/';
  }
  out += key.name;
  return out;
}

int64_t systemNowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string randomUuid() {
  std::array<unsigned char, 16> bytes{};
  size_t filled = 0;
  while (filled < bytes.size()) {
    const ssize_t n = getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    filled += static_cast<size_t>(n);
  }
  if (filled < bytes.size()) {
    // getrandom cannot fail on Linux >= 3.17 once the pool is seeded; if it
    // ever does, a uid only has to be unique, not secret.
    std::mt19937_64 fallback(static_cast<uint64_t>(systemNowUnixMs()) ^ reinterpret_cast<uintptr_t>(&bytes));
    for (auto& byte : bytes) byte = static_cast<unsigned char>(fallback());
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof(out),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
                bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
  return out;
}

}  // namespace remora::cp::store
