// EtcdCluster: real etcd members (Debian's etcd-server, `etcd` in $PATH) on
// loopback for the etcd store and replica tests. Owned by the test thread
// that started it.
//
// Each member gets a client and a peer port (found by binding port 0 and
// closing; if a member then fails to bind, the cluster is started again on
// new ports) and a data directory in the cluster's TempDir. kill(i) sends
// SIGKILL to that member's PID only; restart(i) starts it again on the same
// data directory and ports. The destructor SIGKILLs every member it started.
//
// With EtcdTls, members serve clients over https with a server certificate
// (SANs 127.0.0.1 and localhost) from a fresh test CA, and optionally demand
// a client certificate from that CA; the CA, the server and a client
// certificate are written to the cluster's TempDir. Peers stay plain http.
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

// TLS for the client port of every member.
struct EtcdTls {
  // etcd's --client-cert-auth: clients must show a certificate from the CA.
  bool require_client_certificate = false;
};

class EtcdCluster {
 public:
  // Starts `members` members and waits (up to `timeout`) until the cluster
  // answers a linearizable read on every member (etcdctl endpoint health).
  // Fails, naming what to install, when etcd or etcdctl is missing.
  static base::Result<std::unique_ptr<EtcdCluster>> start(
      int members, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // The same, with clients served over TLS.
  static base::Result<std::unique_ptr<EtcdCluster>> startTls(
      int members, EtcdTls tls, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  // "127.0.0.1:PORT" of every member, in order (whether running or not).
  std::vector<std::string> endpoints() const;
  std::string endpoint(int member) const;
  // Comma-separated, for flags such as --etcd-endpoints.
  std::string endpointsText() const;

  // TLS mode only ("" otherwise): PEM files of the test CA, and of a client
  // certificate (CN remora-test-client, clientAuth) and its key issued by it.
  bool tls() const { return tls_.has_value(); }
  const std::string& caFile() const { return ca_file_; }
  const std::string& clientCertFile() const { return client_cert_file_; }
  const std::string& clientKeyFile() const { return client_key_file_; }

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
  static base::Result<std::unique_ptr<EtcdCluster>> startWith(int members, std::optional<EtcdTls> tls,
                                                              std::chrono::milliseconds timeout);
  void writeCertificates();
  std::string clientUrl(uint16_t port) const;
  base::Status startMember(int member);
  std::vector<std::string> memberArgs(int member) const;

  TempDir dir_{"remora-etcd"};
  std::string etcd_;
  std::string etcdctl_;
  std::string token_;
  std::vector<Member> members_;
  std::optional<EtcdTls> tls_;
  std::string ca_file_, server_cert_file_, server_key_file_, client_cert_file_, client_key_file_;
};

}  // namespace remora::harness
