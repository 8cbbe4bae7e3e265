// stableHash: the 64-bit hash behind consistent hashing (ring hash, Maglev)
// and the route hash policies (router::computeHash).
//
// Pure functions, any thread. The value must never change between releases or
// differ between machines: two sidecars (and every worker of one) must send
// the same key to the same host, and a rollout must not reshuffle every
// session. So it is spelled out here rather than taken from std::hash, whose
// value is implementation-defined.
//
// FNV-1a over the bytes, then the MurmurHash3 64-bit finaliser: FNV alone
// barely changes the high bits for keys that differ in their last byte
// ("10.0.0.1:80_1" vs "_2"), and both balancers rely on the high bits.
#pragma once

#include <cstdint>
#include <string_view>

namespace remora::upstream {

// Spreads every input bit over every output bit (MurmurHash3's fmix64).
constexpr uint64_t mixBits(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// `seed` gives independent hash functions (Maglev needs two per host).
constexpr uint64_t stableHash(std::string_view data, uint64_t seed = 0) {
  constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
  constexpr uint64_t kFnvPrime = 0x100000001b3ull;
  uint64_t h = kFnvOffset ^ mixBits(seed + 0x9e3779b97f4a7c15ull);
  for (char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return mixBits(h ^ static_cast<uint64_t>(data.size()));
}

}  // namespace remora::upstream
