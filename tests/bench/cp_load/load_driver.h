// LoadDriver: the phases of remora-cp-load, in order: create the mesh through
// the JSON API, connect the simulated proxies and wait for their initial
// config, then K endpoint writes, each timed until every proxy holds the new
// address; finally a summary on stdout. Owns the simulated proxies.
//
// Main thread only (the streams report through LoadState).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/bench/cp_load/load_state.h"
#include "tests/bench/cp_load/load_stream.h"
#include "tests/bench/cp_load/measure.h"
#include "tests/bench/cp_load/mesh_api.h"
#include "tests/bench/cp_load/resource_names.h"

namespace remora::bench {

struct LoadOptions {
  std::string api_address;  // host:port of the JSON API
  std::string xds_address;  // host:port of ADS
  std::string token;        // bearer token for the API, if any
  int proxies = 1000;
  int services = 1000;
  int writes = 20;
  int endpoints_per_service = 2;
  int services_per_apply = 100;
  bool delta = false;
  bool no_create = false;  // skip creating the mesh
  std::chrono::milliseconds timeout{30000};  // per phase
  pid_t cp_pid = 0;                          // remora-cp, for RSS and CPU; 0 = not sampled
};

class LoadDriver {
 public:
  explicit LoadDriver(LoadOptions options);
  ~LoadDriver();
  LoadDriver(const LoadDriver&) = delete;
  LoadDriver& operator=(const LoadDriver&) = delete;

  // Runs every phase and prints the summary. Returns 0 when every proxy
  // synced and saw every write, 1 otherwise (the summary says what failed).
  int run();

 private:
  struct WriteResult {
    int service = 0;
    double api_ms = 0;      // PUT sent -> API answered
    double p50_ms = 0;      // API answered -> proxy has it, across proxies
    double max_ms = 0;      // ... the slowest proxy: the write is everywhere
    int seen = 0;           // proxies that got it before the deadline
    std::vector<double> latencies_ms;
  };

  base::Status createMesh();
  bool connectAndSync();
  void settle();
  WriteResult write(int index);
  void stopStreams();
  void sample(const char* phase);
  void printSummary(const std::vector<WriteResult>& writes);

  LoadOptions options_;
  LoadState state_;
  ResourceNameCache names_;
  std::unique_ptr<MeshApi> api_;
  std::vector<std::unique_ptr<SimulatedProxy>> streams_;
  const int write_salt_;

  // Figures for the summary.
  double create_seconds_ = 0;
  double sync_seconds_ = 0;
  double sync_p50_seconds_ = 0;
  int synced_ = 0;
  double initial_bytes_avg_ = 0;
  double initial_type_bytes_avg_[4] = {0, 0, 0, 0};
  double write_bytes_avg_ = 0;
  uint64_t max_response_bytes_ = 0;
  std::vector<std::pair<std::string, ProcessSample>> samples_;  // remora-cp by phase
  double tool_cpu_sync_ = 0;
  double tool_cpu_writes_ = 0;
};

}  // namespace remora::bench
