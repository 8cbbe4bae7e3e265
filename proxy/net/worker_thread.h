// WorkerThread: a thread running its own Dispatcher. The main thread creates
// workers, posts config snapshots to them, and joins them at shutdown.
//
// Owned by the main thread's Server. dispatcher() may be used from any thread
// only through Dispatcher::post() and exit().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "proxy/net/dispatcher.h"

namespace remora::net {

class WorkerThread {
 public:
  explicit WorkerThread(std::string name);
  // Stops and joins the thread if still running, then destroys the dispatcher.
  ~WorkerThread();

  // Starts the thread; `on_start` runs first on the worker's thread, then the
  // loop runs until stop(). `on_exit` runs on the worker's thread after the
  // loop returns, to destroy worker-local state before the dispatcher dies.
  void start(std::function<void(Dispatcher&)> on_start, std::function<void(Dispatcher&)> on_exit);
  // Asks the loop to exit and joins the thread. Main thread.
  void stop();
  Dispatcher& dispatcher() { return *dispatcher_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::thread thread_;
};

}  // namespace remora::net
