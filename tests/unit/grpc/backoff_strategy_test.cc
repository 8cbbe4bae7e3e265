#include "proxy/grpc/backoff_strategy.h"

#include <catch2/catch.hpp>
#include <vector>

namespace remora::grpc {
namespace {

using std::chrono::milliseconds;

// Randomness the test controls: returns the queued values, then `fallback`.
struct FakeRandom {
  std::vector<uint64_t> values;
  uint64_t fallback = 0;
  size_t next = 0;
  std::function<uint64_t()> fn() {
    return [this] { return next < values.size() ? values[next++] : fallback; };
  }
};

TEST_CASE("with the lowest random draw each delay is half the ceiling, which doubles up to the cap",
          "[grpc][backoff]") {
  FakeRandom r;
  BackoffStrategy b(milliseconds(500), milliseconds(30000), r.fn());
  std::vector<int64_t> got;
  for (int i = 0; i < 10; ++i) got.push_back(b.next().count());
  CHECK(got == std::vector<int64_t>{250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000});
}

TEST_CASE("with the highest random draw each delay is the ceiling, never above the cap", "[grpc][backoff]") {
  FakeRandom r;
  r.fallback = ~uint64_t{0};
  BackoffStrategy b(milliseconds(500), milliseconds(30000), r.fn());
  std::vector<int64_t> got;
  // ceiling - floor + 1 values: UINT64_MAX % (span + 1) == span exactly when
  // span + 1 divides 2^64; check the bounds instead of the exact value.
  for (int i = 0; i < 12; ++i) got.push_back(b.next().count());
  const std::vector<int64_t> ceilings = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000, 30000};
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("attempt " << i);
    CHECK(got[i] >= ceilings[i] / 2);
    CHECK(got[i] <= ceilings[i]);
  }
}

TEST_CASE("the random draw picks a point inside [ceiling/2, ceiling]", "[grpc][backoff]") {
  FakeRandom r;
  r.values = {0, 250, 251, 100};
  BackoffStrategy b(milliseconds(500), milliseconds(30000), r.fn());
  CHECK(b.next() == milliseconds(250));         // ceiling 500: 250 + 0
  CHECK(b.next() == milliseconds(500 + 250));   // ceiling 1000: 500 + 250 % 501
  CHECK(b.next() == milliseconds(1000 + 251));  // ceiling 2000: 1000 + 251 % 1001
  CHECK(b.ceiling() == milliseconds(4000));
  CHECK(b.next() == milliseconds(2000 + 100));
}

TEST_CASE("every delay stays within its bounds over many random draws", "[grpc][backoff]") {
  uint64_t state = 88172645463325252ull;
  auto xorshift = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  BackoffStrategy b(milliseconds(500), milliseconds(30000), xorshift);
  int64_t ceiling = 500;
  for (int i = 0; i < 1000; ++i) {
    const int64_t d = b.next().count();
    REQUIRE(d >= ceiling / 2);
    REQUIRE(d <= ceiling);
    ceiling = std::min<int64_t>(ceiling * 2, 30000);
    if (i % 50 == 49) {
      b.reset();
      ceiling = 500;
    }
  }
}

TEST_CASE("reset brings the ceiling back to the base", "[grpc][backoff]") {
  FakeRandom r;
  BackoffStrategy b(milliseconds(500), milliseconds(30000), r.fn());
  for (int i = 0; i < 5; ++i) b.next();
  CHECK(b.ceiling() == milliseconds(16000));
  b.reset();
  CHECK(b.ceiling() == milliseconds(500));
  CHECK(b.next() == milliseconds(250));
}

TEST_CASE("a zero base or a max below the base still gives positive, non-shrinking delays", "[grpc][backoff]") {
  FakeRandom r;
  BackoffStrategy zero(milliseconds(0), milliseconds(0), r.fn());
  CHECK(zero.next() == milliseconds(1));
  CHECK(zero.next() == milliseconds(1));
  BackoffStrategy inverted(milliseconds(1000), milliseconds(10), r.fn());
  CHECK(inverted.next() == milliseconds(500));
  CHECK(inverted.next() == milliseconds(500));
  CHECK(inverted.ceiling() == milliseconds(1000));
}

TEST_CASE("a cap that is not a power-of-two multiple of the base is reached exactly", "[grpc][backoff]") {
  FakeRandom r;
  r.fallback = ~uint64_t{0};
  BackoffStrategy b(milliseconds(300), milliseconds(1000), r.fn());
  std::vector<int64_t> ceilings;
  for (int i = 0; i < 5; ++i) {
    ceilings.push_back(b.ceiling().count());
    b.next();
  }
  CHECK(ceilings == std::vector<int64_t>{300, 600, 1000, 1000, 1000});
}

}  // namespace
}  // namespace remora::grpc
