#include "tests/integration/harness/netns.h"

#include <unistd.h>

#include <atomic>

namespace remora::harness {
namespace {

using base::Error;
using base::fail;

std::string uniquePrefix() {
  static std::atomic<int> counter{0};
  return "rmr" + std::to_string(::getpid()) + "x" + std::to_string(counter++);
}

base::Status runIp(const std::vector<std::string>& args) {
  CommandResult r = run(args, std::chrono::seconds(20));
  if (r.exit_code != 0) return fail(Error::kIo, "command failed: " + r.describe());
  return base::Status::ok();
}

}  // namespace

base::Result<std::unique_ptr<Netns>> Netns::create(const std::string& role) {
  std::unique_ptr<Netns> ns(new Netns(uniquePrefix() + "-" + role));
  if (base::Status s = runIp({"ip", "netns", "add", ns->name_}); !s) {
    ns->name_.clear();  // nothing to delete
    return s.error();
  }
  if (base::Status s = ns->run({"ip", "link", "set", "lo", "up"}); !s) return s.error();
  return ns;
}

Netns::~Netns() {
  if (name_.empty()) return;
  // Deleting the namespace removes its interfaces (and a veth's peer) with it.
  remora::harness::run({"ip", "netns", "del", name_}, std::chrono::seconds(20));
}

std::vector<std::string> Netns::exec(std::vector<std::string> args) const {
  std::vector<std::string> out = {"ip", "netns", "exec", name_};
  out.insert(out.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  return out;
}

std::vector<std::string> Netns::execAs(unsigned uid, std::vector<std::string> args) const {
  const std::string id = std::to_string(uid);
  std::vector<std::string> out = exec({"setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"});
  out.insert(out.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  return out;
}

base::Status Netns::run(std::vector<std::string> args) const { return runIp(exec(std::move(args))); }

CommandResult Netns::runResult(std::vector<std::string> args, std::chrono::milliseconds timeout) const {
  return remora::harness::run(exec(std::move(args)), timeout);
}

base::Result<std::unique_ptr<Lan>> Lan::create(const std::string& subnet_prefix) {
  std::unique_ptr<Lan> lan(new Lan());
  lan->prefix_ = subnet_prefix;
  auto sw = Netns::create("sw");
  if (!sw) return sw.error();
  lan->sw_ = std::move(*sw);
  Netns& s = *lan->sw_;
  for (std::vector<std::string> cmd : {std::vector<std::string>{"ip", "link", "add", "br0", "type", "bridge"},
                                       {"ip", "addr", "add", lan->bridgeAddress() + "/24", "dev", "br0"},
                                       {"ip", "link", "set", "br0", "up"}}) {
    if (base::Status st = s.run(cmd); !st) return st.error();
  }
  return lan;
}

base::Status Lan::join(Netns& pod, int host) {
  const std::string port = "p" + std::to_string(links_++);
  // Created inside the pod, its peer straight inside the switch: no
  // interface ever exists in the test's own namespace.
  if (base::Status s = pod.run({"ip", "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns",
                                sw_->name()});
      !s) {
    return s;
  }
  // The default route makes virtual IPs (which no interface holds) routable,
  // so connections to them reach the capture rules, as in a cluster.
  for (std::vector<std::string> cmd : {std::vector<std::string>{"ip", "addr", "add", address(host) + "/24", "dev", "eth0"},
                                       {"ip", "link", "set", "eth0", "up"},
                                       {"ip", "route", "add", "default", "via", bridgeAddress()}}) {
    if (base::Status s = pod.run(cmd); !s) return s;
  }
  for (std::vector<std::string> cmd : {std::vector<std::string>{"ip", "link", "set", port, "master", "br0"},
                                       {"ip", "link", "set", port, "up"}}) {
    if (base::Status s = sw_->run(cmd); !s) return s;
  }
  return base::Status::ok();
}

}  // namespace remora::harness
