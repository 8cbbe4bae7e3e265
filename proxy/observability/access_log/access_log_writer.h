// AccessLogWriter: one access log file (or /dev/stdout, /dev/stderr), shared
// by every worker whose listener logs to that path. Workers hand it finished
// lines; a dedicated writer thread does the file I/O, so a slow disk or a
// blocked pipe never stalls a request.
//
// Ownership and threads: built and owned by Server on the main thread (one
// per distinct path), referenced by the workers' StreamObservers. write() is
// safe from any thread: it copies the line into a bounded in-memory buffer
// under a mutex (a memcpy, never I/O), and drops the line when the buffer is
// full. The writer thread swaps the buffer out every flush interval, or as
// soon as it is half full, and writes it with O_APPEND. The destructor writes
// what is buffered and joins the thread (it blocks only if the sink itself
// blocks, e.g. a pipe nobody reads).
//
// Counters: lines_dropped is written under the mutex (by whichever thread
// drops), lines_written and write_errors by the writer thread only, so each
// handle keeps the single-writer rule of observability::Counter. Lines lost
// to a failed write(2) count as dropped too, and as one write error each
// failed write; those errors are logged through spdlog at most once per
// 10 seconds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "proxy/observability/metric.h"
#include "xds/base/status.h"

namespace remora::observability {

struct AccessLogLimits {
  size_t buffer_bytes = 1 << 20;  // lines waiting for the writer thread
  std::chrono::milliseconds flush_interval{100};
};

struct AccessLogCounters {
  Counter lines_written;
  Counter lines_dropped;
  Counter write_errors;
};

class AccessLogWriter {
 public:
  // Opens (creating, mode 0644) `path` for appending and starts the writer
  // thread. kIo naming the path and errno when the file cannot be opened.
  static base::Result<std::unique_ptr<AccessLogWriter>> open(std::string path, AccessLogLimits limits = {},
                                                             AccessLogCounters counters = {});
  ~AccessLogWriter();
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // Any thread, never blocks on I/O. `line` should end in '\n' (one is added
  // when it does not). A line that does not fit in the buffer is dropped.
  void write(std::string_view line);

  // Blocks until every line accepted before the call has been written (or
  // failed). For shutdown paths and tests; never call it on a worker.
  void flush();

  const std::string& path() const { return path_; }

 private:
  AccessLogWriter(std::string path, int fd, AccessLogLimits limits, AccessLogCounters counters);
  void run();
  // Writes `chunk` fully (retrying short writes and EINTR); false on error.
  bool writeChunk(std::string_view chunk);
  void reportError(int error_number);

  const std::string path_;
  const int fd_;
  const AccessLogLimits limits_;
  const AccessLogCounters counters_;

  std::mutex mutex_;
  std::condition_variable wake_;     // the writer thread waits here
  std::condition_variable flushed_;  // flush() waits here
  std::string buffer_;               // guarded by mutex_
  uint64_t buffered_lines_ = 0;      // guarded by mutex_
  uint64_t flush_requested_ = 0;     // guarded by mutex_: flush() calls so far
  uint64_t flush_done_ = 0;          // guarded by mutex_: flush requests served
  bool stopping_ = false;            // guarded by mutex_

  // Writer thread only.
  std::chrono::steady_clock::time_point last_error_log_{};
  uint64_t errors_since_log_ = 0;

  std::thread thread_;  // last: starts after every member above exists
};

}  // namespace remora::observability
