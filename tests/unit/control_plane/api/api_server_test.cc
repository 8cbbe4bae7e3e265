#include "control-plane/api/api_server.h"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <thread>

#include "tests/unit/control_plane/api/api_fixture.h"

namespace remora::cp::api {
namespace {

using testing::ApiFixture;
using testing::endpoint;
using testing::Json;
using testing::service;

const std::string kServices = "/api/v1/namespaces/default/services";

std::string versionOf(const harness::HttpResponse& response) {
  return ApiFixture::json(response)["metadata"]["resourceVersion"].get<std::string>();
}

TEST_CASE("a service goes through create, get, list, replace and delete", "[cp][api]") {
  ApiFixture api;
  auto created = api.call("POST", kServices, service("reviews"));
  REQUIRE(created.status == 201);
  Json object = ApiFixture::json(created);
  CHECK(object["apiVersion"] == "remora.dev/v1");
  CHECK(object["metadata"]["namespace"] == "default");
  CHECK_FALSE(object["metadata"]["uid"].get<std::string>().empty());
  const std::string v1 = versionOf(created);

  auto got = api.call("GET", kServices + "/reviews");
  REQUIRE(got.status == 200);
  CHECK(ApiFixture::json(got)["spec"]["ports"][0]["port"] == 9080);

  auto listed = api.call("GET", "/api/v1/services");
  REQUIRE(listed.status == 200);
  Json list = ApiFixture::json(listed);
  CHECK(list["kind"] == "List");
  CHECK(list["revision"] == v1);
  REQUIRE(list["items"].size() == 1);
  CHECK(list["items"][0]["metadata"]["name"] == "reviews");
  CHECK(ApiFixture::json(api.call("GET", "/api/v1/services?namespace=shop"))["items"].empty());

  auto replaced = api.call("PUT", kServices + "/reviews", service("reviews", 9081, R"(,"resourceVersion":")" + v1 + "\""));
  REQUIRE(replaced.status == 200);
  CHECK(versionOf(replaced) != v1);
  CHECK(ApiFixture::json(api.call("GET", kServices + "/reviews"))["spec"]["ports"][0]["port"] == 9081);

  auto deleted = api.call("DELETE", kServices + "/reviews");
  REQUIRE(deleted.status == 200);
  CHECK(ApiFixture::json(deleted)["spec"]["ports"][0]["port"] == 9081);
  auto gone = api.call("GET", kServices + "/reviews");
  CHECK(gone.status == 404);
  CHECK(ApiFixture::json(gone)["reason"] == "NotFound");
  CHECK(api.call("DELETE", kServices + "/reviews").status == 404);
}

TEST_CASE("creating an object twice is 409 AlreadyExists", "[cp][api]") {
  ApiFixture api;
  REQUIRE(api.call("POST", kServices, service("reviews")).status == 201);
  auto again = api.call("POST", kServices, service("reviews"));
  CHECK(again.status == 409);
  CHECK(ApiFixture::json(again)["reason"] == "AlreadyExists");
}

TEST_CASE("PUT without a version creates (201) then replaces (200)", "[cp][api]") {
  ApiFixture api;
  CHECK(api.call("PUT", kServices + "/reviews", service("reviews")).status == 201);
  CHECK(api.call("PUT", kServices + "/reviews", service("reviews", 9090)).status == 200);
  // A version for an object that is gone: 404, not a silent create.
  CHECK(api.call("PUT", kServices + "/other", service("other", 80, R"(,"resourceVersion":"5")")).status == 404);
}

TEST_CASE("a write carrying a stale resourceVersion is 409 Conflict and changes nothing", "[cp][api]") {
  ApiFixture api;
  const std::string v1 = versionOf(api.call("POST", kServices, service("reviews")));
  REQUIRE(api.call("PUT", kServices + "/reviews", service("reviews", 81, R"(,"resourceVersion":")" + v1 + "\"")).status ==
          200);
  auto stale = api.call("PUT", kServices + "/reviews", service("reviews", 82, R"(,"resourceVersion":)" + v1));
  CHECK(stale.status == 409);
  CHECK(ApiFixture::json(stale)["reason"] == "Conflict");
  CHECK(ApiFixture::json(api.call("GET", kServices + "/reviews"))["spec"]["ports"][0]["port"] == 81);

