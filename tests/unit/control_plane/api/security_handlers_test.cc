#include "control-plane/api/security_handlers.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "control-plane/ca/certificate_authority.h"
#include "control-plane/ca/issued_certificates.h"
#include "control-plane/ca/token_store.h"
#include "control-plane/store/sqlite/sqlite_store.h"
#include "tests/integration/harness/temp_dir.h"

namespace remora::cp::api {
namespace {

using Json = nlohmann::json;

struct Fixture {
  harness::TempDir dir{"security-api-test"};
  std::unique_ptr<store::Store> store = store::openSqliteStore(dir.file("remora.db")).value();
  std::unique_ptr<ca::CertificateAuthority> authority =
      ca::CertificateAuthority::open(ca::CaOptions{.state_dir = dir.file("ca")}).value();
  ca::TokenStore tokens{*store};
  ca::IssuedCertificates issued{*store};
  SecurityHandlers handlers;
  Fixture() { handlers.setBackend(SecurityBackend{&tokens, &issued, authority.get(), nullptr}); }

  ApiResponse call(const std::string& method, const std::string& path, const std::string& body = "") {
    std::vector<std::string> parts;
    std::string rest = path.substr(std::string("/api/v1/").size());
    for (size_t start = 0;;) {
      const size_t slash = rest.find('/', start);
      parts.push_back(rest.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    return handlers.handle(ApiRequest{method, path, {}, body}, parts);
  }
};

TEST_CASE("tokens are created once with their secret, then listed and deleted without it", "[api]") {
  Fixture f;
  ApiResponse created = f.call("POST", "/api/v1/tokens", R"({"namespace":"shop","serviceAccount":"web","ttl":"2h"})");
  REQUIRE(created.status == 201);
  Json token = Json::parse(created.body);
  CHECK(token["token"].get<std::string>().starts_with("rmt_"));
  CHECK(token["identity"] == "spiffe://cluster.local/ns/shop/sa/web");
  ApiResponse listed = f.call("GET", "/api/v1/tokens");
  REQUIRE(listed.status == 200);
  Json list = Json::parse(listed.body);
  REQUIRE(list["items"].size() == 1);
  CHECK(list["items"][0].count("token") == 0);
  CHECK(list["items"][0]["id"] == token["id"]);
  CHECK(f.call("DELETE", "/api/v1/tokens/" + token["id"].get<std::string>()).status == 200);
  CHECK(f.call("DELETE", "/api/v1/tokens/" + token["id"].get<std::string>()).status == 404);
  CHECK(Json::parse(f.call("GET", "/api/v1/tokens").body)["items"].empty());
}

TEST_CASE("bad token requests are 400 naming the field", "[api]") {
  Fixture f;
  CHECK(f.call("POST", "/api/v1/tokens", R"({"serviceAccount":"web","ttl":"soon"})").status == 400);
  CHECK(f.call("POST", "/api/v1/tokens", R"({"namespace":"default"})").status == 400);
  ApiResponse unknown = f.call("POST", "/api/v1/tokens", R"({"serviceAccount":"web","owner":"me"})");
  CHECK(unknown.status == 400);
  CHECK_THAT(unknown.body, Catch::Contains("owner"));
  CHECK(f.call("PUT", "/api/v1/tokens").status == 405);
}

TEST_CASE("the CA endpoint shows roots and rotation moves through its phases", "[api]") {
  Fixture f;
  Json status = Json::parse(f.call("GET", "/api/v1/ca").body);
  CHECK(status["rotationPhase"] == "none");
  CHECK(status["roots"].size() == 1);
  CHECK(f.call("POST", "/api/v1/ca/rotate", R"({"phase":"finish"})").status == 409);
  CHECK(f.call("POST", "/api/v1/ca/rotate", R"({"phase":"later"})").status == 400);
  ApiResponse prepared = f.call("POST", "/api/v1/ca/rotate", R"({"phase":"prepare"})");
  REQUIRE(prepared.status == 200);
  CHECK(Json::parse(prepared.body)["roots"].size() == 2);
}

TEST_CASE("without a backend the endpoints say the control plane is insecure", "[api]") {
  SecurityHandlers handlers;
  ApiResponse response = handlers.handle(ApiRequest{"GET", "/api/v1/identities", {}, ""}, {"identities"});
  CHECK(response.status == 404);
  CHECK_THAT(response.body, Catch::Contains("--insecure"));
}

TEST_CASE("ttl accepts s, m, h, d and bare seconds", "[api]") {
  CHECK(parseTtl("90s")->count() == 90);
  CHECK(parseTtl("30m")->count() == 1800);
  CHECK(parseTtl("24h")->count() == 86400);
  CHECK(parseTtl("7d")->count() == 7 * 86400);
  CHECK(parseTtl("45")->count() == 45);
  CHECK_FALSE(parseTtl("0s"));
  CHECK_FALSE(parseTtl("-1h"));
  CHECK_FALSE(parseTtl("1w"));
  CHECK(rfc3339(0) == "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace remora::cp::api
