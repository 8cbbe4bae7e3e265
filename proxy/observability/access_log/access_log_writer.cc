#include "proxy/observability/access_log/access_log_writer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace remora::observability {

namespace {

constexpr std::chrono::seconds kErrorLogInterval{10};

}  // namespace

base::Result<std::unique_ptr<AccessLogWriter>> AccessLogWriter::open(std::string path, AccessLogLimits limits,
                                                                     AccessLogCounters counters) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return base::fail(base::Error::kIo, "access log " + path + ": " + std::strerror(errno));
  }
  return std::unique_ptr<AccessLogWriter>(new AccessLogWriter(std::move(path), fd, limits, counters));
}

AccessLogWriter::AccessLogWriter(std::string path, int fd, AccessLogLimits limits, AccessLogCounters counters)
    : path_(std::move(path)), fd_(fd), limits_(limits), counters_(counters) {
  buffer_.reserve(limits_.buffer_bytes);
  thread_ = std::thread([this] { run(); });
}

AccessLogWriter::~AccessLogWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  ::close(fd_);
}

void AccessLogWriter::write(std::string_view line) {
  const bool needs_newline = line.empty() || line.back() != '\n';
  const size_t size = line.size() + (needs_newline ? 1 : 0);
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (buffer_.size() + size > limits_.buffer_bytes) {
      counters_.lines_dropped.inc();
      return;
    }
    const size_t half = limits_.buffer_bytes / 2;
    // Wake the writer when a batch starts (it sleeps while the buffer is
    // empty, then starts the flush interval) and when this line crosses the
    // half-full mark; other lines need no notify.
    wake = buffer_.empty() || (buffer_.size() < half && buffer_.size() + size >= half);
    buffer_.append(line);
    if (needs_newline) buffer_ += '\n';
    ++buffered_lines_;
  }
  if (wake) wake_.notify_one();
}

void AccessLogWriter::flush() {
  std::unique_lock lock(mutex_);
  const uint64_t ticket = ++flush_requested_;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return flush_done_ >= ticket; });
}

void AccessLogWriter::run() {
  std::string chunk;
  chunk.reserve(limits_.buffer_bytes);
  std::unique_lock lock(mutex_);
  while (true) {
    // Idle: sleep until a line arrives (an idle sidecar does not wake 10
    // times a second); then give later lines the flush interval to batch up.
    wake_.wait(lock, [&] { return stopping_ || !buffer_.empty() || flush_requested_ > flush_done_; });
    const size_t half = limits_.buffer_bytes / 2;
    wake_.wait_for(lock, limits_.flush_interval,
                   [&] { return stopping_ || buffer_.size() >= half || flush_requested_ > flush_done_; });
    chunk.swap(buffer_);
    const uint64_t lines = buffered_lines_;
    buffered_lines_ = 0;
    const uint64_t served = flush_requested_;
    const bool stop = stopping_;
    lock.unlock();

    bool ok = true;
    if (!chunk.empty()) {
      ok = writeChunk(chunk);
      chunk.clear();
    }
    lock.lock();
    if (ok) {
      counters_.lines_written.inc(lines);
    } else {
      // Under the mutex: workers write this counter under it too.
      counters_.lines_dropped.inc(lines);
    }
    flush_done_ = served;
    flushed_.notify_all();
    if (stop && buffer_.empty()) return;
  }
}

bool AccessLogWriter::writeChunk(std::string_view chunk) {
  while (!chunk.empty()) {
    const ssize_t n = ::write(fd_, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      reportError(errno);
      return false;
    }
    chunk.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void AccessLogWriter::reportError(int error_number) {
  counters_.write_errors.inc();
  ++errors_since_log_;
  const auto now = std::chrono::steady_clock::now();
  if (last_error_log_ != std::chrono::steady_clock::time_point{} && now - last_error_log_ < kErrorLogInterval) return;
  spdlog::warn("access log {}: write failed: {} ({} failed writes since the last report)", path_,
               std::strerror(error_number), errors_since_log_);
  last_error_log_ = now;
  errors_since_log_ = 0;
}

}  // namespace remora::observability