  CHECK(api.call("DELETE", kServices + "/reviews?resourceVersion=" + v1).status == 409);
  auto bad = api.call("DELETE", kServices + "/reviews?resourceVersion=abc");
  CHECK(bad.status == 400);
  CHECK(ApiFixture::json(bad)["field"] == "resourceVersion");
  CHECK(api.call("GET", kServices + "/reviews").status == 200);
}

TEST_CASE("two concurrent updates with the same version: exactly one wins, the other gets 409", "[cp][api]") {
  ApiFixture api;
  std::string version = versionOf(api.call("POST", kServices, service("reviews")));
  for (int round = 0; round < 10; ++round) {
    harness::HttpResponse a, b;
    const std::string meta = R"(,"resourceVersion":")" + version + "\"";
    std::thread first([&] { a = api.call("PUT", kServices + "/reviews", service("reviews", 1000 + round, meta)); });
    std::thread second([&] { b = api.call("PUT", kServices + "/reviews", service("reviews", 2000 + round, meta)); });
    first.join();
    second.join();
    INFO("round " << round << ": " << a.status << " " << b.status);
    REQUIRE(((a.status == 200 && b.status == 409) || (a.status == 409 && b.status == 200)));
    const harness::HttpResponse& winner = a.status == 200 ? a : b;
    version = versionOf(winner);
    CHECK(ApiFixture::json(api.call("GET", kServices + "/reviews"))["spec"]["ports"][0]["port"] ==
          ApiFixture::json(winner)["spec"]["ports"][0]["port"]);
  }
}

TEST_CASE("bad input is 400 naming the field, and nothing is stored", "[cp][api]") {
  ApiFixture api;
  struct Case {
    std::string body;
    std::string field;  // "" = the message names no field
  };
  const std::vector<Case> cases = {
      {R"({"kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":80}]})", ""},  // truncated
      {R"({"kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":80,"colour":"red"}]}})",
       "spec.ports[0].colour"},
      {R"({"kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"name":"a","port":80},{"name":"b","port":70000}]}})",
       "spec.ports[1].port"},
      {R"({"kind":"Service","metadata":{"name":"Not_A_Label"},"spec":{"ports":[{"port":80}]}})", "metadata.name"},
      {R"({"kind":"Endpoint","metadata":{"name":"a"},"spec":{"service":"a","address":"10.0.0.1","port":80}})",
       "kind"},
      {R"({"kind":"Service","metadata":{"name":"a","namespace":"shop"},"spec":{"ports":[{"port":80}]}})",
       "metadata.namespace"},
  };
  for (const Case& c : cases) {
    auto response = api.call("POST", kServices, c.body);
    INFO(c.body << "\n-> " << response.body);
    CHECK(response.status == 400);
    Json body = ApiFixture::json(response);
    CHECK(body["reason"] == "BadRequest");
    if (c.field.empty()) {
      CHECK_FALSE(body.contains("field"));
    } else {
      CHECK(body["field"] == c.field);
    }
  }
  auto dangling = api.call("POST", "/api/v1/namespaces/default/endpoints", endpoint("web-1", "missing"));
  CHECK(dangling.status == 400);
  CHECK(ApiFixture::json(dangling)["field"] == "spec.service");
  CHECK(api.store().revision() == 0);
}

