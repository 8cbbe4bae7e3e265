// Where the integration tests find Remora's binaries and source files.
// Called by test code and by the harness itself; plain functions, any thread.
//
// ctest sets REMORA_BUILD_DIR and REMORA_SOURCE_DIR (see remora_test() in
// tests/CMakeLists.txt); when a test binary is run by hand the directories it
// was configured with are used instead, so `./harness_test` just works.
#pragma once

#include <string>
#include <string_view>

namespace remora::harness {

// The CMake build directory ($REMORA_BUILD_DIR, else the configured one).
std::string buildDir();

// The repository root ($REMORA_SOURCE_DIR, else the configured one).
std::string sourceDir();

// The path of a binary built by this tree: well-known names map to their
// folder (remora-proxy -> proxy/main/remora-proxy); other names are searched
// for under buildDir(). Returns the expected path even when the file does not
// exist yet, so the caller's error names where it looked.
std::string binaryPath(std::string_view name);

// sourceDir() joined with a repository-relative path.
std::string sourcePath(std::string_view relative);

// The Python interpreter that runs the backends in tests/integration/backends
// (Debian's /usr/bin/python3 when present: it starts faster than a shim).
std::string python3Path();

// An executable's path from $PATH ("" when there is none), e.g. "node".
std::string findInPath(std::string_view name);

}  // namespace remora::harness
