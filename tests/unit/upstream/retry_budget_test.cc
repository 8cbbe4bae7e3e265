// RetryBudget on a fake clock: the share of requests, the per-second
// reserve, and how old requests and retries leave the window.
#include "proxy/upstream/retry_budget.h"

#include <catch2/catch.hpp>

namespace upstream = remora::upstream;
namespace model = remora::xds::resources;
using namespace std::chrono_literals;

namespace {
model::RetryBudget config(double percent, uint32_t per_second) {
  model::RetryBudget c;
  c.budget_percent = percent;
  c.min_retries_per_second = per_second;
  c.window = 10s;
  return c;
}
const upstream::RetryBudget::TimePoint t0 = upstream::RetryBudget::TimePoint{} + 1000h;
}  // namespace

TEST_CASE("with no reserve, retries are a fifth of the requests in the window", "[budget]") {
  upstream::RetryBudget budget(config(20, 0));
  for (int i = 0; i < 100; ++i) budget.onRequest(t0);
  int allowed = 0;
  for (int i = 0; i < 50; ++i) allowed += budget.tryRetry(t0 + 1s) ? 1 : 0;
  CHECK(allowed == 20);
}

TEST_CASE("the reserve allows min_retries_per_second for each second of the window, even without requests",
          "[budget]") {
  upstream::RetryBudget budget(config(20, 3));
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += budget.tryRetry(t0) ? 1 : 0;
  CHECK(allowed == 30);
}

TEST_CASE("requests and retries older than the window stop counting", "[budget]") {
  upstream::RetryBudget budget(config(20, 0));
  for (int i = 0; i < 100; ++i) budget.onRequest(t0);
  int first = 0;
  for (int i = 0; i < 50; ++i) first += budget.tryRetry(t0) ? 1 : 0;
  CHECK(first == 20);
  // Eleven seconds on, both the requests and the retries have expired.
  CHECK(budget.remaining(t0 + 11s) == Approx(0.0));
  CHECK_FALSE(budget.tryRetry(t0 + 11s));
  for (int i = 0; i < 10; ++i) budget.onRequest(t0 + 11s);
  CHECK(budget.tryRetry(t0 + 11s));
  CHECK(budget.tryRetry(t0 + 11s));
  CHECK_FALSE(budget.tryRetry(t0 + 11s));
}

TEST_CASE("a steady failing stream is held to the budget over a long run", "[budget]") {
  upstream::RetryBudget budget(config(20, 3));
  // 100 requests a second for 60 s, each wanting two retries.
  uint64_t requests = 0;
  uint64_t retries = 0;
  for (int ms = 0; ms < 60000; ms += 10) {
    const auto now = t0 + std::chrono::milliseconds(ms);
    budget.onRequest(now);
    ++requests;
    for (int r = 0; r < 2; ++r) retries += budget.tryRetry(now) ? 1 : 0;
  }
  // At most 20 % of requests plus the reserve of each 10 s window.
  CHECK(retries <= requests / 5 + 6 * 30);
  CHECK(retries >= requests / 5);
}
