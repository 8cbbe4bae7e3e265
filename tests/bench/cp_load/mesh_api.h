// MeshApi: the load tool's client of remora-cp's JSON API (docs/api.md),
// and the mesh objects it writes: Service "svc-0007" (port 8080, HTTP) and
// Endpoints "svc-0007-<e>" at 10.<e + 1>.<s / 256>.<s % 256>:8080.
//
// Driver thread only; one keep-alive connection.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "xds/base/status.h"

namespace httplib {
class Client;
}

namespace remora::bench {

class MeshApi {
 public:
  // `address` is "host:port"; `token` (may be empty) is sent as a bearer token.
  static base::Result<std::unique_ptr<MeshApi>> connect(const std::string& address, std::string token,
                                                         std::chrono::milliseconds timeout);
  ~MeshApi();

  // POST /api/v1/apply {"items": items}: one transaction.
  base::Status apply(const nlohmann::json& items);
  // GET path -> the body of a 2xx answer.
  base::Result<std::string> get(const std::string& path);
  // PUT /api/v1/namespaces/default/{plural}/{name}.
  base::Status put(const std::string& plural, const std::string& name, const nlohmann::json& object);

 private:
  MeshApi(std::unique_ptr<httplib::Client> client, std::string token);
  base::Status call(const char* method, const std::string& path, const std::string& body);

  std::unique_ptr<httplib::Client> client_;
  std::string token_;
};

nlohmann::json serviceObject(int service);
nlohmann::json endpointObject(int service, int endpoint, const std::string& address);
std::string endpointName(int service, int endpoint);
// The address endpoint `endpoint` of service `service` starts with.
std::string initialAddress(int service, int endpoint);
// A fresh address for write `write`, distinct from every initial one.
std::string writeAddress(int write);

}  // namespace remora::bench