TEST_CASE("an object without a namespace takes the URL's, and a name must match the URL", "[cp][api]") {
  ApiFixture api;
  auto created = api.call("POST", "/api/v1/namespaces/shop/services", service("cart"));
  REQUIRE(created.status == 201);
  CHECK(ApiFixture::json(created)["metadata"]["namespace"] == "shop");
  CHECK(api.call("GET", "/api/v1/namespaces/shop/services/cart").status == 200);
  auto renamed = api.call("PUT", "/api/v1/namespaces/shop/services/cart", service("basket"));
  CHECK(renamed.status == 400);
  CHECK(ApiFixture::json(renamed)["field"] == "metadata.name");
}

TEST_CASE("unknown paths are 404 and wrong methods 405 with Allow", "[cp][api]") {
  ApiFixture api;
  CHECK(api.call("GET", "/api/v1/gateways").status == 404);
  CHECK(api.call("GET", "/api/v2/services").status == 404);
  CHECK(api.call("GET", "/api/v1/namespaces/default/services/a/b").status == 404);
  auto wrong = api.call("DELETE", "/api/v1/services");
  CHECK(wrong.status == 405);
  CHECK(wrong.header("allow") == "GET");
  CHECK(ApiFixture::json(wrong)["reason"] == "MethodNotAllowed");
  CHECK(api.call("PATCH", kServices + "/reviews", "{}").status == 405);
  CHECK(api.call("GET", "/api/v1/apply").status == 405);
}

