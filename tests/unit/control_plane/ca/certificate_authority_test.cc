#include "control-plane/ca/certificate_authority.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "control-plane/ca/ca_files.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/unit/control_plane/ca/csr_factory.h"

namespace remora::cp::ca {
namespace {

using testing::CsrSpec;
using testing::inspect;
using testing::makeCsr;

constexpr int64_t kNow = 1'800'000'000;

CaOptions optionsIn(const harness::TempDir& dir) {
  CaOptions options;
  options.state_dir = dir.file("ca");
  options.now_unix = [] { return kNow; };
  return options;
}

std::unique_ptr<CertificateAuthority> openCa(CaOptions options) {
  auto ca = CertificateAuthority::open(std::move(options));
  if (!ca) FAIL(ca.error().message);
  return std::move(*ca);
}

const SpiffeId kWeb{"cluster.local", "default", "web"};

TEST_CASE("a first start generates a P-256 root, key 0600, and writes the bundle", "[ca]") {
  harness::TempDir dir("ca-test");
  auto ca = openCa(optionsIn(dir));
  struct stat key {};
  REQUIRE(::stat(dir.file("ca/root.key").c_str(), &key) == 0);
  CHECK((key.st_mode & 0777) == 0600);
  auto bundle = readFile(ca->bundlePath());
  REQUIRE(bundle);
  CHECK(*bundle == *readFile(dir.file("ca/root.pem")));
  auto root = inspect(*bundle);
  CHECK(root.ca);
  CHECK(root.key_cert_sign);
  CHECK(root.subject.find("O=cluster.local") != std::string::npos);
  CHECK(root.not_after - kNow > 9LL * 365 * 86400);
}

TEST_CASE("a restart loads the same root instead of making another", "[ca]") {
  harness::TempDir dir("ca-test");
  const std::string first = openCa(optionsIn(dir))->trustBundlePem();
  CHECK(openCa(optionsIn(dir))->trustBundlePem() == first);
}

TEST_CASE("an issued SVID has exactly the SPIFFE profile and verifies against the bundle", "[ca]") {
  harness::TempDir dir("ca-test");
  auto ca = openCa(optionsIn(dir));
  auto csr = makeCsr();
  auto issued = ca->issue(csr.pem, kWeb, std::chrono::seconds(0));
  REQUIRE(issued);
  REQUIRE(issued->chain_pem.size() == 1);
  auto leaf = inspect(issued->chain_pem[0], ca->trustBundlePem());
  CHECK_FALSE(leaf.ca);
  CHECK(leaf.basic_constraints_critical);
  CHECK(leaf.key_usage_critical);
  CHECK(leaf.digital_signature);
  CHECK_FALSE(leaf.key_cert_sign);
  CHECK(leaf.server_auth);
  CHECK(leaf.client_auth);
  CHECK(leaf.uris == std::vector<std::string>{"spiffe://cluster.local/ns/default/sa/web"});
  CHECK(leaf.dns.empty());
  CHECK(leaf.serial_bytes == 16);
  CHECK(leaf.not_before == kNow - 60);
  CHECK(leaf.not_after == kNow + 24 * 3600);
  CHECK(leaf.verifies_with_roots == false);  // kNow is in the future: checked with real time below
  CHECK(issued->trust_bundle.size() == 1);
}

TEST_CASE("an issued SVID verifies against the trust bundle at the current time", "[ca]") {
  harness::TempDir dir("ca-test");
  CaOptions options = optionsIn(dir);
  options.now_unix = nullptr;  // the wall clock, so X509_verify_cert agrees
  auto ca = openCa(options);
  auto issued = ca->issue(makeCsr().pem, kWeb, std::chrono::seconds(0));
  REQUIRE(issued);
  CHECK(inspect(issued->chain_pem[0], ca->trustBundlePem()).verifies_with_roots);
}

TEST_CASE("the requested lifetime is honoured and capped at the maximum", "[ca]") {
  harness::TempDir dir("ca-test");
  CaOptions options = optionsIn(dir);
  options.max_ttl = std::chrono::hours(48);
  auto ca = openCa(options);
  auto short_lived = ca->issue(makeCsr().pem, kWeb, std::chrono::seconds(30));
  REQUIRE(short_lived);
  CHECK(short_lived->not_after_unix == kNow + 30);
  auto capped = ca->issue(makeCsr().pem, kWeb, std::chrono::hours(1000));
  REQUIRE(capped);
  CHECK(capped->not_after_unix == kNow + 48 * 3600);
}

TEST_CASE("malformed CSRs are refused with a reason", "[ca]") {
  harness::TempDir dir("ca-test");
  auto ca = openCa(optionsIn(dir));
  auto refused = [&](const std::string& pem, const std::string& words) {
    auto checked = ca->checkRequest(pem);
    REQUIRE_FALSE(checked);
    CHECK(checked.error().code == base::Error::kInvalidArgument);
    CHECK_THAT(checked.error().message, Catch::Contains(words));
  };
  refused("not a pem", "not a PEM");
  refused(makeCsr(CsrSpec{.corrupt_signature = true}).pem, "signature");
  refused(makeCsr(CsrSpec{.uris = {}}).pem, "exactly one URI SAN");
  refused(makeCsr(CsrSpec{.uris = {"spiffe://cluster.local/ns/a/sa/b", "spiffe://cluster.local/ns/c/sa/d"}}).pem,
          "exactly one URI SAN");
  refused(makeCsr(CsrSpec{.uris = {"spiffe://other.domain/ns/a/sa/b"}}).pem, "trust domain");
  refused(makeCsr(CsrSpec{.uris = {"https://example.com/"}}).pem, "spiffe://");
  refused(makeCsr(CsrSpec{.key_type = "P-384"}).pem, "P-256");
  refused(makeCsr(CsrSpec{.key_type = "RSA-1024"}).pem, "2048");
  CHECK(ca->checkRequest(makeCsr(CsrSpec{.key_type = "RSA-2048"}).pem));
}

TEST_CASE("issue refuses a CSR that names another identity", "[ca]") {
  harness::TempDir dir("ca-test");
  auto ca = openCa(optionsIn(dir));
  auto issued = ca->issue(makeCsr().pem, SpiffeId{"cluster.local", "default", "db"}, std::chrono::seconds(0));
  REQUIRE_FALSE(issued);
  CHECK_THAT(issued.error().message, Catch::Contains("not spiffe://cluster.local/ns/default/sa/db"));
}

TEST_CASE("CA rotation goes prepare, activate, finish and survives a restart", "[ca]") {
  harness::TempDir dir("ca-test");
  auto ca = openCa(optionsIn(dir));
  const std::string old_root = ca->trustBundle()[0];
  CHECK(ca->rotate("activate").code() == base::Error::kConflict);
  CHECK(ca->rotate("finish").code() == base::Error::kConflict);
  CHECK(ca->rotate("sideways").code() == base::Error::kInvalidArgument);

  REQUIRE(ca->rotate("prepare"));
  CHECK(ca->status().phase == RotationPhase::kPrepared);
  auto bundle = ca->trustBundle();
  REQUIRE(bundle.size() == 2);
  CHECK(bundle[0] == old_root);
  const std::string new_root = bundle[1];
  CHECK(*readFile(ca->bundlePath()) == old_root + new_root);
  CHECK(ca->status().roots[0].signing);  // still the old one
  CHECK(ca->rotate("prepare").code() == base::Error::kConflict);

  ca = openCa(optionsIn(dir));  // restart mid-rotation
  CHECK(ca->status().phase == RotationPhase::kPrepared);
  REQUIRE(ca->rotate("activate"));
  auto status = ca->status();
  CHECK(status.phase == RotationPhase::kActivated);
  REQUIRE(status.roots.size() == 2);
  CHECK_FALSE(status.roots[0].signing);
  CHECK(status.roots[1].signing);
  CHECK(status.roots[1].pem == new_root);

  ca = openCa(optionsIn(dir));
  CHECK(ca->status().phase == RotationPhase::kActivated);
  REQUIRE(ca->rotate("finish"));
  CHECK(ca->trustBundle() == std::vector<std::string>{new_root});
  CHECK(*readFile(ca->bundlePath()) == new_root);
  CHECK_FALSE(fileExists(dir.file("ca/previous.pem")));
  CHECK(openCa(optionsIn(dir))->trustBundle() == std::vector<std::string>{new_root});
}

TEST_CASE("an operator-supplied root signs, is never sent in the chain, and must match its key", "[ca]") {
  harness::TempDir dir("ca-test");
  // The operator's root: one our CA generated elsewhere.
  harness::TempDir root_dir("ca-root");
  auto root_ca = openCa(optionsIn(root_dir));
  CaOptions as_root = optionsIn(dir);
  as_root.cert_file = root_dir.file("ca/root.pem");
  as_root.key_file = root_dir.file("ca/root.key");
  auto ca = openCa(as_root);
  CHECK(ca->status().operator_supplied);
  CHECK(ca->trustBundle() == root_ca->trustBundle());
  CHECK(ca->rotate("prepare").code() == base::Error::kUnsupported);
  auto issued = ca->issue(makeCsr().pem, kWeb, std::chrono::seconds(0));
  REQUIRE(issued);
  CHECK(issued->chain_pem.size() == 1);  // a root is never sent in the chain

  CaOptions mismatched = optionsIn(dir);
  mismatched.cert_file = root_dir.file("ca/root.pem");
  mismatched.key_file = dir.file("ca/serving-nothing.key");
  REQUIRE(writeFileAtomic(mismatched.key_file, makeCsr().key_pem, 0600));
  auto refused = CertificateAuthority::open(mismatched);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("is not the key of"));
}

TEST_CASE("an operator-supplied intermediate is sent after the leaf and needs the roots in a bundle", "[ca]") {
  harness::TempDir dir("ca-test");
  harness::TempDir root_dir("ca-root");
  auto root_ca = openCa(optionsIn(root_dir));
  const auto intermediate = testing::makeIntermediate(*readFile(root_dir.file("ca/root.pem")),
                                                      *readFile(root_dir.file("ca/root.key")));
  REQUIRE(writeFileAtomic(dir.file("intermediate.pem"), intermediate.cert_pem));
  REQUIRE(writeFileAtomic(dir.file("intermediate.key"), intermediate.key_pem, 0600));

  CaOptions options = optionsIn(dir);
  options.cert_file = dir.file("intermediate.pem");
  options.key_file = dir.file("intermediate.key");
  auto without_bundle = CertificateAuthority::open(options);
  REQUIRE_FALSE(without_bundle);
  CHECK_THAT(without_bundle.error().message, Catch::Contains("--ca-bundle"));

  options.bundle_file = root_dir.file("ca/root.pem");
  auto ca = openCa(options);
  auto issued = ca->issue(makeCsr().pem, kWeb, std::chrono::seconds(0));
  if (!issued) FAIL(issued.error().message);
  REQUIRE(issued->chain_pem.size() == 2);
  CHECK(issued->chain_pem[1] == intermediate.cert_pem);
  CHECK(issued->trust_bundle == root_ca->trustBundle());
  CHECK(*readFile(ca->bundlePath()) == root_ca->trustBundlePem());
  auto status = ca->status();
  REQUIRE(status.roots.size() == 1);
  CHECK(status.roots[0].signing);  // the root the intermediate chains to
}

TEST_CASE("the serving certificate carries the control plane's SPIFFE ID, DNS and IP SANs", "[ca]") {
  harness::TempDir dir("ca-test");
  auto ca = openCa(optionsIn(dir));
  auto serving = ca->issueServing(SpiffeId{"cluster.local", "remora-system", "remora-cp"}, {"localhost", "remora-cp"},
                                  {"127.0.0.1"}, std::chrono::hours(72));
  REQUIRE(serving);
  auto facts = inspect(serving->chain_pem);
  CHECK(facts.uris == std::vector<std::string>{"spiffe://cluster.local/ns/remora-system/sa/remora-cp"});
  CHECK(facts.dns == std::vector<std::string>{"localhost", "remora-cp"});
  CHECK(facts.server_auth);
  CHECK(serving->key_pem.find("PRIVATE KEY") != std::string::npos);
}

}  // namespace
}  // namespace remora::cp::ca
