#include "proxy/capture/command_runner.h"

#include <catch2/catch.hpp>
#include <string>

using remora::capture::findExecutable;
using remora::capture::runCommand;

TEST_CASE("a command gets its stdin and both outputs come back", "[capture]") {
  auto out = runCommand({"cat"}, "hello\nworld\n");
  REQUIRE(out);
  CHECK(out->exit_code == 0);
  CHECK(out->stdout_text == "hello\nworld\n");
  CHECK(out->stderr_text.empty());
}

TEST_CASE("a large stdin and a large stdout do not deadlock", "[capture]") {
  std::string big(1 << 20, 'x');
  auto out = runCommand({"cat"}, big);
  REQUIRE(out);
  CHECK(out->stdout_text.size() == big.size());
}

TEST_CASE("arguments reach the program verbatim, without a shell", "[capture]") {
  auto out = runCommand({"printf", "%s|", "a b", "$HOME", ";echo x"}, "");
  REQUIRE(out);
  CHECK(out->stdout_text == "a b|$HOME|;echo x|");
}

TEST_CASE("the exit code and stderr of a failing command are reported", "[capture]") {
  auto out = runCommand({"ls", "/nonexistent-remora-path"}, "");
  REQUIRE(out);
  CHECK(out->exit_code != 0);
  CHECK_FALSE(out->stderr_text.empty());
}

TEST_CASE("a child that does not read its stdin does not kill us with SIGPIPE", "[capture]") {
  auto out = runCommand({"true"}, std::string(1 << 20, 'x'));
  REQUIRE(out);
  CHECK(out->exit_code == 0);
}

TEST_CASE("a program that is not installed is a failure naming it", "[capture]") {
  auto out = runCommand({"remora-no-such-program"}, "");
  REQUIRE_FALSE(out);
  CHECK(out.error().message.find("remora-no-such-program") != std::string::npos);
}

TEST_CASE("a command past its timeout is killed and reported", "[capture]") {
  auto out = runCommand({"sleep", "10"}, "", std::chrono::milliseconds(200));
  REQUIRE_FALSE(out);
  CHECK(out.error().message.find("killed") != std::string::npos);
}

TEST_CASE("iptables tools are found even outside PATH in /usr/sbin", "[capture]") {
  auto sh = findExecutable("sh");
  REQUIRE(sh);
  CHECK(sh->find("/sh") != std::string::npos);
  CHECK(findExecutable("/bin/sh").value_or("") == "/bin/sh");
}
