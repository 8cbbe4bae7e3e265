// XdsServer: the gRPC server that serves AdsService (and any other service
// added, e.g. the CertificateService) on one address, with the keepalive
// policy xDS clients need; plaintext, or TLS from files that gRPC's
// FileWatcherCertificateProvider re-reads every `refresh` (so the control
// plane rotates its serving certificate and trust bundle by rewriting them). The control plane's Server (and the test
// server) owns one; start() and shutdown() from the owning thread.
#pragma once

#include <grpcpp/server.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control-plane/xds/ads_service.h"
#include "xds/base/status.h"

namespace remora::cp::xds {

struct XdsTlsFiles {
  std::string key_file, cert_file;  // the serving key and chain
  std::string roots_file;           // client certificates are verified against these
  std::chrono::seconds refresh{1};
};

class XdsServer {
 public:
  XdsServer(remora::xds::server::SnapshotCache& cache, remora::xds::server::ProxyRegistry& registry,
            AdsServiceOptions options = {});
  ~XdsServer();
  XdsServer(const XdsServer&) = delete;
  XdsServer& operator=(const XdsServer&) = delete;

  // Before start(): serve `service` too (not owned; must outlive shutdown()).
  void addService(grpc::Service* service) { extra_services_.push_back(service); }

  // Binds `address` ("127.0.0.1:0" picks a port) and serves: plaintext
  // without `tls`; with it, TLS whose client certificates are requested and
  // verified when presented, not required (a first certificate request
  // comes with a join token). Returns the bound port.
  base::Result<uint16_t> start(const std::string& address, const std::optional<XdsTlsFiles>& tls = std::nullopt);
  // Ends every stream (after `grace` for writes in flight) and stops.
  void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(500));

 private:
  std::unique_ptr<AdsService> service_;
  std::vector<grpc::Service*> extra_services_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace remora::cp::xds
