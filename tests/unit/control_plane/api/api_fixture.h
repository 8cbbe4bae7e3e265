// A real ApiServer for tests: a SqliteStore in a temp dir, 127.0.0.1 port 0,
// and the mesh rebuilt from the store on every call (what the control plane's
// MeshSource provides, without its caching). Test thread only, except call(),
// which any thread may use.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "control-plane/api/api_server.h"
#include "control-plane/mesh/object_codec.h"
#include "control-plane/store/sqlite/sqlite_store.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/temp_dir.h"

namespace remora::cp::api::testing {

using Json = nlohmann::json;

inline std::shared_ptr<const mesh::MeshState> meshFromStore(store::Store& store) {
  auto state = std::make_shared<mesh::MeshState>();
  auto objects = store.list("", "");
  REQUIRE(objects.has_value());
  for (const store::StoredObject& stored : *objects) {
    auto parsed = mesh::fromStored(stored);
    REQUIRE(parsed.has_value());
    state->put(std::move(*parsed));
  }
  return state;
}

class ApiFixture {
 public:
  explicit ApiFixture(ApiOptions options = {}) : dir_("remora-api") {
    auto opened = store::sqlite::SqliteStore::open(dir_.file("remora.db"));
    REQUIRE(opened.has_value());
    store_ = std::move(*opened);
    options.address = "127.0.0.1:0";
    server_ = std::make_unique<ApiServer>(
        *store_, [this] { return meshFromStore(*store_); }, proxies_, std::move(options));
    auto port = server_->start();
    REQUIRE(port.has_value());
    address_ = "127.0.0.1:" + std::to_string(*port);
  }

  harness::HttpResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
    harness::HttpRequest request;
    request.method = method;
    request.path = path;
    request.body = body;
    request.headers = std::move(headers);
    if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
    auto response = harness::httpRequest(address_, request);
    if (!response) FAIL_CHECK(method << " " << path << ": " << response.error().message);
    return response ? std::move(*response) : harness::HttpResponse{};
  }

  // The response body as JSON (fails the test when it is not).
  static Json json(const harness::HttpResponse& response) {
    INFO(response.body);
    Json parsed = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    REQUIRE_FALSE(parsed.is_discarded());
    return parsed;
  }

  store::sqlite::SqliteStore& store() { return *store_; }
  ApiServer& server() { return *server_; }
  xds::server::ProxyRegistry& proxies() { return proxies_; }
  const std::string& address() const { return address_; }

 private:
  harness::TempDir dir_;
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  xds::server::ProxyRegistry proxies_;
  std::unique_ptr<ApiServer> server_;
  std::string address_;
};

inline std::string service(const std::string& name, int port = 9080, const std::string& extra_metadata = "") {
  return R"({"kind":"Service","metadata":{"name":")" + name + "\"" + extra_metadata +
         R"(},"spec":{"ports":[{"name":"http","port":)" + std::to_string(port) + "}]}}";
}

inline std::string endpoint(const std::string& name, const std::string& service_name) {
  return R"({"kind":"Endpoint","metadata":{"name":")" + name + R"("},"spec":{"service":")" + service_name +
         R"(","address":"10.0.0.1","port":9080}})";
}

}  // namespace remora::cp::api::testing
