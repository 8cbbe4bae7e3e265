// Counts every allocation a test binary makes, so a test can prove a hot path
// (route matching, host picking) allocates nothing. It replaces the global
// operator new/delete: include it from exactly one source file of a test
// binary. ASan owns operator new (and flags new/free pairs), so under ASan
// the count is off and kCountsAllocations says so.
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace remora::testing {
inline std::atomic<long> g_allocations{0};
}  // namespace remora::testing

#if defined(__SANITIZE_ADDRESS__)
namespace remora::testing {
constexpr bool kCountsAllocations = false;
}  // namespace remora::testing
#else
namespace remora::testing {
constexpr bool kCountsAllocations = true;
}  // namespace remora::testing
// These replace the global operators, so malloc/free do pair up; GCC 12 at
// -O2 cannot see that and warns about every inlined delete.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  remora::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif
