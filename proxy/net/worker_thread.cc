#include "proxy/net/worker_thread.h"

#include <pthread.h>

#include <cassert>

namespace remora::net {

WorkerThread::WorkerThread(std::string name) : name_(std::move(name)), dispatcher_(std::make_unique<Dispatcher>()) {}

WorkerThread::~WorkerThread() {
  stop();
  // The dispatcher dies here, on the main thread, after the worker has been
  // joined: on_exit already destroyed everything that held handles on its loop.
  dispatcher_.reset();
}

void WorkerThread::start(std::function<void(Dispatcher&)> on_start, std::function<void(Dispatcher&)> on_exit) {
  assert(!thread_.joinable() && "WorkerThread started twice");
  thread_ = std::thread([this, on_start = std::move(on_start), on_exit = std::move(on_exit)] {
    // Linux thread names are at most 15 characters; they show in top and gdb.
    std::string short_name = name_.substr(0, 15);
    pthread_setname_np(pthread_self(), short_name.c_str());
    if (on_start) on_start(*dispatcher_);
    dispatcher_->run();
    if (on_exit) on_exit(*dispatcher_);
  });
}

void WorkerThread::stop() {
  if (!thread_.joinable()) return;
  dispatcher_->exit();
  thread_.join();
}

}  // namespace remora::net
