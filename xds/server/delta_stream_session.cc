#include "xds/server/delta_stream_session.h"

namespace remora::xds::server {

DeltaStreamSession::DeltaStreamSession(Clock clock) : clock_(std::move(clock)) { status_.delta = true; }

base::Result<std::vector<DeltaDiscoveryResponse>> DeltaStreamSession::onRequest(
    const DeltaDiscoveryRequest& request) {
  const TimePoint now = clock_();
  const std::string& type_url = request.type_url();
  if (auto s = recordRequest(status_, node_seen_, request.has_node() ? &request.node() : nullptr, type_url, now); !s) {
    return s.error();
  }

  auto [it, is_new] = types_.try_emplace(type_url);
  TypeState& type = it->second;
  if (!request.response_nonce().empty() && request.response_nonce() != type.last_nonce) {
    return std::vector<DeltaDiscoveryResponse>{};
  }
  if (!request.response_nonce().empty() && request.response_nonce() != type.acked_nonce) {
    type.acked_nonce = request.response_nonce();
    const std::string sent = status_.types[type_url].version_sent;
    if (request.has_error_detail()) {
      recordNack(status_, type_url, NackRecord{sent, request.response_nonce(), request.error_detail().message(), now});
    } else {
      recordAck(status_, type_url, sent);
    }
  }

  if (is_new) {
    for (const auto& [name, version] : request.initial_resource_versions()) type.client_versions[name] = version;
    type.wildcard = isWildcardCapable(type_url) && request.resource_names_subscribe().empty();
  }
  for (const auto& name : request.resource_names_subscribe()) {
    if (name == "*") {
      type.wildcard = true;
    } else {
      type.names.insert(name);
    }
  }
  for (const auto& name : request.resource_names_unsubscribe()) {
    if (name == "*") {
      type.wildcard = false;
    } else {
      type.names.erase(name);
    }
    // The client drops what it unsubscribed from; it must not be told of its
    // removal, and a later subscribe sends it afresh.
    type.client_versions.erase(name);
  }
  if (!type.wildcard) {
    // Out of the subscription (e.g. "*" unsubscribed): forgotten the same way.
    std::erase_if(type.client_versions, [&](const auto& kv) { return type.names.count(kv.first) == 0; });
  }

  std::vector<DeltaDiscoveryResponse> out;
  if (auto r = respond(type_url, type)) out.push_back(std::move(*r));
  return out;
}

std::vector<DeltaDiscoveryResponse> DeltaStreamSession::onSnapshot(std::shared_ptr<const ResourceSnapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  std::vector<DeltaDiscoveryResponse> out;
  for (auto& [type_url, type] : types_) {
    if (auto r = respond(type_url, type)) out.push_back(std::move(*r));
  }
  return out;
}

std::optional<DeltaDiscoveryResponse> DeltaStreamSession::respond(const std::string& type_url, TypeState& type) {
  if (!snapshot_) return std::nullopt;
  DeltaDiscoveryResponse response;
  snapshot_->forEach(type_url, [&](const std::string& name, const VersionedResource& res) {
    if (!type.wildcard && type.names.count(name) == 0) return;
    auto known = type.client_versions.find(name);
    if (known != type.client_versions.end() && known->second == res.version) return;
    auto* r = response.add_resources();
    r->set_name(name);
    r->set_version(res.version);
    *r->mutable_resource() = res.body;
  });
  for (const auto& [name, version] : type.client_versions) {
    if (snapshot_->find(type_url, name) == nullptr) response.add_removed_resources(name);
  }
  const bool first_wildcard = type.wildcard && !type.answered;
  if (response.resources_size() == 0 && response.removed_resources_size() == 0 && !first_wildcard) {
    return std::nullopt;
  }
  for (const auto& r : response.resources()) type.client_versions[r.name()] = r.version();
  for (const auto& name : response.removed_resources()) type.client_versions.erase(name);
  type.answered = true;
  response.set_system_version_info(snapshot_->version());
  response.set_type_url(type_url);
  response.set_nonce(std::to_string(next_nonce_++));
  type.last_nonce = response.nonce();
  recordSent(status_, type_url, response.system_version_info(), response.nonce());
  return response;
}

}  // namespace remora::xds::server
