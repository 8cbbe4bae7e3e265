#include "xds/resources/listener_converter.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
using ListenerProto = envoy::config::listener::v3::Listener;

namespace {

constexpr const char* kTcp =
    R"({"name": "tcp", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
        "stat_prefix": "t", "cluster": "c"}})";

std::string listener(const std::string& chains, const std::string& extra = "") {
  return R"({"name": "l", "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
             "filter_chains": )" +
         chains + (extra.empty() ? "" : ", " + extra) + "}";
}

std::string chain(const std::string& match_json) {
  return R"({"filter_chain_match": )" + match_json + R"(, "filters": [)" + kTcp + "]}";
}

}  // namespace

TEST_CASE("a TCP proxy listener converts with its match and defaults", "[xds][resources][listener]") {
  auto l = toListener(protoFromJson<ListenerProto>(listener(
      "[" + chain(R"({"destination_port": 443, "transport_protocol": "tls", "application_protocols": ["h2"]})") + "]",
      R"("listener_filters": [{"name": "envoy.filters.listener.tls_inspector"}])")));
  REQUIRE(l);
  CHECK(l->name == "l");
  CHECK(l->address.port == 0);
  CHECK(l->listener_filters_timeout == Millis(1000));
  REQUIRE(l->filter_chains.size() == 1);
  CHECK(l->filter_chains[0].match.destination_port == 443u);
  CHECK(l->filter_chains[0].match.transport_protocol == "tls");
  CHECK(std::get<TcpProxy>(l->filter_chains[0].filter).cluster == "c");
  CHECK(std::get<TcpProxy>(l->filter_chains[0].filter).idle_timeout == Millis(3600000));
}

TEST_CASE("two filter chains with the same match are rejected", "[xds][resources][listener]") {
  auto l = toListener(
      protoFromJson<ListenerProto>(listener("[" + chain(R"({"application_protocols": ["h2c", "http/1.1"]})") + "," +
                                            chain(R"({"application_protocols": ["http/1.1", "h2c"]})") + "]")));
  REQUIRE_FALSE(l);
  CHECK(l.error().message ==
        "filter_chains[1].filter_chain_match: is the same as filter_chains[0]'s; a connection could not choose "
        "between them");
}

TEST_CASE("a chain without a terminal network filter is rejected", "[xds][resources][listener]") {
  auto empty = toListener(protoFromJson<ListenerProto>(listener(R"([{"filters": []}])")));
  REQUIRE_FALSE(empty);
  CHECK_THAT(empty.error().message, Catch::StartsWith("filter_chains[0].filters: must hold a network filter"));
  auto first =
      toListener(protoFromJson<ListenerProto>(listener(std::string(R"([{"filters": [)") + kTcp + "," + kTcp + "]}]")));
  REQUIRE_FALSE(first);
  CHECK(first.error().message ==
        "filter_chains[0].filters[0]: envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy must be the last "
        "network filter");
}

TEST_CASE("a network filter of another @type is refused naming it", "[xds][resources][listener]") {
  auto l = toListener(protoFromJson<ListenerProto>(listener(R"([{"filters": [{"name": "x", "typed_config":
      {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}])")));
  REQUIRE_FALSE(l);
  CHECK(l.error().code == Error::kUnsupported);
  CHECK_THAT(l.error().message,
             Catch::StartsWith("filter_chains[0].filters[0].typed_config: not supported by remora-proxy (network "
                               "filter @type type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"));
}

TEST_CASE("a filter chain's TLS transport socket becomes the model's DownstreamTls", "[xds][resources][listener]") {
  auto l = toListener(protoFromJson<ListenerProto>(listener(std::string(R"([{"transport_socket": {
      "name": "envoy.transport_sockets.tls", "typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
      "require_client_certificate": true, "common_tls_context": {
        "tls_certificate_sds_secret_configs": [{"name": "default"}],
        "combined_validation_context": {
          "default_validation_context": {"match_typed_subject_alt_names": [
            {"san_type": "URI", "matcher": {"prefix": "spiffe://cluster.local/"}}]},
          "validation_context_sds_secret_config": {"name": "ROOTCA", "sds_config": {"ads": {}}}}}}},
      "filters": [)") + kTcp + "]}]")));
  REQUIRE(l);
  const FilterChain& chain = l->filter_chains[0];
  REQUIRE(chain.tls);
  CHECK(chain.tls->require_client_certificate);
  CHECK(chain.tls->certificate.sds_name == "default");
  REQUIRE(chain.tls->validation);
  CHECK(chain.tls->validation->uri_san_prefix == std::vector<std::string>{"spiffe://cluster.local/"});

  // Without a name the transport socket is still known by its @type; without
  // typed_config it is not known at all.
  auto bare = toListener(protoFromJson<ListenerProto>(listener(
      std::string(R"([{"transport_socket": {"name": "envoy.transport_sockets.tls"}, "filters": [)") + kTcp + "]}]")));
  REQUIRE_FALSE(bare);
  CHECK(bare.error().message == "filter_chains[0].transport_socket.typed_config: is required");
}

