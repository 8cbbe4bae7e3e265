#include "proxy/net/dispatcher.h"

#include <uv.h>

#include <cassert>
#include <csignal>
#include <cstdio>

namespace remora::net {
namespace {

// Iterations the destructor allows for handles to finish closing. Closing
// takes one iteration; more than a few means something is still active
// (a leaked Timer or Connection), and uv_loop_close() will then say so.
constexpr int kShutdownIterations = 16;

template <typename Handle>
uv_handle_t* asHandle(Handle* h) {
  return reinterpret_cast<uv_handle_t*>(h);
}

// Frees a handle allocated with `new Handle` once libuv is done with it. The
// memory must outlive the C++ owner because libuv touches the handle until
// the close callback runs, one loop iteration after uv_close().
template <typename Handle>
void closeAndFree(Handle* handle) {
  handle->data = nullptr;
  uv_close(asHandle(handle), [](uv_handle_t* h) noexcept { delete reinterpret_cast<Handle*>(h); });
}

class UvTimer final : public Timer {
 public:
  UvTimer(uv_loop_t* loop, std::function<void()> callback)
      : callback_(std::move(callback)), handle_(new uv_timer_t) {
    uv_timer_init(loop, handle_);
    handle_->data = this;
  }
  ~UvTimer() override { closeAndFree(handle_); }

  void enable(std::chrono::milliseconds timeout) override {
    uint64_t ms = timeout.count() > 0 ? static_cast<uint64_t>(timeout.count()) : 0;
    uv_timer_start(handle_, &UvTimer::onFire, ms, 0);
  }
  void disable() override { uv_timer_stop(handle_); }
  bool enabled() const override { return uv_is_active(asHandle(handle_)) != 0; }

 private:
  static void onFire(uv_timer_t* handle) noexcept {
    // The owner may destroy the timer inside the callback; nothing touches
    // `self` after the call.
    auto* self = static_cast<UvTimer*>(handle->data);
    if (self != nullptr) self->callback_();
  }

  std::function<void()> callback_;
  uv_timer_t* handle_;
};

class UvSignalHandler final : public SignalHandler {
 public:
  UvSignalHandler(uv_loop_t* loop, int signum, std::function<void()> callback)
      : callback_(std::move(callback)), handle_(new uv_signal_t) {
    uv_signal_init(loop, handle_);
    handle_->data = this;
    int rc = uv_signal_start(handle_, &UvSignalHandler::onSignal, signum);
    assert(rc == 0 && "uv_signal_start: invalid signal number");
    (void)rc;
  }
  ~UvSignalHandler() override { closeAndFree(handle_); }

 private:
  static void onSignal(uv_signal_t* handle, int) noexcept {
    auto* self = static_cast<UvSignalHandler*>(handle->data);
    if (self != nullptr) self->callback_();
  }

  std::function<void()> callback_;
  uv_signal_t* handle_;
};

}  // namespace

// Static trampolines with access to Dispatcher's private members.
struct DispatcherTrampolines {
  static void onAsync(uv_async_t* handle) noexcept {
    auto* self = static_cast<Dispatcher*>(handle->data);
    if (self != nullptr) self->drainPosted();
  }
  static void onCheck(uv_check_t* handle) noexcept {
    auto* self = static_cast<Dispatcher*>(handle->data);
    if (self != nullptr) self->drainDeferred();
  }
  static void onIdle(uv_idle_t*) noexcept {}
};

Dispatcher::Dispatcher()
    : loop_(std::make_unique<uv_loop_s>()), read_scratch_(std::make_unique<char[]>(kReadScratchSize)) {
  // libuv writes with write()/writev(), not send(MSG_NOSIGNAL): without this a
  // write to a reset socket kills the process instead of failing with EPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  int rc = uv_loop_init(loop_.get());
  assert(rc == 0 && "uv_loop_init");
  (void)rc;

  async_ = new uv_async_t;
  uv_async_init(loop_.get(), async_, &DispatcherTrampolines::onAsync);
  async_->data = this;

  check_ = new uv_check_t;
  uv_check_init(loop_.get(), check_);
  check_->data = this;
  uv_check_start(check_, &DispatcherTrampolines::onCheck);
  // The check handle runs every iteration but must not keep run() alive by itself.
  uv_unref(asHandle(check_));

  idle_ = new uv_idle_t;
  uv_idle_init(loop_.get(), idle_);
  idle_->data = this;
  uv_unref(asHandle(idle_));
}

Dispatcher::~Dispatcher() {
  drainDeferred();
  {
    // Closures posted after the loop stopped are dropped, not run: they were
    // meant for a running worker, and running them now could create handles
    // on a loop that is going away. They die outside the lock, in case a
    // captured object's destructor posts.
    std::lock_guard<std::mutex> lock(posted_mutex_);
    running_.swap(posted_);
  }
  running_.clear();
  closeAndFree(async_);
  closeAndFree(check_);
  closeAndFree(idle_);
  async_ = nullptr;
  check_ = nullptr;
  idle_ = nullptr;
  for (int i = 0; i < kShutdownIterations && uv_loop_alive(loop_.get()); ++i) {
    uv_run(loop_.get(), UV_RUN_NOWAIT);
    drainDeferred();
  }
  int rc = uv_loop_close(loop_.get());
  if (rc != 0) {
    std::fprintf(stderr, "remora: dispatcher destroyed with %zu live libuv handle(s)\n", liveHandleCount());
    assert(rc == 0 && "every Timer, Connection and Listener must be destroyed before their Dispatcher");
    // A handle still points into the loop: leaking the loop beats a use-after-free.
    (void)loop_.release();
  }
}

void Dispatcher::run() {
  thread_id_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  uv_run(loop_.get(), UV_RUN_DEFAULT);
}

void Dispatcher::runOnce() { uv_run(loop_.get(), UV_RUN_NOWAIT); }

void Dispatcher::exit() {
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    exit_requested_ = true;
  }
  uv_async_send(async_);
}

