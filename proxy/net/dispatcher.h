// Dispatcher: one thread's event loop (a uv_loop_t) and the services every
// component on that thread uses: timers, posting work from other threads, and
// deferred deletion.
//
// Thread: created on any thread, then used only from the thread that calls
// run(), except post() and exit(), which are safe from any thread.
// libuv types stay inside proxy/net; other modules see only this class.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

struct uv_loop_s;
struct uv_async_s;
struct uv_check_s;
struct uv_idle_s;
struct uv_timer_s;
struct uv_signal_s;

namespace remora::net {

// Something whose destruction must wait until the current loop iteration ends,
// because it may still be on the call stack (a connection closing inside its
// own read callback).
class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};

// A one-shot or re-armed timer. Owned by its creator; destroying it cancels it,
// also from inside its own callback. Worker-local: use only on the
// dispatcher's thread.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void enable(std::chrono::milliseconds timeout) = 0;  // (re)arms; fires once
  virtual void disable() = 0;
  virtual bool enabled() const = 0;
};
using TimerPtr = std::unique_ptr<Timer>;

// Delivers a POSIX signal on the dispatcher's thread (main thread only:
// SIGTERM drain, SIGINT).
class SignalHandler {
 public:
  virtual ~SignalHandler() = default;
};
using SignalHandlerPtr = std::unique_ptr<SignalHandler>;

// Something that wants one call at the end of the current loop iteration,
// after every I/O callback of the iteration has run. Connections use it to
// coalesce the writes one event produces (response headers, then body) into
// one syscall, at no cost in latency.
class IterationEndTask {
 public:
  virtual ~IterationEndTask() = default;
  virtual void onIterationEnd() = 0;

 private:
  friend class Dispatcher;
  bool scheduled_ = false;
};

class Dispatcher {
 public:
  using MonotonicTime = std::chrono::steady_clock::time_point;

  // Also ignores SIGPIPE process-wide (idempotent): socket writes must fail
  // with EPIPE rather than kill the process.
  Dispatcher();
  // Closes the loop's internal handles and runs the loop until every handle is
  // closed. All Timers, Connections and Listeners made on this dispatcher must
  // be destroyed first; the destructor asserts uv_loop_close() returns 0.
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Runs the loop until exit() is called. Binds the dispatcher to the calling thread.
  void run();
  // Runs one non-blocking iteration (tests drive loops step by step).
  void runOnce();
  // Makes run() return after the current iteration. Any thread.
  void exit();

  // Runs `fn` on this dispatcher's thread, soon, in posting order. Any thread.
  // The closure must not capture objects owned by another thread (post values
  // or shared_ptr<const T> instead).
  void post(std::function<void()> fn);

  // Destroys `object` at the end of the current loop iteration (after this
  // iteration's I/O callbacks). Loop thread only.
  void deferredDelete(std::unique_ptr<DeferredDeletable> object);

  // Calls task.onIterationEnd() once at the end of this iteration (before
  // deferred deletions). Scheduling twice is one call. A task must cancel
  // before it dies. Loop thread only.
  void scheduleIterationEnd(IterationEndTask& task);
  void cancelIterationEnd(IterationEndTask& task);

  TimerPtr createTimer(std::function<void()> callback);
  SignalHandlerPtr listenForSignal(int signum, std::function<void()> callback);

  // The loop's cached time, updated once per iteration.
  MonotonicTime now() const;
  // The loop's wall clock, for logs and headers only.
  std::chrono::system_clock::time_point systemNow() const { return std::chrono::system_clock::now(); }

  // True on the thread that runs this dispatcher (or before run() is called).
  bool isThreadSafe() const;

  // Per-dispatcher scratch space for socket reads (64 KiB), shared by every
  // connection on this thread so an idle connection holds no read buffer.
  char* readScratch() { return read_scratch_.get(); }
  static constexpr size_t kReadScratchSize = 64 * 1024;

  uv_loop_s* uvLoop() { return loop_.get(); }  // for proxy/net internals and its tests only

  // Handles on the loop other than the dispatcher's own, counting ones still
  // closing. Zero once every Timer, Connection and Listener is destroyed and
  // the loop has run once more; loop tests assert it before tearing down.
  size_t liveHandleCount() const;

 private:
  friend struct DispatcherTrampolines;
  void drainPosted();
  void drainDeferred();

  std::unique_ptr<uv_loop_s> loop_;
  uv_async_s* async_ = nullptr;   // wakes the loop for post() and exit()
  uv_check_s* check_ = nullptr;   // runs deferred deletion after each iteration's I/O
  // Active only while deferred_ is non-empty: an active idle handle makes the
  // poll phase non-blocking, so a deletion requested from a timer callback
  // still happens in this iteration's check phase instead of after the next event.
  uv_idle_s* idle_ = nullptr;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;   // guarded by posted_mutex_
  bool exit_requested_ = false;                  // guarded by posted_mutex_
  std::vector<std::function<void()>> running_;  // loop thread: the batch being run, kept for its capacity
  std::vector<std::unique_ptr<DeferredDeletable>> deferred_;
  std::vector<IterationEndTask*> iteration_tasks_;
  std::vector<IterationEndTask*> running_tasks_;
  std::vector<std::unique_ptr<DeferredDeletable>> deleting_;  // loop thread: the batch being destroyed
  std::unique_ptr<char[]> read_scratch_;
  std::atomic<std::thread::id> thread_id_{};  // set by run(); read by isThreadSafe() on any thread
};

}  // namespace remora::net
