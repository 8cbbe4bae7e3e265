// computeHash: the request hash a route's hash_policy yields, for the hashing
// balancers (ring hash, Maglev) through LoadBalancerContext::hash.
//
// Pure function, called by the router filter on the worker for each request
// whose route has hash policies. Policies are tried in order and the first
// that finds a value wins; no value anywhere means no hash, and the balancer
// then picks at random.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "proxy/http/header_map.h"
#include "proxy/net/address.h"
#include "xds/resources/model.h"

namespace remora::router {

// - kHeader: the first value of the header `name`.
// - kCookie: the value of cookie `name`, from every Cookie header (HTTP/2
//   clients may split cookies over several, RFC 9113 8.2.3).
// - kSourceIp: the downstream address without its port, so every connection
//   of one client lands on one host.
std::optional<uint64_t> computeHash(const std::vector<xds::resources::HashPolicy>& policies,
                                    const http::HeaderMap& headers, const net::Address& source);

// The value of cookie `name` in one Cookie header value ("a=1; b=2"), if any.
std::optional<std::string_view> findCookie(std::string_view cookie_header, std::string_view name);

}  // namespace remora::router