TEST_CASE("network RBAC filters run before the terminal filter", "[xds][resources][listener]") {
  const std::string rbac = R"({"name": "envoy.filters.network.rbac", "typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC", "stat_prefix": "in",
      "rules": {"action": "DENY", "policies": {"p": {"permissions": [{"any": true}],
        "principals": [{"authenticated": {"principal_name": {"exact": "spiffe://td/ns/a/sa/b"}}}]}}}}})";
  auto l = toListener(protoFromJson<ListenerProto>(listener("[{\"filters\": [" + rbac + ", " + kTcp + "]}]")));
  REQUIRE(l);
  REQUIRE(l->filter_chains[0].network_rbac.size() == 1);
  CHECK(l->filter_chains[0].network_rbac[0].action == Rbac::Action::kDeny);
  CHECK(l->filter_chains[0].network_rbac[0].stat_prefix == "in");

  auto after = toListener(protoFromJson<ListenerProto>(listener("[{\"filters\": [" + std::string(kTcp) + ", " + rbac + "]}]")));
  REQUIRE_FALSE(after);
  CHECK(after.error().message ==
        "filter_chains[0].filters[0]: envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy must be the last "
        "network filter");
}

TEST_CASE("an unknown listener filter is refused", "[xds][resources][listener]") {
  auto l = toListener(protoFromJson<ListenerProto>(
      listener("[" + chain("{}") + "]", R"("listener_filters": [{"name": "envoy.filters.listener.proxy_protocol"}])")));
  REQUIRE_FALSE(l);
  CHECK(l.error().message ==
        "listener_filters[0].name: not supported by remora-proxy (listener filter "
        "\"envoy.filters.listener.proxy_protocol\")");
}

TEST_CASE("a listener needs a name, an address and a chain", "[xds][resources][listener]") {
  auto unnamed =
      toListener(protoFromJson<ListenerProto>(R"({"address": {"socket_address": {"address": "::"}}})"), "ls[0]");
  REQUIRE_FALSE(unnamed);
  CHECK(unnamed.error().message == "ls[0].name: is required");
  auto no_chain =
      toListener(protoFromJson<ListenerProto>(R"({"name": "a", "address": {"socket_address": {"address": "::"}}})"));
  REQUIRE_FALSE(no_chain);
  CHECK_THAT(no_chain.error().message, Catch::StartsWith("filter_chains: at least one filter chain"));
  auto original_dst =
      toListener(protoFromJson<ListenerProto>(listener("[" + chain("{}") + "]", R"("use_original_dst": true)")));
  REQUIRE_FALSE(original_dst);
  CHECK(original_dst.error().message == "use_original_dst: not supported by remora-proxy");
}

TEST_CASE("traffic_direction becomes the listener's direction", "[xds][resources][listener]") {
  const std::string chains = "[" + chain(R"({"destination_port": 8080})") + "]";
  auto unset = toListener(protoFromJson<ListenerProto>(listener(chains)));
  REQUIRE(unset);
  CHECK(unset->direction == Listener::Direction::kUnspecified);
  auto inbound = toListener(protoFromJson<ListenerProto>(listener(chains, R"("traffic_direction": "INBOUND")")));
  REQUIRE(inbound);
  CHECK(inbound->direction == Listener::Direction::kInbound);
  auto outbound = toListener(protoFromJson<ListenerProto>(listener(chains, R"("traffic_direction": "OUTBOUND")")));
  REQUIRE(outbound);
  CHECK(outbound->direction == Listener::Direction::kOutbound);
}

