#include "control-plane/xds/xds_server.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/server_builder.h>

namespace remora::cp::xds {

XdsServer::XdsServer(remora::xds::server::SnapshotCache& cache, remora::xds::server::ProxyRegistry& registry,
                     AdsServiceOptions options)
    : service_(std::make_unique<AdsService>(cache, registry, std::move(options))) {}

XdsServer::~XdsServer() { shutdown(); }

namespace {

std::shared_ptr<grpc::ServerCredentials> tlsCredentials(const XdsTlsFiles& files) {
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, files.roots_file, static_cast<unsigned>(files.refresh.count()));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  // Requested and, when sent, verified against the bundle; not required,
  // because a proxy's first certificate request can only bring a token.
  options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace

base::Result<uint16_t> XdsServer::start(const std::string& address, const std::optional<XdsTlsFiles>& tls) {
  if (server_) return base::fail(base::Error::kInternal, "xDS server already started");
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, tls ? tlsCredentials(*tls) : grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service_.get());
  for (grpc::Service* service : extra_services_) builder.RegisterService(service);
  // remora-proxy pings an idle ADS stream every 300 s, other clients (gRPC's
  // xDS client, Envoy with keepalive set) much more often; the default policy
  // (5 min, 2 strikes) would GOAWAY them with "too_many_pings".
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    server_.reset();
    return base::fail(base::Error::kIo, "cannot serve xDS on " + address);
  }
  return static_cast<uint16_t>(port);
}

void XdsServer::shutdown(std::chrono::milliseconds grace) {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    server_->Wait();
    server_.reset();
  }
  service_->stop();
}

}  // namespace remora::cp::xds
