#include "proxy/capture/init_command.h"

#include <catch2/catch.hpp>
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

using remora::capture::addInitCommand;
using remora::capture::InitFlags;
using remora::capture::runInit;

namespace {

// Runs runInit with both outputs captured in temporary files.
struct Captured {
  int code = 0;
  std::string out;
  std::string err;
};

std::string readAll(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  return text;
}

Captured runCaptured(const InitFlags& flags) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  REQUIRE(out);
  REQUIRE(err);
  Captured c;
  c.code = runInit(flags, out, err);
  c.out = readAll(out);
  c.err = readAll(err);
  return c;
}

}  // namespace

TEST_CASE("a bad flag value exits 2 with one line naming the flag", "[capture]") {
  InitFlags flags;
  flags.exclude_outbound_cidrs = "10.0.0.0/40";
  auto c = runCaptured(flags);
  CHECK(c.code == 2);
  CHECK(c.err == "remora-proxy init: --exclude-outbound-cidrs: '10.0.0.0/40' has a prefix length over 32\n");
  CHECK(c.out.empty());
}

TEST_CASE("dry run prints both families' restore input", "[capture]") {
  InitFlags flags;
  flags.dry_run = true;
  auto c = runCaptured(flags);
  CHECK(c.code == 0);
  CHECK(c.out.find("# IPv4: iptables-restore --noflush input") != std::string::npos);
  CHECK(c.out.find("# IPv6: ip6tables-restore --noflush input") != std::string::npos);
  CHECK(c.out.find("-A REMORA_OUTPUT -d 127.0.0.1/32 -o lo -j RETURN") != std::string::npos);
  CHECK(c.out.find("-A REMORA_OUTPUT -d ::1/128 -o lo -j RETURN") != std::string::npos);
}

TEST_CASE("dry run with --ipv6 off prints IPv4 only", "[capture]") {
  InitFlags flags;
  flags.dry_run = true;
  flags.ipv6 = "off";
  auto c = runCaptured(flags);
  CHECK(c.code == 0);
  CHECK(c.out.find("::1/128") == std::string::npos);
  CHECK(c.out.find("# IPv6: skipped (--ipv6 off)") != std::string::npos);
}

TEST_CASE("the init subcommand fills the flags from the command line", "[capture]") {
  CLI::App app;
  InitFlags flags;
  CLI::App* cmd = addInitCommand(app, flags);
  const char* argv[] = {"remora-proxy", "init",         "--proxy-uid", "2000",       "--exclude-inbound-ports",
                        "15000,15090",  "--ipv6",       "off",         "--dry-run"};
  app.parse(static_cast<int>(sizeof(argv) / sizeof(argv[0])), const_cast<char**>(argv));
  CHECK(cmd->parsed());
  CHECK(flags.proxy_uid == "2000");
  CHECK(flags.exclude_inbound_ports == "15000,15090");
  CHECK(flags.ipv6 == "off");
  CHECK(flags.dry_run);
  CHECK_FALSE(flags.cleanup);
  CHECK(flags.outbound_port == "15001");
}