TEST_CASE("the original_dst listener filter is accepted by name or @type", "[xds][resources][listener]") {
  const std::string chains = "[" + chain("{}") + "]";
  auto plain = toListener(protoFromJson<ListenerProto>(listener(chains)));
  REQUIRE(plain);
  CHECK_FALSE(plain->original_dst);
  auto by_type = toListener(protoFromJson<ListenerProto>(listener(chains, R"("listener_filters": [
      {"name": "envoy.filters.listener.original_dst", "typed_config":
       {"@type": "type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst"}}])")));
  REQUIRE(by_type);
  CHECK(by_type->original_dst);
  auto by_name = toListener(protoFromJson<ListenerProto>(
      listener(chains, R"("listener_filters": [{"name": "envoy.filters.listener.original_dst"}])")));
  REQUIRE(by_name);
  CHECK(by_name->original_dst);
  auto other = toListener(protoFromJson<ListenerProto>(
      listener(chains, R"("listener_filters": [{"name": "envoy.filters.listener.proxy_protocol"}])")));
  REQUIRE_FALSE(other);
  CHECK(other.error().message ==
        "listener_filters[0].name: not supported by remora-proxy (listener filter \"envoy.filters.listener.proxy_protocol\")");
}

TEST_CASE("prefix ranges convert to canonical CIDRs with the full length by default", "[xds][resources][listener]") {
  auto l = toListener(protoFromJson<ListenerProto>(listener("[" + chain(R"({"prefix_ranges": [
      {"address_prefix": "10.96.0.0", "prefix_len": 12}, {"address_prefix": "10.1.2.3"},
      {"address_prefix": "2001:DB8::", "prefix_len": 32}]})") + "]")));
  REQUIRE(l);
  const auto& ranges = l->filter_chains[0].match.prefix_ranges;
  REQUIRE(ranges.size() == 3);
  CHECK(ranges[0] == CidrRange{"10.96.0.0", 12});
  CHECK(ranges[1] == CidrRange{"10.1.2.3", 32});
  CHECK(ranges[2] == CidrRange{"2001:db8::", 32});
}

TEST_CASE("bad prefix ranges are refused naming the range", "[xds][resources][listener]") {
  auto error = [](const std::string& match) {
    auto l = toListener(protoFromJson<ListenerProto>(listener("[" + chain(match) + "]")));
    REQUIRE_FALSE(l);
    return l.error().message;
  };
  CHECK(error(R"({"prefix_ranges": [{"address_prefix": "reviews"}]})") ==
        "filter_chains[0].filter_chain_match.prefix_ranges[0].address_prefix: \"reviews\" is not a literal IPv4 or "
        "IPv6 address");
  CHECK(error(R"({"prefix_ranges": [{"address_prefix": "10.0.0.0"}, {"address_prefix": "10.0.0.0", "prefix_len": 33}]})") ==
        "filter_chains[0].filter_chain_match.prefix_ranges[1].prefix_len: 33 is more than 32 for \"10.0.0.0\"");
  CHECK(error(R"({"prefix_ranges": [{"address_prefix": "::", "prefix_len": 129}]})") ==
        "filter_chains[0].filter_chain_match.prefix_ranges[0].prefix_len: 129 is more than 128 for \"::\"");
}

TEST_CASE("chains that differ only in their prefix ranges are distinct", "[xds][resources][listener]") {
  auto distinct = toListener(protoFromJson<ListenerProto>(listener(
      "[" + chain(R"({"destination_port": 80, "prefix_ranges": [{"address_prefix": "10.0.0.1"}]})") + "," +
      chain(R"({"destination_port": 80, "prefix_ranges": [{"address_prefix": "10.0.0.2"}]})") + "]")));
  CHECK(distinct);
  auto same = toListener(protoFromJson<ListenerProto>(listener(
      "[" + chain(R"({"prefix_ranges": [{"address_prefix": "10.0.0.1"}, {"address_prefix": "10.0.0.0", "prefix_len": 8}]})") +
      "," + chain(R"({"prefix_ranges": [{"address_prefix": "10.0.0.0", "prefix_len": 8}, {"address_prefix": "10.0.0.1"}]})") +
      "]")));
  REQUIRE_FALSE(same);
  CHECK_THAT(same.error().message, Catch::StartsWith("filter_chains[1].filter_chain_match: is the same as"));
}
