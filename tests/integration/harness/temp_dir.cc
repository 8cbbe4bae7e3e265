#include "tests/integration/harness/temp_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <thread>
#include <vector>

namespace remora::harness {
namespace {

namespace fs = std::filesystem;
using base::Error;
using base::fail;

std::string errnoText(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

TempDir::TempDir(std::string_view prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = (tmp != nullptr && tmp[0] != '\0') ? tmp : "/tmp";
  pattern += "/";
  pattern += prefix;
  pattern += "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    std::fprintf(stderr, "harness: mkdtemp(%s) failed: %s\n", pattern.c_str(), std::strerror(errno));
    std::abort();
  }
  path_ = buffer.data();
}

TempDir::~TempDir() { remove(); }

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

std::string TempDir::file(std::string_view name) const { return (fs::path(path_) / fs::path(name)).string(); }

void TempDir::remove() {
  if (path_.empty()) return;
  const char* keep = std::getenv("REMORA_KEEP_TEMP");
  if (keep != nullptr && keep[0] == '1') {
    std::fprintf(stderr, "harness: keeping %s\n", path_.c_str());
  } else {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  path_.clear();
}

base::Status writeFile(const std::string& path, std::string_view content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(Error::kIo, errnoText("open", path));
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string message = errnoText("write", path);
      ::close(fd);
      return fail(Error::kIo, message);
    }
    written += static_cast<size_t>(n);
  }
  ::close(fd);
  return base::Status::ok();
}

base::Result<std::string> readFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(Error::kIo, errnoText("open", path));
  std::string content;
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string message = errnoText("read", path);
      ::close(fd);
      return fail(Error::kIo, message);
    }
    content.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

base::Result<std::string> waitForFile(const std::string& path, std::chrono::milliseconds timeout,
                                      const std::function<bool()>& keep_waiting) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string previous;
  for (;;) {
    auto content = readFile(path);
    if (content && !content->empty()) {
      if (*content == previous) return previous;
      previous = *content;
    } else {
      previous.clear();
    }
    if (keep_waiting && !keep_waiting()) {
      return fail(Error::kNotFound, "gave up waiting for " + path + ": its writer is gone");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(Error::kNotFound, "timed out after " + std::to_string(timeout.count()) +
                                        " ms waiting for " + path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace remora::harness
