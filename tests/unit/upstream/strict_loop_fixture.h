// StrictLoopFixture: LoopFixture (every handle closed at the end) whose
// runUntil() and runFor() never sleep past what they wait for.
//
// LoopFixture arms its deadline timer from the loop's cached time and then
// calls uv_run(UV_RUN_ONCE) until done. libuv runs due timers at the start of
// an iteration and only then polls for I/O; so when that timer is already due
// (the cached time is stale after slow test code, or the process was
// descheduled), it fires first and the poll that follows blocks until some
// I/O arrives: forever when none does (seen as a hung runFor(10ms) with
// `elapsed == true` under a loaded ctest -j4). The same happens when a product
// timer makes done() true at the start of an iteration: the wait then lasts
// until the deadline. Here the clock is refreshed before arming, and a 5 ms
// tick stops each iteration so done() is checked again.
//
// TODO(test-fixture): fold into tests/unit/net/loop_fixture.h (owned by the
// net module) and drop this header.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>

#include "tests/unit/net/loop_fixture.h"

namespace remora::testing {

class StrictLoopFixture : public net::testing::LoopFixture {
 public:
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    uv_loop_t* loop = dispatcher().uvLoop();
    uv_update_time(loop);
    bool timed_out = false;
    net::TimerPtr timer = dispatcher().createTimer([&] {
      timed_out = true;
      uv_stop(loop);
    });
    timer->enable(deadline);
    net::TimerPtr tick;
    tick = dispatcher().createTimer([&] {
      uv_stop(loop);
      tick->enable(kTick);
    });
    tick->enable(kTick);
    while (!done() && !timed_out) uv_run(loop, UV_RUN_ONCE);
    return done();
  }

  void runFor(std::chrono::milliseconds duration) {
    uv_loop_t* loop = dispatcher().uvLoop();
    uv_update_time(loop);
    bool elapsed = false;
    net::TimerPtr timer = dispatcher().createTimer([&] {
      elapsed = true;
      uv_stop(loop);
    });
    timer->enable(duration);
    while (!elapsed) uv_run(loop, UV_RUN_ONCE);
  }

  // Brings the loop's cached clock up to date. libuv arms every timer from
  // it, so code that arms a product timer outside a loop callback (a test
  // calling the router directly) must refresh it first, or the timer fires
  // early by however long the test ran since the last iteration.
  void refreshClock() { uv_update_time(dispatcher().uvLoop()); }

 private:
  static constexpr std::chrono::milliseconds kTick{5};
};

}  // namespace remora::testing