void Dispatcher::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    posted_.push_back(std::move(fn));
  }
  // uv_async_send coalesces: many posts before the loop wakes cost one wakeup.
  uv_async_send(async_);
}

void Dispatcher::drainPosted() {
  bool exit_now = false;
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    running_.swap(posted_);
    exit_now = exit_requested_;
    exit_requested_ = false;
  }
  // Run outside the lock: a closure may post() again (it lands in the next batch).
  for (auto& fn : running_) fn();
  running_.clear();
  if (exit_now) uv_stop(loop_.get());
}

void Dispatcher::deferredDelete(std::unique_ptr<DeferredDeletable> object) {
  if (!object) return;
  deferred_.push_back(std::move(object));
  if (deferred_.size() == 1 && idle_ != nullptr) {
    uv_idle_start(idle_, &DispatcherTrampolines::onIdle);
  }
}

void Dispatcher::scheduleIterationEnd(IterationEndTask& task) {
  if (task.scheduled_) return;
  task.scheduled_ = true;
  iteration_tasks_.push_back(&task);
  // Keep the poll phase from blocking so the check phase runs this iteration.
  if (idle_ != nullptr) uv_idle_start(idle_, &DispatcherTrampolines::onIdle);
}

void Dispatcher::cancelIterationEnd(IterationEndTask& task) {
  if (!task.scheduled_) return;
  task.scheduled_ = false;
  for (auto& t : iteration_tasks_) {
    if (t == &task) t = nullptr;
  }
  for (auto& t : running_tasks_) {
    if (t == &task) t = nullptr;
  }
}

void Dispatcher::drainDeferred() {
  // Tasks may schedule more tasks (a flush that closes a connection whose
  // owner then writes elsewhere); run until none are left.
  while (!iteration_tasks_.empty()) {
    running_tasks_.swap(iteration_tasks_);
    for (size_t i = 0; i < running_tasks_.size(); ++i) {
      IterationEndTask* t = running_tasks_[i];
      if (t == nullptr) continue;
      t->scheduled_ = false;
      running_tasks_[i] = nullptr;
      t->onIterationEnd();
    }
    running_tasks_.clear();
  }
  // A destructor may defer more deletions; keep going until none are left.
  while (!deferred_.empty()) {
    deleting_.swap(deferred_);
    deleting_.clear();
  }
  if (idle_ != nullptr) uv_idle_stop(idle_);
}

TimerPtr Dispatcher::createTimer(std::function<void()> callback) {
  return std::make_unique<UvTimer>(loop_.get(), std::move(callback));
}

SignalHandlerPtr Dispatcher::listenForSignal(int signum, std::function<void()> callback) {
  return std::make_unique<UvSignalHandler>(loop_.get(), signum, std::move(callback));
}

Dispatcher::MonotonicTime Dispatcher::now() const {
  // uv_now() is CLOCK_MONOTONIC in milliseconds, the same epoch as steady_clock
  // on Linux, cached once per iteration so a burst of events shares one reading.
  return MonotonicTime(std::chrono::milliseconds(uv_now(loop_.get())));
}

bool Dispatcher::isThreadSafe() const {
  std::thread::id owner = thread_id_.load(std::memory_order_relaxed);
  return owner == std::thread::id() || owner == std::this_thread::get_id();
}

size_t Dispatcher::liveHandleCount() const {
  struct Walk {
    const Dispatcher* self;
    size_t count;
  } walk{this, 0};
  uv_walk(
      loop_.get(),
      [](uv_handle_t* h, void* arg) noexcept {
        auto* w = static_cast<Walk*>(arg);
        if (h == asHandle(w->self->async_) || h == asHandle(w->self->check_) || h == asHandle(w->self->idle_)) {
          return;
        }
        ++w->count;
      },
      &walk);
  return walk.count;
}

}  // namespace remora::net
