#include "control-plane/api/apply_batch.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/control_plane/api/api_fixture.h"

namespace remora::cp::api {
namespace {

using testing::ApiFixture;
using testing::endpoint;
using testing::Json;
using testing::service;

std::string items(const std::vector<std::string>& objects) {
  std::string out = "{\"items\":[";
  for (size_t i = 0; i < objects.size(); ++i) out += (i > 0 ? "," : "") + objects[i];
  return out + "]}";
}

Json results(ApiFixture& api, const std::string& path, const std::string& body, int status = 200) {
  auto response = api.call("POST", path, body);
  INFO(response.body);
  REQUIRE(response.status == status);
  return ApiFixture::json(response);
}

TEST_CASE("apply creates a service and its endpoint together, then reports them unchanged", "[cp][api][apply]") {
  ApiFixture api;
  const std::string batch = items({endpoint("web-1", "web"), service("web")});  // reference before its target
  Json first = results(api, "/api/v1/apply", batch)["results"];
  REQUIRE(first.size() == 2);
  CHECK(first[0] == Json{{"kind", "Endpoint"}, {"namespace", "default"}, {"name", "web-1"}, {"action", "created"},
                         {"resourceVersion", first[0]["resourceVersion"]}});
  CHECK(first[1]["kind"] == "Service");
  CHECK(first[1]["action"] == "created");
  CHECK(first[0]["resourceVersion"] != first[1]["resourceVersion"]);

  const uint64_t revision = api.store().revision();
  // Same objects written differently (array form, camelCase, fields reordered): no write.
  Json again = results(api, "/api/v1/apply",
                       R"([{"spec":{"port":9080,"address":"10.0.0.1","service":"web"},"metadata":{"namespace":"default","name":"web-1"},"kind":"Endpoint"},)" +
                           service("web") + "]")["results"];
  CHECK(again[0]["action"] == "unchanged");
  CHECK(again[1]["action"] == "unchanged");
  CHECK(again[0]["resourceVersion"] == first[0]["resourceVersion"]);
  CHECK(api.store().revision() == revision);

  Json changed = results(api, "/api/v1/apply", service("web", 9090))["results"];
  REQUIRE(changed.size() == 1);
  CHECK(changed[0]["action"] == "configured");
  CHECK(std::stoull(changed[0]["resourceVersion"].get<std::string>()) == revision + 1);
}

TEST_CASE("a bad item fails the whole apply, naming the item, and stores nothing", "[cp][api][apply]") {
  ApiFixture api;
  const std::string bad_port =
      R"({"kind":"Service","metadata":{"name":"b"},"spec":{"ports":[{"name":"w","port":80},{"name":"x","port":0}]}})";
  Json error = results(api, "/api/v1/apply", items({service("a"), bad_port}), 400);
  CHECK(error["field"] == "items[1].spec.ports[1].port");
  CHECK(api.store().revision() == 0);

  Json dangling = results(api, "/api/v1/apply", items({service("a"), endpoint("e", "nope")}), 400);
  CHECK(dangling["field"] == "items[1].spec.service");
  Json malformed = results(api, "/api/v1/apply", "[{\"kind\":", 400);
  CHECK_FALSE(malformed.contains("field"));
  Json duplicate = results(api, "/api/v1/apply", items({service("a"), service("a", 81)}), 400);
  CHECK(duplicate["field"] == "items[1].metadata.name");
  CHECK(results(api, "/api/v1/apply", "[]", 400)["field"] == "items");
  // A single object keeps its own paths.
  CHECK(results(api, "/api/v1/apply", bad_port, 400)["field"] == "spec.ports[1].port");
  CHECK(api.store().revision() == 0);
}

TEST_CASE("a stale version in one item fails the whole transaction with 409", "[cp][api][apply]") {
  ApiFixture api;
  Json created = results(api, "/api/v1/apply", service("a"))["results"];
  const std::string version = created[0]["resourceVersion"];
  REQUIRE(results(api, "/api/v1/apply", service("a", 81))["results"][0]["action"] == "configured");
  const uint64_t revision = api.store().revision();

  auto response = api.call("POST", "/api/v1/apply",
                           items({service("b"), service("a", 82, R"(,"resourceVersion":")" + version + "\"")}));
  CHECK(response.status == 409);
  CHECK(ApiFixture::json(response)["reason"] == "Conflict");
  CHECK(ApiFixture::json(response)["message"].get<std::string>().starts_with("items[1]"));
  CHECK(api.store().revision() == revision);
  CHECK(api.call("GET", "/api/v1/namespaces/default/services/b").status == 404);
}

TEST_CASE("delete removes every named object, or none when one is missing", "[cp][api][apply]") {
  ApiFixture api;
  REQUIRE(results(api, "/api/v1/apply", items({service("a"), service("b"), endpoint("e", "a")}))["results"].size() == 3);
  const uint64_t revision = api.store().revision();

  auto missing = api.call("POST", "/api/v1/delete",
                          R"([{"kind":"Service","metadata":{"name":"a"}},{"kind":"Service","metadata":{"name":"zzz"}}])");
  CHECK(missing.status == 404);
  CHECK(ApiFixture::json(missing)["message"].get<std::string>().starts_with("items[1]"));
  CHECK(api.store().revision() == revision);

  CHECK(results(api, "/api/v1/delete", R"([{"kind":"Gateway","metadata":{"name":"a"}}])", 400)["field"] ==
        "items[0].kind");

  Json deleted = results(api, "/api/v1/delete",
                         R"({"items":[{"kind":"Service","metadata":{"name":"a"}},{"kind":"Endpoint","metadata":{"name":"e","namespace":"default"}}]})")["results"];
  REQUIRE(deleted.size() == 2);
  CHECK(deleted[0]["action"] == "deleted");
  CHECK(deleted[1]["name"] == "e");
  CHECK(api.call("GET", "/api/v1/namespaces/default/services/a").status == 404);
  CHECK(api.call("GET", "/api/v1/namespaces/default/services/b").status == 200);
}

}  // namespace
}  // namespace remora::cp::api
