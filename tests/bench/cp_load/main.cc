// remora-cp-load: simulates N sidecars on ADS against remora-cp and measures
// initial sync, API write -> every proxy, bytes per proxy and the control
// plane's memory (docs/benchmarks.md, "Control plane scale").
//
//   remora-cp-load --api HOST:PORT --xds HOST:PORT [--proxies 1000] [--services 1000]
//                  [--writes 20] [--delta] [--endpoints-per-service 2] [--timeout 30s]
//                  [--cp-pid PID] [--token-file F]
#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/bench/cp_load/load_driver.h"

namespace {

// "30s", "500ms", "2m" -> milliseconds; nullopt when malformed.
std::optional<std::chrono::milliseconds> parseDuration(const std::string& text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || value <= 0) return std::nullopt;
  const std::string unit(end, text.data() + text.size());
  if (unit == "ms") return std::chrono::milliseconds(value);
  if (unit == "s" || unit.empty()) return std::chrono::seconds(value);
  if (unit == "m") return std::chrono::minutes(value);
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  remora::bench::LoadOptions options;
  std::string timeout = "30s";
  std::string token_file;
  int cp_pid = 0;
  CLI::App app{"remora-cp-load: simulated sidecars against remora-cp"};
  app.add_option("--api", options.api_address, "JSON API host:port")->required();
  app.add_option("--xds", options.xds_address, "ADS host:port")->required();
  app.add_option("--proxies", options.proxies, "simulated proxies, one connection each")->check(CLI::Range(1, 100000));
  app.add_option("--services", options.services, "services to create")->check(CLI::Range(1, 65536));
  app.add_option("--writes", options.writes, "endpoint writes to time")->check(CLI::Range(0, 65536));
  app.add_option("--endpoints-per-service", options.endpoints_per_service)->check(CLI::Range(1, 200));
  app.add_option("--services-per-apply", options.services_per_apply, "services (and their endpoints) per apply")
      ->check(CLI::Range(1, 65536));
  app.add_flag("--delta", options.delta, "incremental xDS instead of state of the world");
  app.add_flag("--no-create", options.no_create, "the services exist already (or --writes 0 against a test server)");
  app.add_option("--timeout", timeout, "limit per phase (initial sync, each write), e.g. 30s");
  app.add_option("--cp-pid", cp_pid, "remora-cp's PID, for its RSS and CPU time");
  app.add_option("--token-file", token_file, "bearer token for the API");
  CLI11_PARSE(app, argc, argv);

  auto limit = parseDuration(timeout);
  if (!limit) {
    std::fprintf(stderr, "remora-cp-load: --timeout: want e.g. 30s or 500ms, got '%s'\n", timeout.c_str());
    return 2;
  }
  options.timeout = *limit;
  options.cp_pid = cp_pid;
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in || !std::getline(in, options.token)) {
      std::fprintf(stderr, "remora-cp-load: cannot read --token-file %s\n", token_file.c_str());
      return 2;
    }
  }
  remora::bench::LoadDriver driver(std::move(options));
  return driver.run();
}
