#include "proxy/observability/access_log/access_log_writer.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "proxy/observability/metric_family.h"

using namespace remora::observability;

namespace {

// A fresh directory under $TMPDIR, removed with its files at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/remora-al-XXXXXX";
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::vector<std::string> readLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Three counter series the writer's handles point at.
struct TestCounters {
  MetricFamily family{0, "remora_test_total", "test", MetricType::kCounter, {}, {}};
  Series written{&family, {}};
  Series dropped{&family, {}};
  Series errors{&family, {}};
  AccessLogCounters handles() { return {Counter(&written), Counter(&dropped), Counter(&errors)}; }
};

uint64_t value(const Series& series) { return series.counter.load(); }

}  // namespace

TEST_CASE("lines from two threads reach the file whole and in each thread's order", "[observability][access_log]") {
  TempDir dir;
  const std::string path = dir.file("access.log");
  TestCounters counters;
  constexpr int kLinesPerThread = 5000;
  {
    auto writer = AccessLogWriter::open(path, AccessLogLimits{}, counters.handles());
    REQUIRE(writer);
    auto produce = [&](char tag) {
      for (int i = 0; i < kLinesPerThread; ++i) (*writer)->write(std::string(1, tag) + " " + std::to_string(i) + "\n");
    };
    std::thread a(produce, 'a');
    std::thread b(produce, 'b');
    a.join();
    b.join();
    (*writer)->flush();
    CHECK(value(counters.written) == 2 * kLinesPerThread);
  }  // the destructor joins the writer thread
  CHECK(value(counters.dropped) == 0);
  CHECK(value(counters.errors) == 0);
  const std::vector<std::string> lines = readLines(path);
  REQUIRE(lines.size() == 2 * kLinesPerThread);
  int next_a = 0;
  int next_b = 0;
  for (const std::string& line : lines) {
    REQUIRE(line.size() >= 3);
    int& next = line[0] == 'a' ? next_a : next_b;
    REQUIRE(line == std::string(1, line[0]) + " " + std::to_string(next));
    ++next;
  }
  CHECK(next_a == kLinesPerThread);
  CHECK(next_b == kLinesPerThread);
}

TEST_CASE("a line without a newline gets one, and the destructor writes what is buffered",
          "[observability][access_log]") {
  TempDir dir;
  const std::string path = dir.file("access.log");
  {
    // A long interval: only the destructor can have written these.
    auto writer = AccessLogWriter::open(path, AccessLogLimits{1 << 20, std::chrono::hours(1)});
    REQUIRE(writer);
    (*writer)->write("first");
    (*writer)->write("second\n");
  }
  CHECK(readLines(path) == std::vector<std::string>{"first", "second"});
}

TEST_CASE("lines are written within the flush interval without an explicit flush", "[observability][access_log]") {
  TempDir dir;
  const std::string path = dir.file("access.log");
  TestCounters counters;
  auto writer = AccessLogWriter::open(path, AccessLogLimits{1 << 20, std::chrono::milliseconds(5)}, counters.handles());
  REQUIRE(writer);
  for (const char* line : {"one\n", "two\n"}) {
    (*writer)->write(line);
    // Generous for a loaded CI machine; the interval is 5 ms.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    const uint64_t expected = line[0] == 'o' ? 1 : 2;
    while (value(counters.written) < expected && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(value(counters.written) == expected);
  }
  CHECK(readLines(path) == std::vector<std::string>{"one", "two"});
}

TEST_CASE("the file is appended to, not truncated", "[observability][access_log]") {
  TempDir dir;
  const std::string path = dir.file("access.log");
  std::ofstream(path) << "earlier\n";
  {
    auto writer = AccessLogWriter::open(path);
    REQUIRE(writer);
    (*writer)->write("later\n");
  }
  CHECK(readLines(path) == std::vector<std::string>{"earlier", "later"});
}

TEST_CASE("a line that does not fit the buffer is dropped and counted", "[observability][access_log]") {
  TempDir dir;
  const std::string path = dir.file("access.log");
  TestCounters counters;
  {
    auto writer = AccessLogWriter::open(path, AccessLogLimits{64, std::chrono::milliseconds(100)}, counters.handles());
    REQUIRE(writer);
    (*writer)->write(std::string(100, 'x') + "\n");
    (*writer)->write("short\n");
    (*writer)->flush();
  }
  CHECK(value(counters.dropped) == 1);
  CHECK(value(counters.written) == 1);
  CHECK(readLines(path) == std::vector<std::string>{"short"});
}

TEST_CASE("a blocked sink fills the buffer, then lines are dropped without blocking the caller",
          "[observability][access_log]") {
  // The writer thread blocks in write(2) once the pipe is full and nobody
  // reads it; the in-memory buffer then fills and further lines drop.
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  TestCounters counters;
  constexpr size_t kBuffer = 4096;
  constexpr int kLines = 4000;  // 400 KB: several times pipe + buffer capacity
  const std::string payload = std::string(99, 'p') + "\n";
  {
    auto writer = AccessLogWriter::open("/dev/fd/" + std::to_string(fds[1]),
                                        AccessLogLimits{kBuffer, std::chrono::milliseconds(1)}, counters.handles());
    REQUIRE(writer);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kLines; ++i) (*writer)->write(payload);
    // Returning at all proves write() did not wait for the blocked sink.
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    CHECK(value(counters.dropped) > 0);
    // Drain the pipe so the destructor's final write can finish.
    std::thread reader([&] {
      char sink[65536];
      while (read(fds[0], sink, sizeof(sink)) > 0) {
      }
    });
    writer->reset();
    close(fds[1]);
    reader.join();
  }
  close(fds[0]);
  CHECK(value(counters.written) + value(counters.dropped) == kLines);
  CHECK(value(counters.errors) == 0);
}

TEST_CASE("an unwritable path fails at open with the path and the reason", "[observability][access_log]") {
  auto missing_dir = AccessLogWriter::open("/nonexistent-remora-dir/access.log");
  REQUIRE_FALSE(missing_dir);
  CHECK(missing_dir.error().code == remora::base::Error::kIo);
  CHECK(missing_dir.error().message == "access log /nonexistent-remora-dir/access.log: No such file or directory");
  TempDir dir;
  auto directory = AccessLogWriter::open(dir.file(""));
  REQUIRE_FALSE(directory);
  CHECK(directory.error().message.ends_with("Is a directory"));
}

TEST_CASE("write errors are counted and the lines counted as dropped", "[observability][access_log]") {
  TestCounters counters;
  {
    // /dev/full accepts open(2) and fails every write(2) with ENOSPC.
    // A long interval: only flush() and the destructor write, so the chunks are {a, b} and {c}.
    auto writer = AccessLogWriter::open("/dev/full", AccessLogLimits{1 << 20, std::chrono::hours(1)},
                                        counters.handles());
    REQUIRE(writer);
    (*writer)->write("a\n");
    (*writer)->write("b\n");
    (*writer)->flush();
    (*writer)->write("c\n");
  }
  CHECK(value(counters.errors) == 2);
  CHECK(value(counters.dropped) == 3);
  CHECK(value(counters.written) == 0);
}
