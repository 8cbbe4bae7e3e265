#include "tests/bench/cp_load/mesh_api.h"

#include <httplib.h>

#include <charconv>

#include "tests/bench/cp_load/load_stream.h"

namespace remora::bench {

base::Result<std::unique_ptr<MeshApi>> MeshApi::connect(const std::string& address, std::string token,
                                                        std::chrono::milliseconds timeout) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return base::fail(base::Error::kInvalidArgument, "--api: want host:port");
  int port = 0;
  const char* first = address.data() + colon + 1;
  const char* last = address.data() + address.size();
  auto [end, error] = std::from_chars(first, last, port);
  if (error != std::errc() || end != last || port <= 0 || port > 65535) {
    return base::fail(base::Error::kInvalidArgument, "--api: bad port in '" + address + "'");
  }
  auto client = std::make_unique<httplib::Client>(address.substr(0, colon), port);
  client->set_keep_alive(true);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
  client->set_connection_timeout(seconds, 0);
  client->set_read_timeout(seconds, 0);
  client->set_write_timeout(seconds, 0);
  return std::unique_ptr<MeshApi>(new MeshApi(std::move(client), std::move(token)));
}

MeshApi::MeshApi(std::unique_ptr<httplib::Client> client, std::string token)
    : client_(std::move(client)), token_(std::move(token)) {}

MeshApi::~MeshApi() = default;

base::Status MeshApi::apply(const nlohmann::json& items) {
  return call("POST", "/api/v1/apply", nlohmann::json{{"items", items}}.dump());
}

base::Status MeshApi::put(const std::string& plural, const std::string& name, const nlohmann::json& object) {
  return call("PUT", "/api/v1/namespaces/default/" + plural + "/" + name, object.dump());
}

base::Result<std::string> MeshApi::get(const std::string& path) {
  httplib::Headers headers;
  if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
  httplib::Result result = client_->Get(path.c_str(), headers);
  if (!result) return base::fail(base::Error::kIo, "GET " + path + ": " + httplib::to_string(result.error()));
  if (result->status / 100 != 2) {
    return base::fail(base::Error::kInvalidArgument, "GET " + path + ": " + std::to_string(result->status));
  }
  return result->body;
}

base::Status MeshApi::call(const char* method, const std::string& path, const std::string& body) {
  httplib::Headers headers;
  if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
  httplib::Result result = std::string_view(method) == "PUT"
                               ? client_->Put(path.c_str(), headers, body, "application/json")
                               : client_->Post(path.c_str(), headers, body, "application/json");
  if (!result) {
    return base::fail(base::Error::kIo, std::string(method) + " " + path + ": " + httplib::to_string(result.error()));
  }
  if (result->status / 100 != 2) {
    return base::fail(base::Error::kInvalidArgument,
                      std::string(method) + " " + path + ": " + std::to_string(result->status) + " " + result->body);
  }
  return base::Status::ok();
}

nlohmann::json serviceObject(int service) {
  return {{"apiVersion", "remora.dev/v1"},
          {"kind", "Service"},
          {"metadata", {{"name", serviceName(service)}, {"namespace", "default"}}},
          {"spec", {{"ports", nlohmann::json::array({{{"name", "http"}, {"port", 8080}, {"protocol", "HTTP"}}})}}}};
}

std::string endpointName(int service, int endpoint) { return serviceName(service) + "-" + std::to_string(endpoint); }

nlohmann::json endpointObject(int service, int endpoint, const std::string& address) {
  return {{"apiVersion", "remora.dev/v1"},
          {"kind", "Endpoint"},
          {"metadata", {{"name", endpointName(service, endpoint)}, {"namespace", "default"}}},
          {"spec", {{"service", serviceName(service)}, {"address", address}, {"port", 8080}}}};
}

std::string initialAddress(int service, int endpoint) {
  return "10." + std::to_string(endpoint + 1) + "." + std::to_string(service / 256 % 256) + "." +
         std::to_string(service % 256);
}

std::string writeAddress(int write) {
  return "10.250." + std::to_string(write / 256 % 256) + "." + std::to_string(write % 256);
}

}  // namespace remora::bench
