#include "tests/integration/harness/process.h"

#include <signal.h>

#include <catch2/catch.hpp>

#include "tests/integration/harness/temp_dir.h"

using namespace remora::harness;
using namespace std::chrono_literals;

TEST_CASE("a process reports its exit code and captures stdout and stderr", "[harness][process]") {
  auto process = Process::start({{"sh", "-c", "echo out; echo err >&2; exit 7"}, {}, "", ""});
  REQUIRE(process);
  auto code = process->waitExit(5s);
  REQUIRE(code);
  CHECK(*code == 7);
  CHECK(process->readStdout() == "out\n");
  CHECK(process->readStderr() == "err\n");
  // A reaped process answers the same code again and is not signalled.
  CHECK(*process->waitExit(0ms) == 7);
  CHECK_FALSE(process->signal(SIGTERM));
}

TEST_CASE("a process sees the extra environment it was given", "[harness][process]") {
  auto process = Process::start({{"sh", "-c", "echo \"$REMORA_HARNESS_PROBE\""}, {{"REMORA_HARNESS_PROBE", "42"}}, "", ""});
  REQUIRE(process);
  REQUIRE(*process->waitExit(5s) == 0);
  CHECK(process->readStdout() == "42\n");
}

TEST_CASE("a signalled process exits with 128 plus the signal number", "[harness][process]") {
  auto process = Process::start({{"sleep", "30"}, {}, "", ""});
  REQUIRE(process);
  CHECK(process->running());
  CHECK_FALSE(process->waitExit(50ms));
  REQUIRE(process->signal(SIGTERM));
  auto code = process->waitExit(5s);
  REQUIRE(code);
  CHECK(*code == 128 + SIGTERM);
  CHECK_FALSE(process->running());
}

TEST_CASE("stop escalates to SIGKILL when SIGTERM is ignored", "[harness][process]") {
  auto process = Process::start({{"sh", "-c", "trap '' TERM; echo armed; while :; do sleep 0.05; done"}, {}, "", ""});
  REQUIRE(process);
  // Wait until the trap is installed, or SIGTERM would kill the shell early.
  REQUIRE(waitForFile(process->stdoutPath(), 5s));
  const auto started = std::chrono::steady_clock::now();
  CHECK(process->stop(300ms) == 128 + SIGKILL);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
}

TEST_CASE("destroying a process object terminates the child", "[harness][process]") {
  pid_t pid = -1;
  {
    auto process = Process::start({{"sleep", "30"}, {}, "", ""});
    REQUIRE(process);
    pid = process->pid();
    CHECK(::kill(pid, 0) == 0);
  }
  // Reaped by the destructor: the PID no longer names our child.
  CHECK(::kill(pid, 0) != 0);
}

TEST_CASE("run returns output and exit code of a finished command", "[harness][process]") {
  const CommandResult result = run({"sh", "-c", "printf hello; exit 3"}, 5s);
  CHECK_FALSE(result.timed_out);
  CHECK(result.exit_code == 3);
  CHECK(result.stdout_text == "hello");
}

TEST_CASE("run kills a command that outlives its timeout", "[harness][process]") {
  const auto started = std::chrono::steady_clock::now();
  const CommandResult result = run({"sleep", "30"}, 200ms);
  CHECK(result.timed_out);
  CHECK(result.exit_code == -1);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
}

TEST_CASE("run reports a program that does not exist", "[harness][process]") {
  const CommandResult result = run({"/nonexistent/remora-no-such-program"}, 5s);
  CHECK(result.exit_code == 127);
  CHECK_FALSE(result.stderr_text.empty());
}
