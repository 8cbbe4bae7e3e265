#include "proxy/net/dispatcher.h"

#include <csignal>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "tests/unit/net/loop_fixture.h"

using namespace std::chrono_literals;
using remora::net::DeferredDeletable;
using remora::net::Dispatcher;
using remora::net::TimerPtr;
using remora::net::testing::LoopFixture;

namespace {

class Tracked : public DeferredDeletable {
 public:
  explicit Tracked(bool* destroyed) : destroyed_(destroyed) {}
  ~Tracked() override { *destroyed_ = true; }

 private:
  bool* destroyed_;
};

}  // namespace

TEST_CASE_METHOD(LoopFixture, "a timer fires once after its timeout", "[net][dispatcher]") {
  int fired = 0;
  TimerPtr timer = dispatcher().createTimer([&] { ++fired; });
  auto start = std::chrono::steady_clock::now();
  timer->enable(20ms);
  CHECK(timer->enabled());
  REQUIRE(runUntil([&] { return fired > 0; }));
  CHECK(std::chrono::steady_clock::now() - start >= 10ms);
  CHECK_FALSE(timer->enabled());
  runFor(40ms);
  CHECK(fired == 1);
}

TEST_CASE_METHOD(LoopFixture, "a disabled timer does not fire", "[net][dispatcher]") {
  bool fired = false;
  TimerPtr timer = dispatcher().createTimer([&] { fired = true; });
  timer->enable(10ms);
  timer->disable();
  CHECK_FALSE(timer->enabled());
  runFor(50ms);
  CHECK_FALSE(fired);
}

TEST_CASE_METHOD(LoopFixture, "re-enabling a timer pushes its deadline out", "[net][dispatcher]") {
  int fired = 0;
  TimerPtr timer = dispatcher().createTimer([&] { ++fired; });
  timer->enable(10ms);
  timer->enable(200ms);
  runFor(60ms);
  CHECK(fired == 0);
  timer->enable(0ms);
  REQUIRE(runUntil([&] { return fired == 1; }));
}

TEST_CASE_METHOD(LoopFixture, "a timer may be destroyed inside its own callback", "[net][dispatcher]") {
  TimerPtr timer;
  bool fired = false;
  timer = dispatcher().createTimer([&] {
    fired = true;
    timer.reset();
  });
  timer->enable(0ms);
  REQUIRE(runUntil([&] { return fired; }));
  CHECK(timer == nullptr);
}

TEST_CASE_METHOD(LoopFixture, "a live timer counts as a live handle until it is destroyed", "[net][dispatcher]") {
  CHECK(dispatcher().liveHandleCount() == 0);
  TimerPtr timer = dispatcher().createTimer([] {});
  CHECK(dispatcher().liveHandleCount() == 1);
  timer.reset();
  // Closing takes one iteration; until then libuv still owns the memory.
  CHECK(dispatcher().liveHandleCount() == 1);
  dispatcher().runOnce();
  CHECK(dispatcher().liveHandleCount() == 0);
}

TEST_CASE_METHOD(LoopFixture, "deferred deletion waits for the end of the loop iteration", "[net][dispatcher]") {
  bool destroyed = false;
  dispatcher().deferredDelete(std::make_unique<Tracked>(&destroyed));
  CHECK_FALSE(destroyed);
  dispatcher().runOnce();
  CHECK(destroyed);
}

TEST_CASE_METHOD(LoopFixture, "an object deferred from a timer callback dies in that iteration",
                 "[net][dispatcher]") {
  bool destroyed = false;
  bool destroyed_inside_callback = true;
  TimerPtr timer = dispatcher().createTimer([&] {
    dispatcher().deferredDelete(std::make_unique<Tracked>(&destroyed));
    destroyed_inside_callback = destroyed;
  });
  timer->enable(0ms);
  // One blocking iteration: without the idle handle the poll phase would wait
  // for another event before the check phase deletes the object.
  auto start = std::chrono::steady_clock::now();
  REQUIRE(runUntil([&] { return destroyed; }, 2s));
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK_FALSE(destroyed_inside_callback);
}

TEST_CASE("the dispatcher destroys pending deferred objects when it dies", "[net][dispatcher]") {
  bool destroyed = false;
  {
    Dispatcher dispatcher;
    dispatcher.deferredDelete(std::make_unique<Tracked>(&destroyed));
  }
  CHECK(destroyed);
}

TEST_CASE("post from another thread runs every closure on the loop thread in order", "[net][dispatcher]") {
  Dispatcher dispatcher;
  std::vector<int> seen;                 // written only on the loop thread
  std::vector<std::thread::id> threads;  // written only on the loop thread
  constexpr int kPosts = 1000;
  std::thread poster([&dispatcher, &seen, &threads] {
    for (int i = 0; i < kPosts; ++i) {
      dispatcher.post([i, &seen, &threads] {
        seen.push_back(i);
        threads.push_back(std::this_thread::get_id());
      });
    }
    dispatcher.exit();
  });
  dispatcher.run();
  poster.join();
  REQUIRE(seen.size() == kPosts);
  for (int i = 0; i < kPosts; ++i) REQUIRE(seen[i] == i);
  for (auto id : threads) REQUIRE(id == std::this_thread::get_id());
  CHECK(dispatcher.liveHandleCount() == 0);
}

TEST_CASE("exit from another thread makes run return", "[net][dispatcher]") {
  Dispatcher dispatcher;
  TimerPtr keep_alive = dispatcher.createTimer([] {});
  keep_alive->enable(std::chrono::hours(1));
  std::atomic<bool> returned{false};
  std::thread runner([&] {
    dispatcher.run();
    returned = true;
  });
  std::this_thread::sleep_for(20ms);
  CHECK_FALSE(returned);
  dispatcher.exit();
  runner.join();
  CHECK(returned);
  CHECK_FALSE(dispatcher.isThreadSafe());  // bound to the runner thread
  keep_alive.reset();
}

TEST_CASE_METHOD(LoopFixture, "a closure posted on the loop thread may post again", "[net][dispatcher]") {
  int runs = 0;
  dispatcher().post([&] {
    ++runs;
    dispatcher().post([&] { ++runs; });
  });
  REQUIRE(runUntil([&] { return runs == 2; }));
  CHECK(dispatcher().isThreadSafe());
}

TEST_CASE_METHOD(LoopFixture, "now follows the loop's monotonic clock", "[net][dispatcher]") {
  Dispatcher::MonotonicTime before = dispatcher().now();
  CHECK(std::chrono::abs(before - std::chrono::steady_clock::now()) < 1s);
  runFor(30ms);
  CHECK(dispatcher().now() - before >= 25ms);
}

TEST_CASE_METHOD(LoopFixture, "a signal handler runs on the loop thread", "[net][dispatcher]") {
  int calls = 0;
  auto handler = dispatcher().listenForSignal(SIGUSR2, [&] { ++calls; });
  std::raise(SIGUSR2);
  REQUIRE(runUntil([&] { return calls == 1; }));
}
