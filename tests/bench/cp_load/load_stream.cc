#include "tests/bench/cp_load/load_stream.h"

#include <cstdio>

namespace remora::bench {

std::string serviceName(int service) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "svc-%04d", service);
  return buffer;
}

envoy::config::core::v3::Node loadNode(int index, int services) {
  envoy::config::core::v3::Node node;
  node.set_id("load-" + std::to_string(index));
  const std::string service = serviceName(index % services);
  node.set_cluster(service);
  // Announced as a sidecar, as a real remora-proxy does: sidecars get no API
  // listeners (those are for gRPC's proxyless clients).
  node.set_user_agent_name("remora-proxy");
  auto& fields = *node.mutable_metadata()->mutable_fields();
  fields["REMORA_SERVICE"].set_string_value(service);
  fields["REMORA_NAMESPACE"].set_string_value("default");
  fields["POD_IP"].set_string_value("10.200." + std::to_string(index / 256 % 256) + "." + std::to_string(index % 256));
  fields["APP_PORTS"].set_string_value("8080");
  return node;
}

std::shared_ptr<grpc::Channel> ownChannel(const std::string& address, int index) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // Any argument that differs makes the channel's subchannel key differ.
  args.SetInt("remora.cp_load.proxy", index);
  // A state-of-the-world push to a proxy of a 1,000-service mesh is larger
  // than gRPC's 4 MiB default; the figure is reported, not enforced.
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

}  // namespace remora::bench
