// Moving a mesh between control planes with `remoractl store export` and
// `remoractl store import` (docs/operations.md, "Backup, restore and
// migration"): remora-cp #1 gets one object of every mesh kind, join tokens
// and an issued certificate; its export is imported by a fresh remora-cp #2,
// which must then hold the same objects (uids and creation times included)
// and accept a join token minted by #1.
//
// Both control planes run in secure mode (the CA is what join tokens are
// for). The target's store is a parameter: the test body takes the extra
// remora-cp flags of #2, so the etcd variant is one more TEST_CASE passing
// {"--store", "etcd", "--etcd-endpoints", ...}.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "remora/ca/v1/ca.grpc.pb.h"
#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/etcd_process.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/unit/control_plane/ca/csr_factory.h"

namespace remora {
namespace {

using namespace std::chrono_literals;
using harness::ControlPlaneProcess;
using Json = nlohmann::json;

// One object of every mesh kind.
constexpr const char* kMesh = R"(kind: Service
metadata: {name: reviews, labels: {team: books}}
spec:
  ports: [{name: http, port: 9080}]
  serviceAccounts: [reviews]
---
kind: Endpoint
metadata: {name: reviews-1}
spec: {service: reviews, address: 127.0.0.1, port: 9080, labels: {version: v2}}
---
kind: TrafficPolicy
metadata: {name: reviews-policy}
spec: {service: reviews, loadBalancer: LEAST_REQUEST}
---
kind: RouteRule
metadata: {name: reviews-canary}
spec: {service: reviews, routes: [{split: [{version: v2, weight: 100}]}]}
---
kind: AuthorizationPolicy
metadata: {name: reviews-callers}
spec: {service: reviews, allow: [{principals: [default/web]}]}
)";

std::unique_ptr<ControlPlaneProcess> startSecure(const std::vector<std::string>& extra_args) {
  harness::ControlPlaneOptions options;
  options.insecure = false;
  options.extra_args = extra_args;
  auto cp = ControlPlaneProcess::start(options);
  if (!cp) FAIL("remora-cp did not start: " << cp.error().message);
  return std::move(*cp);
}

harness::CommandResult remoractl(ControlPlaneProcess& cp, std::vector<std::string> args) {
  args.insert(args.begin(), {harness::binaryPath("remoractl"), "--server", cp.apiUrl(), "--timeout", "20s"});
  return harness::run(args, 30s);
}

std::string createToken(ControlPlaneProcess& cp, const std::string& account) {
  auto run = remoractl(cp, {"token", "create", "--service-account", account, "--ttl", "1h"});
  INFO(run.describe());
  REQUIRE(run.exit_code == 0);
  std::string token = run.stdout_text;
  while (!token.empty() && token.back() == '\n') token.pop_back();
  return token;
}

// Asks `cp` for a certificate for default/`account` with a join token: the
// same call a sidecar makes when it joins.
grpc::Status joinWith(ControlPlaneProcess& cp, const std::string& token, const std::string& account) {
  auto bundle = harness::readFile(cp.trustBundlePath());
  REQUIRE(bundle);
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = *bundle;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto channel = grpc::CreateCustomChannel(cp.xdsAddress(), grpc::SslCredentials(tls), args);
  auto stub = ca::v1::CertificateService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  context.AddMetadata("authorization", "Bearer " + token);
  ca::v1::CreateCertificateRequest request;
  request.set_csr_pem(testing::makeCsr({.uris = {"spiffe://cluster.local/ns/default/sa/" + account}}).pem);
  ca::v1::CreateCertificateResponse response;
  return stub->CreateCertificate(&context, request, &response);
}

Json exportOf(ControlPlaneProcess& cp) {
  auto run = remoractl(cp, {"store", "export"});
  INFO(run.describe());
  REQUIRE(run.exit_code == 0);
  Json document = Json::parse(run.stdout_text, nullptr, false);
  REQUIRE_FALSE(document.is_discarded());
  return document;
}

// What must survive a migration; resourceVersion is the target store's own.
Json comparable(const Json& document) {
  Json out = Json::array();
  for (const Json& object : document["objects"]) {
    Json kept = object;
    kept.erase("resourceVersion");
    out.push_back(kept);
  }
  return out;
}

std::vector<std::string> kindsOf(const Json& document) {
  std::vector<std::string> kinds;
  for (const Json& object : document["objects"]) kinds.push_back(object["kind"]);
  return kinds;
}

// The migration end to end; `target_args` gives the extra flags of remora-cp
// #2 (its store backend) from #1's data directory (whose CA it may share).
void migrateInto(const std::function<std::vector<std::string>(const std::string&)>& target_args) {
  harness::TempDir dir("store-migration");
  auto source = startSecure({});
  const std::string mesh_file = dir.file("mesh.yaml");
  REQUIRE(harness::writeFile(mesh_file, kMesh));
  auto applied = remoractl(*source, {"apply", "-f", mesh_file});
  INFO(applied.describe());
  REQUIRE(applied.exit_code == 0);

  // One token is used on #1 (which records an IssuedCertificate), the other
  // is kept for #2.
  const std::string used_token = createToken(*source, "db");
  const std::string kept_token = createToken(*source, "web");
  grpc::Status joined = joinWith(*source, used_token, "db");
  INFO(joined.error_message() << "\n" << source->logs());
  REQUIRE(joined.ok());

  const std::string backup = dir.file("backup.json");
  auto exported = remoractl(*source, {"store", "export", "-o", backup});
  INFO(exported.describe());
  REQUIRE(exported.exit_code == 0);
  CHECK_THAT(exported.stderr_text, Catch::StartsWith("exported 8 objects at revision "));
  const Json before = exportOf(*source);
  CHECK(kindsOf(before) == std::vector<std::string>{"AuthorizationPolicy", "Endpoint", "IssuedCertificate",
                                                    "JoinToken", "JoinToken", "RouteRule", "Service",
                                                    "TrafficPolicy"});

  auto target = startSecure(target_args(source->dataDir()));
  auto imported = remoractl(*target, {"store", "import", "-f", backup});
  INFO(imported.describe() << "\n" << target->logs());
  REQUIRE(imported.exit_code == 0);
  CHECK_THAT(imported.stdout_text, Catch::StartsWith("imported 8 objects (store revision "));

  // Same objects: kind, namespace, name, uid, times, labels and spec.
  CHECK(comparable(exportOf(*target)) == comparable(before));
  auto services = remoractl(*target, {"get", "svc", "reviews", "-o", "json"});
  INFO(services.describe());
  CHECK(services.exit_code == 0);
  Json service = Json::parse(services.stdout_text, nullptr, false);
  CHECK(service["metadata"]["uid"] == before["objects"][6]["uid"]);
  CHECK(service["metadata"]["creationTimestamp"] == before["objects"][6]["createdAt"]);
  auto identities = remoractl(*target, {"identity"});
  INFO(identities.describe());
  CHECK_THAT(identities.stdout_text, Catch::Contains("spiffe://cluster.local/ns/default/sa/db"));

  // The token minted by #1 lets a workload join #2.
  grpc::Status joined_target = joinWith(*target, kept_token, "web");
  INFO(joined_target.error_message() << "\n" << target->logs());
  CHECK(joined_target.ok());
  auto tokens = remoractl(*target, {"token", "list", "-o", "json"});
  INFO(tokens.describe());
  Json token_list = Json::parse(tokens.stdout_text, nullptr, false);
  REQUIRE(token_list["items"].size() == 2);

  // A second import is refused: the target is no longer empty.
  auto again = remoractl(*target, {"store", "import", "-f", backup});
  INFO(again.describe());
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.stderr_text, Catch::StartsWith("Error from server (Conflict): store is not empty"));
}

TEST_CASE("a SQLite store moves to another SQLite control plane with every object and token",
          "[store][migration][integration]") {
  migrateInto([](const std::string&) { return std::vector<std::string>{}; });
}

TEST_CASE("a SQLite store moves into etcd with every object and token", "[store][migration][integration][etcd]") {
  auto etcd = harness::EtcdCluster::start(3);
  INFO((etcd ? std::string() : etcd.error().message));
  REQUIRE(etcd);
  // Replicas over etcd sign with the operator's CA: here #1's generated one,
  // as docs/operations.md's migration says.
  migrateInto([&](const std::string& source_dir) {
    return std::vector<std::string>{"--store",      "etcd",
                                    "--etcd-endpoints", (*etcd)->endpointsText(),
                                    "--ca-cert",    source_dir + "/ca/root.pem",
                                    "--ca-key",     source_dir + "/ca/root.key"};
  });
}

}  // namespace
}  // namespace remora
