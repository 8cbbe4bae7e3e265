#include "control-plane/cli/store_commands.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/harness/temp_dir.h"
#include "tests/unit/control_plane/cli/fake_api.h"

namespace remora::cli {
namespace {

using testing::FakeApi;

const std::string kDocument =
    R"({"apiVersion":"remora.dev/v1","kind":"StoreExport","revision":"12","exportedAt":"2026-11-23T12:00:00Z",)"
    R"("objects":[{"kind":"Service","namespace":"default","name":"a","spec":{}},)"
    R"({"kind":"JoinToken","namespace":"","name":"b","spec":{}}]})";

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_CASE("store export prints the server's document as it is on stdout", "[cli][store]") {
  FakeApi api;
  api.reply(200, kDocument);
  CommandOutput output;
  CHECK(runStoreExport(api, "", output) == kExitOk);
  CHECK(output.out == kDocument);
  CHECK(output.err == "exported 2 objects at revision 12\n");
  REQUIRE(api.requests.size() == 1);
  CHECK(api.requests[0].method == "GET");
  CHECK(api.requests[0].path == "/api/v1/store/export");
}

TEST_CASE("store export -o writes the file whole and says so on stderr", "[cli][store]") {
  harness::TempDir dir("remoractl-store");
  const std::string path = dir.file("backup.json");
  FakeApi api;
  api.reply(200, kDocument);
  CommandOutput output;
  CHECK(runStoreExport(api, path, output) == kExitOk);
  CHECK(output.out.empty());
  CHECK(output.err == "exported 2 objects at revision 12 to " + path + "\n");
  CHECK(readAll(path) == kDocument);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("a failed store export leaves an existing backup alone", "[cli][store]") {
  harness::TempDir dir("remoractl-store");
  const std::string path = dir.file("backup.json");
  std::ofstream(path) << "old backup";
  FakeApi api;
  CommandOutput output;
  SECTION("the server refuses") {
    api.reply(401, R"({"code":401,"reason":"Unauthorized","message":"a valid bearer token is required"})");
    CHECK(runStoreExport(api, path, output) == kExitError);
    CHECK(output.err == "Error from server (Unauthorized): a valid bearer token is required\n");
  }
  SECTION("the answer is not an export") {
    api.reply(200, R"({"kind":"List","items":[]})");
    CHECK(runStoreExport(api, path, output) == kExitError);
    CHECK_THAT(output.err, Catch::Contains("not a StoreExport document"));
  }
  SECTION("the server cannot be reached") {
    api.unreachable();
    CHECK(runStoreExport(api, path, output) == kExitUnreachable);
  }
  SECTION("the file cannot be written") {
    api.reply(200, kDocument);
    CHECK(runStoreExport(api, dir.file("missing-dir/backup.json"), output) == kExitError);
    CHECK_THAT(output.err, Catch::StartsWith("error: cannot write "));
  }
  CHECK(readAll(path) == "old backup");
}

TEST_CASE("store import posts the document and prints how many objects arrived", "[cli][store]") {
  FakeApi api;
  api.reply(200, R"({"imported":2,"revision":"2"})");
  CommandOutput output;
  CHECK(runStoreImport(api, kDocument, "backup.json", output) == kExitOk);
  CHECK(output.out == "imported 2 objects (store revision 2)\n");
  REQUIRE(api.requests.size() == 1);
  CHECK(api.requests[0].method == "POST");
  CHECK(api.requests[0].path == "/api/v1/store/import");
  CHECK(api.requests[0].body == kDocument);
}

TEST_CASE("store import into a store that is not empty shows the conflict and exits 1", "[cli][store]") {
  FakeApi api;
  api.reply(409, R"({"code":409,"reason":"Conflict","message":"store is not empty: it holds 3 objects; an import needs an empty store"})");
  CommandOutput output;
  CHECK(runStoreImport(api, kDocument, "backup.json", output) == kExitError);
  CHECK(output.out.empty());
  CHECK(output.err ==
        "Error from server (Conflict): store is not empty: it holds 3 objects; an import needs an empty store\n");
}

TEST_CASE("store import refuses a file that is not an export without calling the server", "[cli][store]") {
  FakeApi api;
  CommandOutput output;
  CHECK(runStoreImport(api, "kind: Service\n", "mesh.yaml", output) == kExitError);
  CHECK_THAT(output.err, Catch::StartsWith("error: mesh.yaml is not JSON"));
  CommandOutput second;
  CHECK(runStoreImport(api, R"({"kind":"List"})", "list.json", second) == kExitError);
  CHECK_THAT(second.err, Catch::Contains("list.json is not a store export"));
  CHECK(api.requests.empty());
}

}  // namespace
}  // namespace remora::cli
