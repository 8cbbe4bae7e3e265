#include "control-plane/api/store_export.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "control-plane/ca/token_store.h"
#include "control-plane/mesh/validation.h"
#include "tests/unit/control_plane/api/api_fixture.h"

namespace remora::cp::api {
namespace {

using testing::ApiFixture;
using testing::endpoint;
using testing::Json;
using testing::service;

const std::string kExport = "/api/v1/store/export";
const std::string kImport = "/api/v1/store/import";
const std::string kServices = "/api/v1/namespaces/default/services";

store::StoredObject stored(store::ObjectKey key, std::string spec_json, std::string uid, int64_t created_ms,
                           int64_t updated_ms, uint64_t version) {
  store::StoredObject object;
  object.key = std::move(key);
  object.spec_json = std::move(spec_json);
  object.uid = std::move(uid);
  object.created_unix_ms = created_ms;
  object.updated_unix_ms = updated_ms;
  object.resource_version = version;
  return object;
}

// A one-object export document around `entry`.
std::string documentWith(const std::string& entry) {
  return R"({"apiVersion":"remora.dev/v1","kind":"StoreExport","revision":"1","objects":[)" + entry + "]}";
}

std::string serviceEntry(const std::string& name, const std::string& spec) {
  return R"({"kind":"Service","namespace":"default","name":")" + name +
         R"(","uid":"u-)" + name + R"(","createdAt":"2024-05-01T12:00:00.250Z","updatedAt":"2024-05-02T08:30:00Z","spec":)" +
         spec + "}";
}

// Exports `from` and imports the document into `to`; returns the import's answer.
harness::HttpResponse copyStore(ApiFixture& from, ApiFixture& to) {
  auto exported = from.call("GET", kExport);
  REQUIRE(exported.status == 200);
  return to.call("POST", kImport, exported.body);
}

TEST_CASE("the export document lists every object with its uid, times, labels and spec", "[cp][api][export]") {
  const std::vector<store::StoredObject> objects = {
      stored({"Service", "default", "reviews"},
             R"({"apiVersion":"remora.dev/v1","kind":"Service","metadata":{"name":"reviews","namespace":"default",)"
             R"("labels":{"team":"books","app":"reviews"}},"spec":{"ports":[{"name":"http","port":9080}]}})",
             "uid-1", 1'714'564'800'250, 1'714'638'600'000, 7),
      stored({"JoinToken", "", "0123456789abcdef"}, R"({"serviceAccount":"web","namespace":"default"})", "uid-2", 5,
             6, 8)};
  auto document = exportDocument(objects, 9, 1'714'564'800'000);
  REQUIRE(document);
  Json json = Json::parse(*document);
  CHECK(json["apiVersion"] == "remora.dev/v1");
  CHECK(json["kind"] == "StoreExport");
  CHECK(json["revision"] == "9");
  CHECK(json["exportedAt"] == "2024-05-01T12:00:00Z");
  REQUIRE(json["objects"].size() == 2);
  const Json& reviews = json["objects"][0];
  CHECK(reviews["kind"] == "Service");
  CHECK(reviews["namespace"] == "default");
  CHECK(reviews["name"] == "reviews");
  CHECK(reviews["uid"] == "uid-1");
  CHECK(reviews["createdAt"] == "2024-05-01T12:00:00.250Z");
  CHECK(reviews["updatedAt"] == "2024-05-02T08:30:00Z");
  CHECK(reviews["resourceVersion"] == "7");
  CHECK(reviews["labels"] == Json({{"app", "reviews"}, {"team", "books"}}));
  CHECK(reviews["spec"]["ports"][0]["port"] == 9080);
  CHECK_FALSE(reviews["spec"].contains("metadata"));
  const Json& token = json["objects"][1];
  CHECK(token["kind"] == "JoinToken");
  CHECK(token["namespace"] == "");
  CHECK_FALSE(token.contains("labels"));
  CHECK(token["spec"]["serviceAccount"] == "web");
  // Keys are sorted, so the same store always exports the same bytes.
  CHECK(document->find(R"("labels":{"app":"reviews","team":"books"})") != std::string::npos);
  CHECK(*exportDocument(objects, 9, 1'714'564'800'000) == *document);
}

