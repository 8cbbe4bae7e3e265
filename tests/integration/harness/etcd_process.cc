#include "tests/integration/harness/etcd_process.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "tests/integration/harness/paths.h"
#include "tests/support/pki/test_pki.h"

namespace remora::harness {
namespace {

// A port the kernel just handed out on loopback. Closing it leaves a small
// window for someone else to take it; start() retries on new ports if so.
base::Result<uint16_t> freeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return base::fail(base::Error::kIo, "socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return base::fail(base::Error::kIo, "binding a loopback port failed");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string url(uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

}  // namespace

base::Result<std::unique_ptr<EtcdCluster>> EtcdCluster::start(int members, std::chrono::milliseconds timeout) {
  return startWith(members, std::nullopt, timeout);
}

base::Result<std::unique_ptr<EtcdCluster>> EtcdCluster::startTls(int members, EtcdTls tls,
                                                                 std::chrono::milliseconds timeout) {
  return startWith(members, tls, timeout);
}

base::Result<std::unique_ptr<EtcdCluster>> EtcdCluster::startWith(int members, std::optional<EtcdTls> tls,
                                                                  std::chrono::milliseconds timeout) {
  const std::string etcd = findInPath("etcd");
  const std::string etcdctl = findInPath("etcdctl");
  if (etcd.empty() || etcdctl.empty()) {
    return base::fail(base::Error::kNotFound,
                      "etcd or etcdctl is not in $PATH: install Debian's etcd-server and etcd-client "
                      "(scripts/deps.sh); the etcd tests need a real etcd");
  }
  std::string last_error;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unique_ptr<EtcdCluster> cluster(new EtcdCluster());
    cluster->etcd_ = etcd;
    cluster->etcdctl_ = etcdctl;
    cluster->token_ = "remora-test-" + std::to_string(::getpid()) + "-" + std::to_string(attempt);
    cluster->members_.resize(static_cast<size_t>(members));
    cluster->tls_ = tls;
    if (tls) cluster->writeCertificates();
    for (int i = 0; i < members; ++i) {
      auto client = freeLoopbackPort();
      auto peer = freeLoopbackPort();
      if (!client || !peer) return base::fail(base::Error::kIo, "no free loopback port");
      cluster->members_[static_cast<size_t>(i)].name = "m" + std::to_string(i);
      cluster->members_[static_cast<size_t>(i)].client_port = *client;
      cluster->members_[static_cast<size_t>(i)].peer_port = *peer;
    }
    base::Status started;
    for (int i = 0; i < members && started; ++i) started = cluster->startMember(i);
    if (started) started = cluster->waitHealthy(timeout);
    if (started) return cluster;
    last_error = started.message();
    // Most likely a port was taken between our probe and etcd's bind: go
    // again on fresh ports with a fresh data dir.
  }
  return base::fail(base::Error::kIo, "etcd cluster did not start: " + last_error);
}

EtcdCluster::~EtcdCluster() {
  for (Member& member : members_) {
    if (!member.process) continue;
    (void)member.process->signal(SIGKILL);
    (void)member.process->waitExit(std::chrono::seconds(5));
  }
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(endpoint(i));
  return out;
}

std::string EtcdCluster::endpoint(int member) const {
  return "127.0.0.1:" + std::to_string(members_.at(static_cast<size_t>(member)).client_port);
}

std::string EtcdCluster::endpointsText() const {
  std::string out;
  for (int i = 0; i < size(); ++i) out += (i > 0 ? "," : "") + endpoint(i);
  return out;
}

void EtcdCluster::writeCertificates() {
  const testing::pki::Authority ca = testing::pki::makeRoot("remora etcd test CA");
  testing::pki::LeafSpec server;
  server.dns_sans = {"localhost"};
  server.ip_sans = {"127.0.0.1"};
  server.common_name = "etcd";
  const testing::pki::Leaf server_leaf = testing::pki::issue(ca, server);
  testing::pki::LeafSpec client;
  client.common_name = "remora-test-client";
  client.server_auth = false;
  const testing::pki::Leaf client_leaf = testing::pki::issue(ca, client);
  ca_file_ = testing::pki::writeFile(dir_.path(), "ca.pem", ca.certificate_pem);
  server_cert_file_ = testing::pki::writeFile(dir_.path(), "server.pem", server_leaf.certificate_chain_pem);
  server_key_file_ = testing::pki::writeFile(dir_.path(), "server-key.pem", server_leaf.private_key_pem);
  client_cert_file_ = testing::pki::writeFile(dir_.path(), "client.pem", client_leaf.certificate_chain_pem);
  client_key_file_ = testing::pki::writeFile(dir_.path(), "client-key.pem", client_leaf.private_key_pem);
}

std::string EtcdCluster::clientUrl(uint16_t port) const {
  return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port);
}

