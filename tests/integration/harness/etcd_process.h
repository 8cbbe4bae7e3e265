// EtcdCluster: real etcd members (Debian's etcd-server, `etcd` in $PATH) on
// loopback for the etcd store and replica tests. Owned by the test thread
// that started it.
//
// Each member gets a client and a peer port (found by binding port 0 and
// closing; if a member then fails to bind, the cluster is started again on
// new ports) and a data directory in the cluster's TempDir. kill(i) sends
// SIGKILL to that member's PID only; restart(i) starts it again on the same
// data directory and ports. The destructor SIGKILLs every member it started.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/harness/process.h"
#include "tests/integration/harness/temp_dir.h"
#include "xds/base/status.h"

namespace remora::harness {

class EtcdCluster {
 public:
  // Starts `members` members and waits (up to `timeout`) until the cluster
  // answers a linearizable read on every member (etcdctl endpoint health).
  // Fails, naming what to install, when etcd or etcdctl is missing.
  static base::Result<std::unique_ptr<EtcdCluster>> start(
      int members, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  // "127.0.0.1:PORT" of every member, in order (whether running or not).
  std::vector<std::string> endpoints() const;
  std::string endpoint(int member) const;
  // Comma-separated, for flags such as --etcd-endpoints.
  std::string endpointsText() const;

  // SIGKILL, then reaps it.
  base::Status kill(int member);
  // Starts a killed member again (same name, data dir and ports). Does not
  // wait for health: a lone member of a majority-less cluster never is.
  base::Status restart(int member);
  bool running(int member);
  // Waits until every running member answers a linearizable read.
  base::Status waitHealthy(std::chrono::milliseconds timeout);

 private:
  struct Member {
    std::string name;
    uint16_t client_port = 0;
    uint16_t peer_port = 0;
    std::optional<Process> process;
  };

  EtcdCluster() = default;
  base::Status startMember(int member);
  std::vector<std::string> memberArgs(int member) const;

  TempDir dir_{"remora-etcd"};
  std::string etcd_;
  std::string etcdctl_;
  std::string token_;
  std::vector<Member> members_;
};

}  // namespace remora::harness
