// Scratch files for one integration test: a private directory removed at the
// end of the test, and helpers to write, read and wait for files in it.
// Used by test code and by Process/ProxyProcess; single test thread.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "xds/base/status.h"

namespace remora::harness {

// A directory made with mkdtemp under $TMPDIR (or /tmp), removed with all its
// contents on destruction. Set REMORA_KEEP_TEMP=1 to keep it for debugging.
// Move-only.
class TempDir {
 public:
  // Aborts the test binary if mkdtemp fails: nothing useful can run then.
  explicit TempDir(std::string_view prefix = "remora-it");
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() joined with a file name.
  std::string file(std::string_view name) const;

 private:
  void remove();

  std::string path_;
};

// Writes (replaces) a whole file.
base::Status writeFile(const std::string& path, std::string_view content);

// Reads a whole file.
base::Result<std::string> readFile(const std::string& path);

// Waits until `path` exists with non-empty content that stays the same for
// two reads 10 ms apart (so a half-written file is not returned), and returns
// that content. `keep_waiting`, when given, is asked on every poll; returning
// false stops the wait early (e.g. the process that should write the file
// died).
base::Result<std::string> waitForFile(const std::string& path, std::chrono::milliseconds timeout,
                                      const std::function<bool()>& keep_waiting = {});

}  // namespace remora::harness