std::vector<std::string> EtcdCluster::memberArgs(int member) const {
  const Member& self = members_.at(static_cast<size_t>(member));
  std::string initial_cluster;
  for (const Member& other : members_) {
    if (!initial_cluster.empty()) initial_cluster += ',';
    initial_cluster += other.name + "=" + url(other.peer_port);
  }
  std::vector<std::string> args{etcd_,
          "--name", self.name,
          "--data-dir", dir_.file(self.name),
          "--listen-client-urls", clientUrl(self.client_port),
          "--advertise-client-urls", clientUrl(self.client_port),
          "--listen-peer-urls", url(self.peer_port),
          "--initial-advertise-peer-urls", url(self.peer_port),
          "--initial-cluster", initial_cluster,
          "--initial-cluster-state", "new",
          "--initial-cluster-token", token_,
          // Fast elections keep the failover tests short.
          "--heartbeat-interval", "50",
          "--election-timeout", "500",
          "--logger", "zap",
          "--log-outputs", "stderr",
          "--log-level", "warn"};
  if (tls_) {
    args.insert(args.end(), {"--cert-file", server_cert_file_, "--key-file", server_key_file_});
    if (tls_->require_client_certificate) {
      args.insert(args.end(), {"--client-cert-auth", "--trusted-ca-file", ca_file_});
    }
  }
  return args;
}

base::Status EtcdCluster::startMember(int member) {
  Member& self = members_.at(static_cast<size_t>(member));
  if (self.process && self.process->running()) {
    return base::fail(base::Error::kInvalidArgument, "etcd member " + self.name + " is already running");
  }
  auto process = Process::start(ProcessOptions{memberArgs(member), {}, dir_.path(), self.name});
  if (!process) return process.status();
  self.process.emplace(std::move(*process));
  return base::Status::ok();
}

base::Status EtcdCluster::kill(int member) {
  Member& self = members_.at(static_cast<size_t>(member));
  if (!self.process) return base::fail(base::Error::kInvalidArgument, "etcd member " + self.name + " is not running");
  if (auto signalled = self.process->signal(SIGKILL); !signalled) return signalled;
  auto exited = self.process->waitExit(std::chrono::seconds(5));
  if (!exited) return exited.status();
  self.process.reset();
  return base::Status::ok();
}

base::Status EtcdCluster::restart(int member) { return startMember(member); }

bool EtcdCluster::running(int member) {
  Member& self = members_.at(static_cast<size_t>(member));
  return self.process && self.process->running();
}

base::Status EtcdCluster::waitHealthy(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  for (;;) {
    std::string running_endpoints;
    for (int i = 0; i < size(); ++i) {
      Member& self = members_[static_cast<size_t>(i)];
      if (!self.process) continue;
      if (!self.process->running()) {
        return base::fail(base::Error::kIo, "etcd member " + self.name + " exited: " + self.process->readStderr());
      }
      running_endpoints += (running_endpoints.empty() ? "" : ",") + clientUrl(self.client_port);
    }
    if (running_endpoints.empty()) return base::fail(base::Error::kInvalidArgument, "no etcd member is running");
    std::vector<std::string> args{etcdctl_, "--endpoints=" + running_endpoints, "--command-timeout=1s",
                                  "--dial-timeout=1s"};
    if (tls_) {
      args.insert(args.end(), {"--cacert=" + ca_file_, "--cert=" + client_cert_file_, "--key=" + client_key_file_});
    }
    args.insert(args.end(), {"endpoint", "health"});
    CommandResult health = run(args, std::chrono::seconds(5), {{"ETCDCTL_API", "3"}});
    if (health.exit_code == 0) return base::Status::ok();
    last = health.describe();
    if (std::chrono::steady_clock::now() > deadline) {
      return base::fail(base::Error::kIo, "etcd members " + running_endpoints + " not healthy in time: " + last);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace remora::harness
