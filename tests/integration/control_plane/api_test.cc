// remora-cp's JSON API end to end: the real binary on a SQLite file in a temp
// dir, driven over HTTP on loopback. Durability under SIGKILL, optimistic
// concurrency (409) and validation (400 naming the field) as operators see
// them.
#include <sqlite3.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/http_client.h"

namespace remora {
namespace {

using harness::ControlPlaneProcess;
using harness::HttpResponse;
using Json = nlohmann::json;

const std::string kServices = "/api/v1/namespaces/default/services";

std::unique_ptr<ControlPlaneProcess> startControlPlane() {
  auto cp = ControlPlaneProcess::start();
  if (!cp) FAIL("remora-cp did not start: " << cp.error().message);
  return std::move(*cp);
}

std::string service(const std::string& name, int port = 80, const std::string& extra_metadata = "") {
  return R"({"kind":"Service","metadata":{"name":")" + name + "\"" + extra_metadata +
         R"(},"spec":{"ports":[{"name":"http","port":)" + std::to_string(port) + "}]}}";
}

HttpResponse call(ControlPlaneProcess& cp, const std::string& method, const std::string& path,
                  const std::string& body = "") {
  auto response = cp.api(method, path, body);
  if (!response) FAIL(method << " " << path << ": " << response.error().message << "\n" << cp.logs());
  return std::move(*response);
}

Json json(const HttpResponse& response) {
  INFO(response.body);
  Json parsed = Json::parse(response.body, nullptr, false);
  REQUIRE_FALSE(parsed.is_discarded());
  return parsed;
}

// PRAGMA integrity_check on the file, opened read-only with SQLite itself
// (not through the store), so the check does not depend on our code.
std::string integrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string error = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return "open failed: " + error;
  }
  std::string result;
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &statement, nullptr) == SQLITE_OK) {
    while (sqlite3_step(statement) == SQLITE_ROW) {
      if (!result.empty()) result += "; ";
      result += reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
  } else {
    result = std::string("prepare failed: ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return result;
}

TEST_CASE("every write acknowledged before a SIGKILL is there after restart, and the file is intact",
          "[cp][api][integration]") {
  auto cp = startControlPlane();
  const std::string address = cp->apiAddress();
  std::atomic<bool> stop{false};
  std::vector<std::string> acknowledged;
  int failures_after_kill = 0;
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string name = "svc-" + std::to_string(i);
      harness::HttpRequest request;
      request.method = "POST";
      request.path = kServices;
      request.headers.emplace_back("Content-Type", "application/json");
      request.body = service(name);
      auto response = harness::httpRequest(address, request, std::chrono::seconds(5));
      if (response && response->status >= 200 && response->status < 300) {
        acknowledged.push_back(name);
      } else if (++failures_after_kill > 3) {
        return;  // remora-cp is gone
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(cp->kill());  // mid-stream: the writer is in the middle of a request
  stop = true;
  writer.join();
  INFO(acknowledged.size() << " writes acknowledged before the kill");
  REQUIRE(acknowledged.size() >= 5);

  CHECK(integrityCheck(cp->dataDir() + "/remora.db") == "ok");

  REQUIRE(cp->restart());
  for (const std::string& name : acknowledged) {
    INFO(name);
    CHECK(call(*cp, "GET", kServices + "/" + name).status == 200);
  }
  Json list = json(call(*cp, "GET", kServices));
  CHECK(list["items"].size() >= acknowledged.size());
  CHECK(list["items"].size() <= acknowledged.size() + 1);  // at most the one in flight
  REQUIRE(cp->stop());
  CHECK(integrityCheck(cp->dataDir() + "/remora.db") == "ok");
}

TEST_CASE("two clients updating one object with the same version over HTTP: one 200, one 409",
          "[cp][api][integration]") {
  auto cp = startControlPlane();
  auto created = call(*cp, "POST", kServices, service("reviews"));
  REQUIRE(created.status == 201);
  const std::string version = json(created)["metadata"]["resourceVersion"];
  const std::string meta = R"(,"resourceVersion":")" + version + "\"";
  HttpResponse a, b;
  std::thread first([&] { a = call(*cp, "PUT", kServices + "/reviews", service("reviews", 81, meta)); });
  std::thread second([&] { b = call(*cp, "PUT", kServices + "/reviews", service("reviews", 82, meta)); });
  first.join();
  second.join();
  INFO(a.body << "\n" << b.body);
  CHECK(((a.status == 200 && b.status == 409) || (a.status == 409 && b.status == 200)));
  const HttpResponse& loser = a.status == 409 ? a : b;
  CHECK(json(loser)["reason"] == "Conflict");
}

TEST_CASE("bad input over HTTP is 400 naming the field, and nothing is stored", "[cp][api][integration]") {
  auto cp = startControlPlane();
  auto malformed = call(*cp, "POST", kServices, R"({"kind":"Service",)");
  CHECK(malformed.status == 400);
  auto unknown = call(*cp, "POST", kServices,
                      R"({"kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":80,"colour":"red"}]}})");
  CHECK(unknown.status == 400);
  CHECK(json(unknown)["field"] == "spec.ports[0].colour");
  auto range = call(*cp, "POST", kServices, service("a", 70000));
  CHECK(range.status == 400);
  CHECK(json(range)["field"] == "spec.ports[0].port");
  auto dangling = call(*cp, "POST", "/api/v1/apply",
                       R"([{"kind":"Endpoint","metadata":{"name":"e"},"spec":{"service":"ghost","address":"10.0.0.1","port":80}}])");
  CHECK(dangling.status == 400);
  CHECK(json(dangling)["field"] == "items[0].spec.service");
  Json all = json(call(*cp, "GET", "/api/v1/services"));
  CHECK(all["items"].empty());
  CHECK(json(call(*cp, "GET", "/api/v1/endpoints"))["items"].empty());
}

}  // namespace
}  // namespace remora
