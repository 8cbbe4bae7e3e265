#include "tests/integration/harness/temp_dir.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

using namespace remora::harness;
using namespace std::chrono_literals;

TEST_CASE("a temp dir and its files are removed at the end of its scope", "[harness][temp_dir]") {
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    REQUIRE(std::filesystem::is_directory(path));
    REQUIRE(writeFile(dir.file("a.txt"), "content"));
    std::filesystem::create_directory(dir.file("sub"));
    REQUIRE(writeFile(dir.file("sub/b.txt"), "more"));
    auto content = readFile(dir.file("a.txt"));
    REQUIRE(content);
    CHECK(*content == "content");
  }
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("reading a missing file fails with its path in the message", "[harness][temp_dir]") {
  TempDir dir;
  auto content = readFile(dir.file("missing"));
  REQUIRE_FALSE(content);
  CHECK(content.error().message.find("missing") != std::string::npos);
}

TEST_CASE("waitForFile returns content written later by another thread", "[harness][temp_dir]") {
  TempDir dir;
  const std::string path = dir.file("port");
  std::thread writer([&] {
    std::this_thread::sleep_for(100ms);
    (void)writeFile(path, "12345\n");
  });
  auto content = waitForFile(path, 5s);
  writer.join();
  REQUIRE(content);
  CHECK(*content == "12345\n");
}

TEST_CASE("waitForFile times out on a file that never appears", "[harness][temp_dir]") {
  TempDir dir;
  CHECK_FALSE(waitForFile(dir.file("never"), 100ms));
}

TEST_CASE("waitForFile gives up as soon as keep_waiting says so", "[harness][temp_dir]") {
  TempDir dir;
  const auto started = std::chrono::steady_clock::now();
  auto content = waitForFile(dir.file("never"), 10s, [] { return false; });
  CHECK_FALSE(content);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
}
