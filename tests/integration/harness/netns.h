// Network namespaces that a test creates for itself and removes when it is
// done, even when it fails: the "pods" of tests/e2e, and the sandboxes of
// the capture tests. Every
// command goes through `ip` (Debian's iproute2); nothing outside the test's
// own namespaces is touched. Test thread only; the tests run as root.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/harness/process.h"
#include "xds/base/status.h"

namespace remora::harness {

// One namespace, deleted by the destructor. Its loopback is up.
class Netns {
 public:
  // `role` ("a", "b", "sw") is appended to a prefix unique to this process.
  static base::Result<std::unique_ptr<Netns>> create(const std::string& role);
  ~Netns();
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  const std::string& name() const { return name_; }
  // {"ip", "netns", "exec", NAME, args...}: the PID of the started process
  // is the command's own, since `ip netns exec` execs it.
  std::vector<std::string> exec(std::vector<std::string> args) const;
  // The same, dropping to `uid`:`uid` first (setpriv), as a sidecar runs.
  std::vector<std::string> execAs(unsigned uid, std::vector<std::string> args) const;
  // Runs a command inside and fails with its output unless it exits 0.
  base::Status run(std::vector<std::string> args) const;
  CommandResult runResult(std::vector<std::string> args,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;

 private:
  explicit Netns(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// A switch namespace with a bridge, and pods joined to it by veth pairs:
// pod interface "eth0" with ADDRESS/24, its peer enslaved to the bridge. The
// bridge itself gets `bridge_address` (the control plane listens there).
class Lan {
 public:
  static base::Result<std::unique_ptr<Lan>> create(const std::string& subnet_prefix);  // "10.77.0."
  // Joins `pod` at SUBNET.<host>; IPv4 only.
  base::Status join(Netns& pod, int host);
  Netns& sw() { return *sw_; }
  std::string address(int host) const { return prefix_ + std::to_string(host); }
  std::string bridgeAddress() const { return address(254); }

 private:
  std::string prefix_;
  std::unique_ptr<Netns> sw_;
  int links_ = 0;
};

}  // namespace remora::harness
