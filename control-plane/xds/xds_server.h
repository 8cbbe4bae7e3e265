// XdsServer: the gRPC server that serves AdsService on one address, with the
// keepalive policy xDS clients need. The control plane's Server (and the test
// server) owns one; start() and shutdown() from the owning thread.
#pragma once

#include <grpcpp/server.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "control-plane/xds/ads_service.h"
#include "xds/base/status.h"

namespace remora::cp::xds {

class XdsServer {
 public:
  XdsServer(remora::xds::server::SnapshotCache& cache, remora::xds::server::ProxyRegistry& registry,
            AdsServiceOptions options = {});
  ~XdsServer();
  XdsServer(const XdsServer&) = delete;
  XdsServer& operator=(const XdsServer&) = delete;

  // Binds `address` ("127.0.0.1:0" picks a port), plaintext, and serves.
  // Returns the bound port.
  base::Result<uint16_t> start(const std::string& address);
  // Ends every stream (after `grace` for writes in flight) and stops.
  void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(500));

 private:
  std::unique_ptr<AdsService> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace remora::cp::xds
