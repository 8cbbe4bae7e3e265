// LoopFixture: a Dispatcher for loop tests that fails the test unless every
// handle is closed when the test ends (and ~Dispatcher then asserts that
// uv_loop_close() returns 0). Use with TEST_CASE_METHOD(LoopFixture, ...);
// objects declared in the test body die before the fixture checks.
#pragma once

#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "proxy/net/dispatcher.h"

namespace remora::net::testing {

class LoopFixture {
 public:
  LoopFixture() : dispatcher_(std::make_unique<Dispatcher>()) {}
  ~LoopFixture() {
    // Closing handles finish on the next iteration; deferred deletions too.
    for (int i = 0; i < 4; ++i) dispatcher_->runOnce();
    size_t live = dispatcher_->liveHandleCount();
    CHECK(live == 0);
    // Leak rather than let ~Dispatcher abort the whole run: the CHECK above
    // already failed this test and names the leak.
    if (live != 0) (void)dispatcher_.release();
  }
  LoopFixture(const LoopFixture&) = delete;
  LoopFixture& operator=(const LoopFixture&) = delete;

  Dispatcher& dispatcher() { return *dispatcher_; }

  // Runs the loop (blocking for events, never spinning) until `done` is true
  // or `deadline` passes. Returns done().
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    bool timed_out = false;
    // uv_stop: a deadline that fires in an iteration's timer phase must not
    // leave that same iteration blocked in poll waiting for I/O that never comes.
    uv_update_time(dispatcher_->uvLoop());
    TimerPtr timer = dispatcher_->createTimer([&] {
      timed_out = true;
      uv_stop(dispatcher_->uvLoop());
    });
    timer->enable(deadline);
    while (!done() && !timed_out) uv_run(dispatcher_->uvLoop(), UV_RUN_ONCE);
    return done();
  }

  // Runs the loop for `duration` whatever happens (to show something does NOT happen).
  void runFor(std::chrono::milliseconds duration) {
    bool elapsed = false;
    uv_update_time(dispatcher_->uvLoop());
    TimerPtr timer = dispatcher_->createTimer([&] {
      elapsed = true;
      uv_stop(dispatcher_->uvLoop());
    });
    timer->enable(duration);
    while (!elapsed) uv_run(dispatcher_->uvLoop(), UV_RUN_ONCE);
  }

 private:
  std::unique_ptr<Dispatcher> dispatcher_;
};

}  // namespace remora::net::testing