TEST_CASE("an export document reads back into the objects it was made from", "[cp][api][export]") {
  const std::string service_json =
      R"({"apiVersion":"remora.dev/v1","kind":"Service","metadata":{"labels":{"app":"reviews"},"name":"reviews",)"
      R"("namespace":"shop"},"spec":{"ports":[{"name":"http","port":9080}]}})";
  const std::vector<store::StoredObject> objects = {
      stored({"Service", "shop", "reviews"}, service_json, "uid-1", 1'714'564'800'250, 1'714'638'600'001, 7),
      stored({"IssuedCertificate", "shop", "web"}, R"({"serial":"0a1b","notAfter":1714564800})", "uid-2", 5, 6, 8)};
  auto document = exportDocument(objects, 9, 0);
  REQUIRE(document);
  auto parsed = parseExportDocument(*document);
  INFO((parsed ? "" : parsed.error().message));
  REQUIRE(parsed);
  REQUIRE(parsed->size() == 2);
  for (size_t i = 0; i < objects.size(); ++i) {
    CHECK((*parsed)[i].key == objects[i].key);
    CHECK((*parsed)[i].uid == objects[i].uid);
    CHECK((*parsed)[i].created_unix_ms == objects[i].created_unix_ms);
    CHECK((*parsed)[i].updated_unix_ms == objects[i].updated_unix_ms);
  }
  // The mesh object comes back in the API's stored form, byte for byte.
  auto reparsed = mesh::parseObject(service_json);
  REQUIRE(reparsed);
  CHECK((*parsed)[0].spec_json == mesh::storedJson(*reparsed));
  CHECK(Json::parse((*parsed)[1].spec_json) == Json::parse(objects[1].spec_json));
}

TEST_CASE("a bad export document is refused naming the entry and the field", "[cp][api][export]") {
  auto failure = [](const std::string& document) {
    auto parsed = parseExportDocument(document);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == base::Error::kInvalidArgument);
    return parsed.error().message;
  };
  const std::string good = serviceEntry("a", R"({"ports":[{"port":80}]})");
  CHECK_THAT(failure("{not json"), Catch::StartsWith("malformed JSON"));
  CHECK_THAT(failure(R"({"apiVersion":"remora.dev/v1","kind":"List","objects":[]})"), Catch::StartsWith("kind: \"List\""));
  CHECK_THAT(failure(R"({"apiVersion":"v9","kind":"StoreExport","objects":[]})"), Catch::StartsWith("apiVersion: "));
  CHECK(failure(R"({"apiVersion":"remora.dev/v1","kind":"StoreExport"})") == "objects: must be an array");
  CHECK_THAT(failure(documentWith(good + "," + serviceEntry("b", R"({"ports":[{"port":70000}]})"))),
             Catch::StartsWith("objects[1].spec.ports[0].port: "));
  CHECK_THAT(failure(documentWith(serviceEntry("Bad_Name", R"({"ports":[{"port":80}]})"))),
             Catch::StartsWith("objects[0].name: "));
  CHECK_THAT(failure(documentWith(R"({"kind":"Secret","namespace":"a","name":"b","uid":"u",)"
                                  R"("createdAt":"2024-05-01T00:00:00Z","updatedAt":"2024-05-01T00:00:00Z","spec":{}})")),
             Catch::StartsWith("objects[0].kind: \"Secret\" is not a kind the store keeps") &&
                 Catch::Contains("JoinToken"));
  CHECK(failure(documentWith(R"({"kind":"Service","namespace":"default","name":"a","uid":"u",)"
                             R"("createdAt":"yesterday","updatedAt":"2024-05-01T00:00:00Z","spec":{}})")) ==
        "objects[0].createdAt: \"yesterday\" is not an RFC 3339 time");
  CHECK(failure(documentWith(R"({"kind":"JoinToken","name":"a","createdAt":"2024-05-01T00:00:00Z",)"
                             R"("updatedAt":"2024-05-01T00:00:00Z","spec":{}})")) == "objects[0].uid: required");
  CHECK(failure(documentWith(R"({"kind":"JoinToken","name":"a","uid":"u","createdAt":"2024-05-01T00:00:00Z",)"
                             R"("updatedAt":"2024-05-01T00:00:00Z","spec":[1]})")) ==
        "objects[0].spec: must be an object");
  CHECK(failure(documentWith("7")) == "objects[0]: must be an object");
}

TEST_CASE("a store exported over the API imports into an empty one with uids and times kept",
          "[cp][api][export]") {
  ApiFixture source;
  REQUIRE(source.call("POST", kServices, service("reviews", 9080, R"(,"labels":{"app":"reviews"})")).status == 201);
  REQUIRE(source.call("POST", "/api/v1/namespaces/default/endpoints", endpoint("reviews-1", "reviews")).status == 201);
  REQUIRE(source.store().create({std::string(ca::kJoinTokenKind), "", "0123456789abcdef"}, R"({"uses":3})"));
  const Json original = ApiFixture::json(source.call("GET", kServices + "/reviews"));

  ApiFixture target;
  std::vector<store::Change> seen;
  target.store().watch([&](const store::Change& change) { seen.push_back(change); });
  auto imported = copyStore(source, target);
  REQUIRE(imported.status == 200);
  Json answer = ApiFixture::json(imported);
  CHECK(answer["imported"] == 3);
  CHECK(answer["revision"] == "3");
  CHECK(seen.size() == 3);

  const Json copy = ApiFixture::json(target.call("GET", kServices + "/reviews"));
  CHECK(copy["metadata"]["uid"] == original["metadata"]["uid"]);
  CHECK(copy["metadata"]["creationTimestamp"] == original["metadata"]["creationTimestamp"]);
  CHECK(copy["metadata"]["labels"] == original["metadata"]["labels"]);
  CHECK(copy["spec"] == original["spec"]);
  auto token = target.store().get({std::string(ca::kJoinTokenKind), "", "0123456789abcdef"});
  REQUIRE(token);
  CHECK(Json::parse(token->spec_json) == Json({{"uses", 3}}));
  // Both stores now export the same objects (versions aside).
  Json a = ApiFixture::json(source.call("GET", kExport));
  Json b = ApiFixture::json(target.call("GET", kExport));
  for (Json* doc : {&a, &b}) {
    for (Json& object : (*doc)["objects"]) object.erase("resourceVersion");
  }
  CHECK(a["objects"] == b["objects"]);
}

