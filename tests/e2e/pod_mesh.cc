#include "tests/e2e/pod_mesh.h"

#include <sys/stat.h>

#include <cstdlib>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/proxy_process.h"

namespace remora::e2e {
namespace {

using base::Error;
using base::fail;

// A file the proxy user (not root) must read or run.
base::Status copyOpen(const std::string& from, const std::string& to, mode_t mode) {
  auto content = harness::readFile(from);
  if (!content) return content.error();
  if (base::Status s = harness::writeFile(to, *content); !s) return s;
  if (::chmod(to.c_str(), mode) != 0) return fail(Error::kIo, "chmod " + to + " failed");
  return base::Status::ok();
}

}  // namespace

base::Result<std::unique_ptr<PodMesh>> PodMesh::start(std::vector<std::string> cp_args, bool tracing) {
  std::unique_ptr<PodMesh> mesh(new PodMesh());
  // mkdtemp makes 0700 directories; the sidecars run as the proxy user.
  ::chmod(mesh->dir_.path().c_str(), 0755);
  mesh->proxy_binary_ = mesh->dir_.file("remora-proxy");
  if (base::Status s = copyOpen(harness::binaryPath("remora-proxy"), mesh->proxy_binary_, 0755); !s) {
    return s.error();
  }
  auto lan = Lan::create("10.77.0.");
  if (!lan) return lan.error();
  mesh->lan_ = std::move(*lan);
  if (tracing) {
    auto collector =
        harness::TraceCollectorProcess::startIn(mesh->dir_.path(), mesh->lan_->sw().exec({}), mesh->lan_->bridgeAddress());
    if (!collector) return collector.error();
    mesh->collector_.emplace(std::move(*collector));
    for (std::string arg : {std::string("--tracing-collector"),
                            "otlp://" + mesh->lan_->bridgeAddress() + ":" + std::to_string(mesh->collector_->port()),
                            std::string("--tracing-sampling"), std::string("100")}) {
      cp_args.push_back(std::move(arg));
    }
  }
  harness::ControlPlaneOptions options;
  options.insecure = false;
  options.extra_args = std::move(cp_args);
  options.command_prefix = mesh->lan_->sw().exec({});
  options.xds_host = mesh->lan_->bridgeAddress();
  auto cp = harness::ControlPlaneProcess::start(std::move(options));
  if (!cp) return cp.error();
  mesh->cp_ = std::move(*cp);
  mesh->bundle_ = mesh->dir_.file("root.pem");
  if (base::Status s = copyOpen(mesh->cp_->trustBundlePath(), mesh->bundle_, 0644); !s) return s.error();
  return mesh;
}

std::string PodMesh::xdsAddress() const { return cp_->xdsAddress(); }

base::Result<Pod*> PodMesh::addPod(const std::string& name, int host) {
  auto ns = Netns::create(name);
  if (!ns) return ns.error();
  auto pod = std::make_unique<Pod>();
  pod->name = name;
  pod->ip = lan_->address(host);
  pod->ns = std::move(*ns);
  if (base::Status s = lan_->join(*pod->ns, host); !s) return s.error();
  pods_.push_back(std::move(pod));
  return pods_.back().get();
}

base::Status PodMesh::startApp(Pod& pod, std::vector<std::string> args, const std::string& port_file) {
  const std::string name = pod.name + "-app" + std::to_string(pod.apps.size());
  auto process = harness::Process::start(harness::ProcessOptions{pod.ns->exec(std::move(args)), {}, dir_.path(), name});
  if (!process) return process.error();
  pod.apps.push_back(std::move(*process));
  if (port_file.empty()) return base::Status::ok();
  harness::Process& app = pod.apps.back();
  auto port = harness::waitForFile(port_file, std::chrono::seconds(10), [&] { return app.running(); });
  if (!port) return fail(Error::kIo, name + " did not start: " + port.error().message + "\n" + app.readStderr());
  return base::Status::ok();
}

base::Result<harness::Process> PodMesh::launchSidecar(Pod& pod, const std::string& service,
                                                      const std::string& app_ports, std::vector<std::string> extra) {
  auto token = cp_->createToken(service);
  if (!token) return token.error();
  const std::string token_file = dir_.file(pod.name + ".token");
  if (base::Status s = harness::writeFile(token_file, *token + "\n"); !s) return s.error();
  ::chmod(token_file.c_str(), 0644);
  std::vector<std::string> args = {proxy_binary_,   "--control-plane", xdsAddress(), "--node-id",     pod.name,
                                   "--service",     service,           "--pod-ip",   pod.ip,          "--app-ports",
                                   app_ports,       "--interception",  "redirect",   "--ca-file",     bundle_,
                                   "--token-file",  token_file};
  args.insert(args.end(), extra.begin(), extra.end());
  return harness::Process::start(
      harness::ProcessOptions{pod.ns->execAs(kProxyUid, std::move(args)), {}, dir_.path(), pod.name + "-sidecar"});
}

base::Status PodMesh::startSidecar(Pod& pod, const std::string& service, const std::string& app_ports,
                                   std::vector<std::string> extra) {
  if (base::Status s = pod.ns->run({proxy_binary_, "init"}); !s) return s;
  auto sidecar = launchSidecar(pod, service, app_ports, std::move(extra));
  if (!sidecar) return sidecar.error();
  pod.sidecar.emplace(std::move(*sidecar));
  harness::CommandResult ready = pod.ns->runResult({proxy_binary_, "wait-ready", "--timeout", "30"},
                                                   std::chrono::seconds(40));
  if (ready.exit_code != 0) {
    return fail(Error::kIo, pod.name + "'s sidecar did not become ready: " + ready.describe() + "\n" +
                                pod.sidecar->readStderr());
  }
  return base::Status::ok();
}

base::Status PodMesh::apply(const std::string& json) {
  auto r = cp_->api("POST", "/api/v1/apply", json);
  if (!r) return r.error();
  if (r->status / 100 != 2) return fail(Error::kIo, "apply answered " + std::to_string(r->status) + ": " + r->body);
  return base::Status::ok();
}

std::map<std::string, std::string> PodMesh::stats(const Pod& pod) const {
  return harness::parseStats(pod.ns->runResult({"curl", "-sS", "http://127.0.0.1:15000/stats"}).stdout_text);
}

namespace {

// curl -w "\n%{http_code}": the status follows the body on a line of its own.
PodMesh::Reply parseCurl(const harness::CommandResult& r) {
  PodMesh::Reply reply;
  const size_t newline = r.stdout_text.rfind('\n');
  if (newline != std::string::npos) {
    reply.status = std::atoi(r.stdout_text.c_str() + newline + 1);
    reply.body = r.stdout_text.substr(0, newline);
  }
  reply.error = r.stderr_text;
  return reply;
}

}  // namespace

PodMesh::Reply PodMesh::curl(const Pod& pod, const std::string& url, std::vector<std::string> extra) const {
  std::vector<std::string> args = {"curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  return parseCurl(pod.ns->runResult(std::move(args)));
}

PodMesh::Reply PodMesh::curlAsProxyUser(const Pod& pod, const std::string& url) const {
  return parseCurl(harness::run(
      pod.ns->execAs(kProxyUid, {"curl", "-sS", "--max-time", "5", "-w", "\n%{http_code}", url}), std::chrono::seconds(10)));
}

std::string PodMesh::sidecarLogs() const {
  std::string out;
  for (const auto& pod : pods_) {
    if (pod->sidecar) out += "--- " + pod->name + " sidecar ---\n" + pod->sidecar->readStderr();
  }
  return out + "--- remora-cp ---\n" + cp_->logs();
}


}  // namespace remora::e2e
