#include "control-plane/mesh/tracing_builder.h"

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/trace/v3/opentelemetry.pb.h"
#include "envoy/config/trace/v3/zipkin.pb.h"

namespace remora::cp::mesh {

namespace cluster = envoy::config::cluster::v3;
namespace core = envoy::config::core::v3;
namespace hcm = envoy::extensions::filters::network::http_connection_manager::v3;
namespace trace = envoy::config::trace::v3;

std::string tracingAuthority(const MeshTracing& tracing) {
  const bool ipv6 = tracing.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + tracing.host + "]" : tracing.host) + ":" + std::to_string(tracing.port);
}

void addTracing(const MeshTracing& tracing, std::string_view service, hcm::HttpConnectionManager& manager) {
  if (!tracing.enabled) return;
  hcm::HttpConnectionManager::Tracing* out = manager.mutable_tracing();
  out->mutable_random_sampling()->set_value(tracing.sampling_percent);
  envoy::config::trace::v3::Tracing::Http* provider = out->mutable_provider();
  const std::string cluster_name(kTracingCollectorCluster);
  if (tracing.format == MeshTracing::Format::kOtlp) {
    trace::OpenTelemetryConfig config;
    config.set_service_name(std::string(service));
    core::HttpUri* uri = config.mutable_http_service()->mutable_http_uri();
    uri->set_uri("http://" + tracingAuthority(tracing) + tracing.path);
    uri->set_cluster(cluster_name);
    provider->set_name("envoy.tracers.opentelemetry");
    provider->mutable_typed_config()->PackFrom(config);
    return;
  }
  trace::ZipkinConfig config;
  config.set_collector_cluster(cluster_name);
  config.set_collector_endpoint(tracing.path);
  config.set_collector_endpoint_version(trace::ZipkinConfig::HTTP_JSON);
  config.set_collector_hostname(tracingAuthority(tracing));
  // What remora-proxy does anyway, spelled out for Envoy sidecars (whose
  // defaults are 64-bit ids and a span shared by client and server).
  config.set_trace_id_128bit(true);
  config.mutable_shared_span_context()->set_value(false);
  provider->set_name("envoy.tracers.zipkin");
  provider->mutable_typed_config()->PackFrom(config);
}

void addTracingCollectorCluster(const MeshTracing& tracing, std::vector<google::protobuf::Any>& clusters) {
  if (!tracing.enabled) return;
  cluster::Cluster out;
  out.set_name(std::string(kTracingCollectorCluster));
  out.set_type(cluster::Cluster::STATIC);
  out.set_lb_policy(cluster::Cluster::ROUND_ROBIN);
  envoy::config::endpoint::v3::ClusterLoadAssignment* load = out.mutable_load_assignment();
  load->set_cluster_name(out.name());
  core::SocketAddress* address =
      load->add_endpoints()->add_lb_endpoints()->mutable_endpoint()->mutable_address()->mutable_socket_address();
  address->set_address(tracing.host);
  address->set_port_value(tracing.port);
  google::protobuf::Any any;
  any.PackFrom(out);
  clusters.push_back(std::move(any));
}

}  // namespace remora::cp::mesh
