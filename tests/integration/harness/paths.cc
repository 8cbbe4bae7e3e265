#include "tests/integration/harness/paths.h"

#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

namespace remora::harness {
namespace {

namespace fs = std::filesystem;

std::string envOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return (value != nullptr && value[0] != '\0') ? std::string(value) : std::string(fallback);
}

bool isExecutableFile(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

// Binaries whose folder is known: looked up directly, no directory walk.
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kKnownBinaries = {{
    {"remora-proxy", "proxy/main/remora-proxy"},
    {"remora-cp", "control-plane/main/remora-cp"},
    {"remoractl", "control-plane/cli/remoractl"},
    {"grpc_echo_server", "tests/integration/grpc/grpc_echo_server"},
    {"grpc_echo_client", "tests/integration/grpc/grpc_echo_client"},
}};

}  // namespace

std::string buildDir() { return envOr("REMORA_BUILD_DIR", REMORA_DEFAULT_BUILD_DIR); }

std::string sourceDir() { return envOr("REMORA_SOURCE_DIR", REMORA_DEFAULT_SOURCE_DIR); }

std::string sourcePath(std::string_view relative) {
  return (fs::path(sourceDir()) / fs::path(relative)).string();
}

std::string binaryPath(std::string_view name) {
  const fs::path build(buildDir());
  for (const auto& [known, relative] : kKnownBinaries) {
    if (known == name && !relative.empty()) {
      const fs::path candidate = build / fs::path(relative);
      if (isExecutableFile(candidate)) return candidate.string();
    }
  }
  // Unknown or moved: walk the build tree, skipping CMake's scratch folders.
  std::error_code ec;
  fs::recursive_directory_iterator it(build, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && it->path().filename() == "CMakeFiles") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->path().filename() == name && isExecutableFile(it->path())) return it->path().string();
  }
  for (const auto& [known, relative] : kKnownBinaries) {
    if (known == name && !relative.empty()) return (build / fs::path(relative)).string();
  }
  return (build / fs::path(name)).string();
}

std::string python3Path() {
  if (isExecutableFile("/usr/bin/python3")) return "/usr/bin/python3";
  return "python3";
}

std::string findInPath(std::string_view name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    const std::string candidate = std::string(rest.substr(0, colon)) + "/" + std::string(name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return "";
}

}  // namespace remora::harness
