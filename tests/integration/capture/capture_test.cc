// `remora-proxy init` in a throwaway network namespace: the rules it
// installs, their idempotence, an exact cleanup, and a real connection being
// redirected (or, for the proxy's uid, not).
#include <catch2/catch.hpp>
#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "proxy/capture/rule_builder.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/netns.h"
#include "tests/integration/harness/process.h"

using remora::harness::binaryPath;
using remora::harness::CommandResult;
using remora::harness::Netns;
using remora::harness::python3Path;

namespace {

// iptables-save without its timestamped comments and packet counters, so two
// saves of the same ruleset compare equal.
std::string natRules(const Netns& ns, const char* save_tool) {
  auto saved = ns.runResult({save_tool, "-t", "nat"});
  REQUIRE(saved.exit_code == 0);
  static const std::regex kCounters(R"(\[\d+:\d+\])");
  std::istringstream lines(saved.stdout_text);
  std::string line;
  std::string out;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    out += std::regex_replace(line, kCounters, "[0:0]") + "\n";
  }
  return out;
}

CommandResult init(const Netns& ns, std::vector<std::string> flags) {
  std::vector<std::string> args = {binaryPath("remora-proxy"), "init"};
  args.insert(args.end(), flags.begin(), flags.end());
  return ns.runResult(args);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Connects to host:port with a 3 s timeout; prints what the server sent, or
// the error's name (e.g. ConnectionRefusedError).
const char* kClient =
    "import socket,sys\n"
    "try:\n"
    "  s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=3)\n"
    "  print(s.recv(100).decode().strip())\n"
    "except Exception as e:\n"
    "  print(type(e).__name__)\n";

// Accepts forever on 0.0.0.0:port and greets every connection.
const char* kListener =
    "import socket,sys\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
    "s.bind(('0.0.0.0',int(sys.argv[1]))); s.listen(16)\n"
    "print('ready',flush=True)\n"
    "while True:\n"
    "  c,_=s.accept(); c.sendall(b'captured\\n'); c.close()\n";

}  // namespace

