// The docs cannot rot: tests/docs/doc_check.py checks every page against the
// real binaries and the source (what it covers is in its header). The second
// case proves the checker itself fails on a page that is wrong in each way it
// claims to catch, so a checker that stopped checking would not pass.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/temp_dir.h"

namespace remora::harness {
namespace {

CommandResult docCheck(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {python3Path(), sourcePath("tests/docs/doc_check.py"), "--source", sourceDir(),
                                   "--build", buildDir()};
  args.insert(args.end(), extra.begin(), extra.end());
  return run(args, std::chrono::seconds(180));
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Whether the process is still running (a zombie waiting to be reaped is not).
bool running(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z' && text[paren + 2] != 'X';
}

TEST_CASE("every doc page matches the binaries and the code", "[docs]") {
  const CommandResult result = docCheck({});
  INFO(result.describe());
  REQUIRE(result.exit_code == 0);
  CHECK(contains(result.stdout_text, "doc_check: OK"));
}

TEST_CASE("the doc check fails on a page that names what does not exist", "[docs]") {
  TempDir dir("remora-doc-check");
  const std::string page = dir.file("bad.md");
  const std::string pid_file = dir.file("sleep.pid");
  REQUIRE(writeFile(page,
                    "# Bad\n"                                                    // 1
                    "\n"                                                         // 2
                    "```sh\n"                                                    // 3
                    "remoractl get services --colour red\n"                      // 4
                    "remora-proxy frobnicate FILE\n"                             // 5
                    "remoractl get svc -o wide\n"                                // 6
                    "```\n"                                                      // 7
                    "\n"                                                         // 8
                    "```yaml\n"                                                  // 9
                    "kind: Service\n"                                            // 10
                    "metadata: {name: web}\n"                                    // 11
                    "spec: {ports: [{port: 80, colour: blue}]}\n"                // 12
                    "```\n"                                                      // 13
                    "\n"                                                         // 14
                    "```yaml\n"                                                  // 15
                    "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 70000}}}\n"
                    "```\n"                                                      // 17
                    "\n"                                                         // 18
                    "Watch `remora_made_up_total` and [the API](no-such-page.md).\n"  // 19
                    "\n"                                                         // 20
                    "<!-- doc-check: run -->\n"                                  // 21
                    "```sh\n"                                                    // 22
                    "remoractl get services -n no-such-namespace\n"              // 23
                    "false\n"                                                    // 24
                    "```\n"                                                      // 25
                    "\n"                                                         // 26
                    "| flag | default | meaning |\n"                              // 27
                    "| --- | --- | --- |\n"                                       // 28
                    "| `--push-debounce D` | `50ms` | how long |\n"              // 29
                    "\n"                                                         // 30
                    "| flag | default | meaning |\n"                              // 31
                    "| --- | --- | --- |\n"                                       // 32
                    "| `--no-such-flag` | none | what |\n"                      // 33
                    "\n"                                                         // 34
                    "```sh\n"                                                    // 35
                    "scripts/demo.sh --quick --colour\n"                         // 36
                    "python3 examples/demo/traces.py list --collector ADDR --bogus\n"
                    "examples/demo/run.sh --keep --summary-json FILE\n"          // 38
                    "```\n"                                                      // 39
                    "\n"                                                         // 40
                    "<!-- doc-check: run session -->\n"                          // 41
                    "```sh\n"                                                    // 42
                    "sleep 300 &\n"                                              // 43
                    "echo $! > " + pid_file + "\n"                               // 44
                    "greeting=$(echo hello | grep -v hello || true)\n"           // 45
                    "```\n"                                                      // 46
                    "\n"                                                         // 47
                    "<!-- doc-check: run output session -->\n"                   // 48
                    "```console\n"                                               // 49
                    "$ echo ready\n"                                             // 50
                    "ready\n"                                                    // 51
                    "$ test -n \"$greeting\"\n"                                  // 52
                    "```\n")
              .has_value());
  const CommandResult result = docCheck({"--pages", page});
  INFO(result.describe());
  REQUIRE(result.exit_code == 1);
  const std::string& out = result.stdout_text;
  CHECK(contains(out, "bad.md:4: `remoractl get` has no flag --colour"));
  CHECK(contains(out, "bad.md:5: `remora-proxy` has no subcommand 'frobnicate'"));
  CHECK(contains(out, "bad.md:6: `remoractl get -o`: 'wide' is not one of"));
  CHECK(contains(out, "bad.md:9: remora-cp refused this object block"));
  CHECK(contains(out, "colour: unknown field"));
  CHECK(contains(out, "bad.md:15: remora-proxy validate refused this bootstrap block"));
  CHECK(contains(out, "bad.md:19: metric remora_made_up_total is not declared in the code"));
  CHECK(contains(out, "bad.md:19: link target no-such-page.md does not exist"));
  CHECK(contains(out, "bad.md:24: run block exited 1"));
  CHECK(contains(out, "bad.md:29: default of --push-debounce is 100ms in `remora-cp --help`, the table says 50ms"));
  CHECK(contains(out, "bad.md:33: --no-such-flag is not a flag of"));
  // The demo's scripts: their flags are demo.py's and traces.py's (argparse).
  CHECK(contains(out, "bad.md:36: `scripts/demo.sh` has no flag --colour"));
  CHECK(contains(out, "bad.md:37: `examples/demo/traces.py list` has no flag --bogus"));
  CHECK_FALSE(contains(out, "bad.md:38:"));
  // A session: the second block runs in the first one's shell, so the
  // variable the first failed to set fails the second, at its line; the
  // background job the first started does not outlive the check.
  CHECK(contains(out, "bad.md:52: run block exited 1"));
  CHECK_FALSE(contains(out, "bad.md:50:"));
  std::ifstream pid_in(pid_file);
  std::string pid;
  REQUIRE(std::getline(pid_in, pid));
  CHECK_FALSE(running(pid));
}

}  // namespace
}  // namespace remora::harness
