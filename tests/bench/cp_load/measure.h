// Small measuring helpers for the load driver: nearest-rank percentiles and
// a process's memory and CPU time from /proc. Pure or read-only; any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace remora::bench {

// Nearest-rank percentile (p in 0..100) of `values`; 0 when empty.
double percentile(std::vector<double> values, double p);

struct ProcessSample {
  uint64_t rss_kib = 0;  // VmRSS
  uint64_t hwm_kib = 0;  // VmHWM: the peak RSS so far
  double cpu_seconds = 0;  // utime + stime, all threads
  int threads = 0;
};

// nullopt when the process is gone or unreadable.
std::optional<ProcessSample> sampleProcess(pid_t pid);

// This process's own CPU seconds (user + system).
double ownCpuSeconds();

}  // namespace remora::bench
