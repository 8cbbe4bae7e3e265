#include "control-plane/cli/security_commands.h"

#include <catch2/catch.hpp>

#include "tests/unit/control_plane/cli/fake_api.h"

namespace remora::cli {
namespace {

using testing::FakeApi;

const TimePoint kNow = *parseTimestamp("2026-11-23T12:00:00Z");

TEST_CASE("token create prints only the token on stdout", "[cli]") {
  FakeApi api;
  api.reply(201, R"({"token":"rmt_secret","id":"ABCD","identity":"spiffe://cluster.local/ns/shop/sa/web",)"
                 R"("expiresAt":"2026-11-24T12:00:00Z"})");
  CommandOutput output;
  CHECK(runTokenCreate(api, "shop", "web", "1h", output) == kExitOk);
  CHECK(output.out == "rmt_secret\n");
  CHECK_THAT(output.err, Catch::Contains("ABCD"));
  REQUIRE(api.requests.size() == 1);
  CHECK(api.requests[0].method == "POST");
  CHECK(api.requests[0].path == "/api/v1/tokens");
  CHECK_THAT(api.requests[0].body, Catch::Contains(R"("serviceAccount":"web")"));
  CHECK_THAT(api.requests[0].body, Catch::Contains(R"("ttl":"1h")"));
}

TEST_CASE("token create shows the server's refusal and exits 1", "[cli]") {
  FakeApi api;
  api.reply(400, R"({"code":400,"reason":"BadRequest","message":"ttl: bad"})");
  CommandOutput output;
  CHECK(runTokenCreate(api, "default", "web", "soon", output) == kExitError);
  CHECK(output.out.empty());
  CHECK_THAT(output.err, Catch::Contains("Error from server (BadRequest): ttl: bad"));
}

TEST_CASE("token list is a table with expiry and uses", "[cli]") {
  FakeApi api;
  api.reply(200, R"({"items":[{"id":"AB12","namespace":"default","serviceAccount":"web",)"
                 R"("expiresAt":"2026-11-23T17:00:00Z","expired":false,"uses":2,"lastUsedAt":"2026-11-23T11:59:00Z"},)"
                 R"({"id":"CD34","namespace":"shop","serviceAccount":"db","expiresAt":"2026-11-23T11:00:00Z",)"
                 R"("expired":true,"uses":0}]})");
  CommandOutput output;
  CHECK(runTokenList(api, OutputFormat::kTable, kNow, output) == kExitOk);
  CHECK(output.out ==
        "ID     NAMESPACE   SERVICE-ACCOUNT   EXPIRES   USES   LAST-USED\n"
        "AB12   default     web               in 5h     2      60s ago\n"
        "CD34   shop        db                expired   0      never\n");
}

TEST_CASE("identity lists each workload's certificate and its proxies", "[cli]") {
  FakeApi api;
  api.reply(200, R"({"items":[{"identity":"spiffe://cluster.local/ns/default/sa/web","serial":"0A1B",)"
                 R"("issuedAt":"2026-11-23T11:00:00Z","notAfter":"2026-11-24T11:00:00Z","proxies":["web-1","web-2"]}]})");
  CommandOutput output;
  CHECK(runIdentity(api, OutputFormat::kTable, kNow, output) == kExitOk);
  CHECK(output.out ==
        "IDENTITY                                   SERIAL   ISSUED    EXPIRES   PROXIES\n"
        "spiffe://cluster.local/ns/default/sa/web   0A1B     60m ago   in 23h    web-1,web-2\n");
}

TEST_CASE("ca rotate posts the phase and shows the roots", "[cli]") {
  FakeApi api;
  api.reply(200, R"({"rotationPhase":"prepared","roots":[{"fingerprint":"AA:BB","subject":"O = cluster.local",)"
                 R"("notAfter":"2036-11-23T12:00:00Z","activeSigner":true}]})");
  CommandOutput output;
  CHECK(runCaRotate(api, "prepare", kNow, output) == kExitOk);
  CHECK(api.requests[0].path == "/api/v1/ca/rotate");
  CHECK(api.requests[0].body == R"({"phase":"prepare"})");
  CHECK_THAT(output.out, Catch::StartsWith("ca rotation: prepare done (phase prepared)\n"));
  CHECK_THAT(output.out, Catch::Contains("AA:BB"));
}

}  // namespace
}  // namespace remora::cli