TEST_CASE("init installs the chains, reapplies identically and cleans up exactly", "[capture]") {
  auto created = Netns::create("cap");
  if (!created) FAIL("cannot create a network namespace (these tests need root, as .ci/run has): " << created.error().message);
  const Netns& ns = **created;
  // Somebody else's rules, which must survive apply and cleanup.
  REQUIRE(ns.runResult({"iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "--dport", "9999", "-j", "RETURN"})
              .exit_code == 0);
  REQUIRE(ns.runResult({"ip6tables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "--dport", "9999", "-j", "RETURN"})
              .exit_code == 0);
  const std::string before4 = natRules(ns, "iptables-save");
  const std::string before6 = natRules(ns, "ip6tables-save");

  auto dry = init(ns, {"--dry-run"});
  INFO(dry.describe());
  REQUIRE(dry.exit_code == 0);
  CHECK(contains(dry.stdout_text, "-A REMORA_REDIRECT -p tcp -j REDIRECT --to-ports 15001"));
  CHECK(natRules(ns, "iptables-save") == before4);
  CHECK(natRules(ns, "ip6tables-save") == before6);

  auto first = init(ns, {});
  INFO(first.describe());
  REQUIRE(first.exit_code == 0);
  CHECK(contains(first.stdout_text, "IPv4: 10 rules"));
  CHECK(contains(first.stdout_text, "IPv6: 10 rules"));
  const std::string applied4 = natRules(ns, "iptables-save");
  const std::string applied6 = natRules(ns, "ip6tables-save");
  CHECK(contains(applied4, "-A OUTPUT -p tcp -m tcp --dport 9999 -j RETURN\n"));
  // Every rule we print is listed back verbatim by the kernel.
  remora::capture::CaptureOptions defaults;
  for (auto family : {remora::capture::Family::kIpv4, remora::capture::Family::kIpv6}) {
    auto rules = remora::capture::buildRuleSet(defaults, family);
    const std::string& saved = family == remora::capture::Family::kIpv4 ? applied4 : applied6;
    for (const auto& lines : {rules.jumps, rules.rules}) {
      for (const std::string& rule : lines) CHECK(contains(saved, rule + "\n"));
    }
  }
  for (std::string_view chain : remora::capture::ownChains()) {
    CHECK(contains(applied4, ":" + std::string(chain) + " - [0:0]\n"));
    CHECK(contains(applied6, ":" + std::string(chain) + " - [0:0]\n"));
  }
  CHECK(contains(applied6, "-A REMORA_OUTPUT -d ::1/128 -o lo -j RETURN\n"));

  auto second = init(ns, {});
  INFO(second.describe());
  REQUIRE(second.exit_code == 0);
  CHECK(natRules(ns, "iptables-save") == applied4);
  CHECK(natRules(ns, "ip6tables-save") == applied6);

  auto cleaned = init(ns, {"--cleanup"});
  INFO(cleaned.describe());
  REQUIRE(cleaned.exit_code == 0);
  CHECK(contains(cleaned.stdout_text, "IPv4: removed 10 rules and 4 chains"));
  CHECK(natRules(ns, "iptables-save") == before4);
  CHECK(natRules(ns, "ip6tables-save") == before6);

  auto again = init(ns, {"--cleanup"});
  INFO(again.describe());
  REQUIRE(again.exit_code == 0);
  CHECK(contains(again.stdout_text, "IPv4: nothing to remove"));
  CHECK(natRules(ns, "iptables-save") == before4);
}

TEST_CASE("init exits 2 naming the flag when a value is bad, and changes nothing", "[capture]") {
  auto created = Netns::create("cap");
  if (!created) FAIL("cannot create a network namespace (these tests need root, as .ci/run has): " << created.error().message);
  const Netns& ns = **created;
  const std::string before = natRules(ns, "iptables-save");
  auto bad = init(ns, {"--exclude-outbound-ports", "22,70000"});
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.stderr_text, "--exclude-outbound-ports"));
  CHECK(natRules(ns, "iptables-save") == before);
}

TEST_CASE("captured connections reach the outbound port, the proxy uid's do not", "[capture]") {
  auto created = Netns::create("cap");
  if (!created) FAIL("cannot create a network namespace (these tests need root, as .ci/run has): " << created.error().message);
  const Netns& ns = **created;
  for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
           {"ip", "link", "set", "lo", "up"},
           // On lo rather than a dummy link: the dummy module may be missing,
           // and only 127.0.0.1 is exempt from capture, so this address on lo
           // is captured like any remote one.
           {"ip", "addr", "add", "10.251.0.1/24", "dev", "lo"}}) {
    auto r = ns.runResult(cmd);
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
  }
  auto listener = remora::harness::Process::start({ns.exec({python3Path(), "-c", kListener, "15001"}), {}, "", "listener"});
  REQUIRE(listener);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!contains(listener->readStdout(), "ready") && std::chrono::steady_clock::now() < deadline) {
    REQUIRE(listener->running());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(contains(listener->readStdout(), "ready"));

  auto connect = [&](bool as_proxy) {
    std::vector<std::string> args;
    if (as_proxy) args = {"setpriv", "--reuid=1337", "--regid=1337", "--clear-groups", "--"};
    for (const char* a : {"-c", kClient, "10.251.0.1", "80"}) args.push_back(a);
    args.insert(args.begin() + (as_proxy ? 5 : 0), python3Path());
    auto r = ns.runResult(args);
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
    std::string text = r.stdout_text;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  };
  // Nothing listens on :80, so without capture a connection is refused.
  CHECK(connect(false) == "ConnectionRefusedError");

  auto applied = init(ns, {"--ipv6", "off"});
  INFO(applied.describe());
  REQUIRE(applied.exit_code == 0);
  CHECK(connect(false) == "captured");
  CHECK(connect(true) == "ConnectionRefusedError");

  auto cleaned = init(ns, {"--cleanup", "--ipv6", "off"});
  REQUIRE(cleaned.exit_code == 0);
  CHECK(connect(false) == "ConnectionRefusedError");
  listener->stop();
}