TEST_CASE("with a token, every path but /healthz needs it", "[cp][api]") {
  ApiOptions options;
  options.token = "s3cret-token";
  ApiFixture api(options);
  auto health = api.call("GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == "ok");
  auto none = api.call("GET", "/api/v1/services");
  CHECK(none.status == 401);
  CHECK(ApiFixture::json(none)["reason"] == "Unauthorized");
  CHECK(api.call("GET", "/metrics").status == 401);
  CHECK(api.call("GET", "/api/v1/services", "", {{"Authorization", "Bearer s3cret-tokeX"}}).status == 401);
  CHECK(api.call("GET", "/api/v1/services", "", {{"Authorization", "Bearer s3cret-token-longer"}}).status == 401);
  CHECK(api.call("POST", kServices, service("a"), {{"Authorization", "Bearer s3cret"}}).status == 401);
  CHECK(api.call("GET", "/api/v1/services", "", {{"Authorization", "Bearer s3cret-token"}}).status == 200);
  CHECK(api.store().revision() == 0);
}

TEST_CASE("a body over the limit is 413 and is not stored", "[cp][api]") {
  ApiOptions options;
  options.max_body_bytes = 4096;
  ApiFixture api(options);
  std::string labels;
  for (int i = 0; i < 300; ++i) labels += ",\"label" + std::to_string(i) + "\":\"value\"";
  auto response = api.call("POST", kServices, service("big", 80, R"(,"labels":{"a":"b")" + labels + "}"));
  CHECK(response.status == 413);
  CHECK(ApiFixture::json(response)["reason"] == "PayloadTooLarge");
  CHECK(api.store().revision() == 0);
  CHECK(api.call("POST", kServices, service("small")).status == 201);
}

TEST_CASE("/metrics counts every response by method and code, then the hook's text", "[cp][api]") {
  ApiFixture api;
  api.server().setMetricsHook([](std::string& out) { out += "remora_cp_test_gauge 7\n"; });
  REQUIRE(api.call("POST", kServices, service("a")).status == 201);
  REQUIRE(api.call("POST", kServices, service("a")).status == 409);
  REQUIRE(api.call("GET", "/api/v1/nothing").status == 404);
  REQUIRE(api.call("BREW", "/api/v1/services").status >= 400);
  auto metrics = api.call("GET", "/metrics");
  REQUIRE(metrics.status == 200);
  CHECK(metrics.header("content-type").value_or("").starts_with("text/plain"));
  INFO(metrics.body);
  CHECK(metrics.body.find("# TYPE remora_cp_api_requests_total counter") != std::string::npos);
  CHECK(metrics.body.find("remora_cp_api_requests_total{method=\"POST\",code=\"201\"} 1\n") != std::string::npos);
  CHECK(metrics.body.find("remora_cp_api_requests_total{method=\"POST\",code=\"409\"} 1\n") != std::string::npos);
  CHECK(metrics.body.find("remora_cp_api_requests_total{method=\"GET\",code=\"404\"} 1\n") != std::string::npos);
  CHECK(metrics.body.find("BREW") == std::string::npos);
  CHECK(metrics.body.ends_with("remora_cp_test_gauge 7\n"));
}

TEST_CASE("/api/v1/proxies lists the registry's proxies", "[cp][api]") {
  ApiFixture api;
  CHECK(ApiFixture::json(api.call("GET", "/api/v1/proxies"))["items"].empty());
  xds::server::ProxyStatus status;
  status.node_id = "sidecar-1";
  status.cluster = "reviews";
  api.proxies().add(status);
  Json items = ApiFixture::json(api.call("GET", "/api/v1/proxies"))["items"];
  REQUIRE(items.size() == 1);
  CHECK(items[0].dump().find("sidecar-1") != std::string::npos);
}

TEST_CASE("with a certificate and key the API is served over HTTPS only", "[cp][api]") {
  harness::TempDir certs("remora-api-tls");
  const std::string cert = certs.file("cert.pem");
  const std::string key = certs.file("key.pem");
  const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 1 -keyout " +
                              key + " -out " + cert + " >/dev/null 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
  ApiOptions options;
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  options.token = "t0ken";
  ApiFixture api(options);

  const auto colon = api.address().rfind(':');
  httplib::SSLClient client("127.0.0.1", std::stoi(api.address().substr(colon + 1)));
  client.set_ca_cert_path(cert.c_str());
  client.enable_server_certificate_verification(true);
  auto health = client.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto refused = client.Get("/api/v1/services");
  REQUIRE(refused);
  CHECK(refused->status == 401);
  auto listed = client.Get("/api/v1/services", httplib::Headers{{"Authorization", "Bearer t0ken"}});
  REQUIRE(listed);
  CHECK(listed->status == 200);
  // Plain HTTP to the TLS port gets no HTTP answer.
  auto plain = harness::httpGet(api.address(), "/healthz", std::chrono::seconds(2));
  CHECK_FALSE((plain.has_value() && plain->status == 200));
}

TEST_CASE("start refuses a malformed address and half a TLS pair, and stop is idempotent", "[cp][api]") {
  harness::TempDir dir("remora-api");
  auto store = store::sqlite::SqliteStore::open(dir.file("remora.db"));
  REQUIRE(store.has_value());
  xds::server::ProxyRegistry proxies;
  auto mesh = [] { return std::make_shared<const mesh::MeshState>(); };
  ApiOptions bad;
  bad.address = "localhost";
  CHECK(ApiServer(**store, mesh, proxies, bad).start().error().code == base::Error::kInvalidArgument);
  ApiOptions half;
  half.address = "127.0.0.1:0";
  half.tls_cert_file = dir.file("cert.pem");
  CHECK(ApiServer(**store, mesh, proxies, half).start().error().code == base::Error::kInvalidArgument);
  ApiOptions missing = half;
  missing.tls_key_file = dir.file("key.pem");
  CHECK(ApiServer(**store, mesh, proxies, missing).start().error().code == base::Error::kIo);

  ApiOptions ok;
  ok.address = "127.0.0.1:0";
  ApiServer server(**store, mesh, proxies, ok);
  auto port = server.start();
  REQUIRE(port.has_value());
  CHECK(*port != 0);
  server.stop();
  server.stop();
  CHECK_FALSE(harness::httpGet("127.0.0.1:" + std::to_string(*port), "/healthz").has_value());
}

}  // namespace
}  // namespace remora::cp::api