TEST_CASE("importing into a store that holds objects is 409 and writes nothing", "[cp][api][export]") {
  ApiFixture source;
  REQUIRE(source.call("POST", kServices, service("reviews")).status == 201);
  ApiFixture target;
  REQUIRE(target.call("POST", kServices, service("other")).status == 201);
  auto refused = copyStore(source, target);
  CHECK(refused.status == 409);
  Json body = ApiFixture::json(refused);
  CHECK(body["reason"] == "Conflict");
  CHECK_THAT(body["message"].get<std::string>(), Catch::Contains("store is not empty"));
  CHECK(target.call("GET", kServices + "/reviews").status == 404);
  CHECK(target.store().revision() == 1);
}

TEST_CASE("an import with one bad entry is 400 naming it, and writes nothing", "[cp][api][export]") {
  ApiFixture target;
  auto refused = target.call("POST", kImport,
                             documentWith(serviceEntry("a", R"({"ports":[{"port":80}]})") + "," +
                                          serviceEntry("b", R"({"ports":[{"port":0}]})")));
  CHECK(refused.status == 400);
  Json body = ApiFixture::json(refused);
  CHECK(body["field"] == "objects[1].spec.ports[0].port");
  CHECK(target.store().revision() == 0);
  // An object given twice is caught by the store's transaction, also as 400.
  auto twice = target.call("POST", kImport,
                           documentWith(serviceEntry("a", R"({"ports":[{"port":80}]})") + "," +
                                        serviceEntry("a", R"({"ports":[{"port":81}]})")));
  CHECK(twice.status == 400);
  CHECK_THAT(ApiFixture::json(twice)["message"].get<std::string>(), Catch::Contains("objects[1]: "));
  CHECK(target.store().revision() == 0);
}

TEST_CASE("the store routes answer only their method and need the token", "[cp][api][export]") {
  ApiOptions options;
  options.token = "t0ken";
  ApiFixture api(options);
  const std::pair<std::string, std::string> auth{"Authorization", "Bearer t0ken"};
  CHECK(api.call("GET", kExport).status == 401);
  CHECK(api.call("POST", kImport, documentWith("")).status == 401);
  CHECK(api.store().revision() == 0);
  CHECK(api.call("GET", kExport, "", {auth}).status == 200);
  CHECK(api.call("POST", kExport, "{}", {auth}).status == 405);
  CHECK(api.call("GET", kImport, "", {auth}).status == 405);
  CHECK(api.call("GET", "/api/v1/store/backup", "", {auth}).status == 404);
  // An empty import into an empty store is fine: it restores nothing.
  auto empty = api.call("POST", kImport, documentWith(""), {auth});
  CHECK(empty.status == 200);
  CHECK(ApiFixture::json(empty)["imported"] == 0);
}

TEST_CASE("an import may be larger than the body limit of the other routes, up to its own", "[cp][api][export]") {
  ApiOptions options;
  options.max_body_bytes = 4096;
  options.max_import_body_bytes = 64 * 1024;
  ApiFixture api(options);
  std::string entries;
  for (int i = 0; i < 40; ++i) {
    if (i > 0) entries += ",";
    entries += serviceEntry("svc-" + std::to_string(i), R"({"ports":[{"name":"http","port":8080}]})");
  }
  const std::string document = documentWith(entries);
  REQUIRE(document.size() > 4096);
  // The same bytes on another route are over that route's limit.
  CHECK(api.call("POST", "/api/v1/apply", document).status == 413);
  auto imported = api.call("POST", kImport, document);
  CHECK(imported.status == 200);
  CHECK(ApiFixture::json(imported)["imported"] == 40);

  std::string huge = documentWith(serviceEntry("x", R"({"ports":[{"port":80}]})") + std::string(70 * 1024, ' '));
  ApiFixture other(options);
  auto refused = other.call("POST", kImport, huge);
  CHECK(refused.status == 413);
  CHECK(other.store().revision() == 0);
}

}  // namespace
}  // namespace remora::cp::api
