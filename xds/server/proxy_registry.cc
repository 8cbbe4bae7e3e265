#include "xds/server/proxy_registry.h"

#include <google/protobuf/util/json_util.h>

#include <ctime>

#include "xds/base/json_string.h"

namespace remora::xds::server {

Clock systemClock() {
  return [] { return std::chrono::system_clock::now(); };
}

void recordSent(ProxyStatus& status, const std::string& type_url, const std::string& version,
                const std::string& nonce) {
  TypeStatus& t = status.types[type_url];
  t.version_sent = version;
  t.nonce_sent = nonce;
  ++t.responses;
}

void recordAck(ProxyStatus& status, const std::string& type_url, const std::string& version) {
  TypeStatus& t = status.types[type_url];
  t.version_acked = version;
  ++t.acks;
}

void recordNack(ProxyStatus& status, const std::string& type_url, NackRecord nack) {
  TypeStatus& t = status.types[type_url];
  t.last_nack = std::move(nack);
  ++t.nacks;
}

base::Status recordRequest(ProxyStatus& status, bool& node_seen, const envoy::config::core::v3::Node* node,
                           const std::string& type_url, TimePoint now) {
  if (!node_seen) {
    if (node == nullptr || node->id().empty()) {
      return base::fail(base::Error::kInvalidArgument, "the first request of a stream must name the node (node.id)");
    }
    node_seen = true;
    status.node_id = node->id();
    status.cluster = node->cluster();
    status.metadata = node->metadata();
    status.connected_since = now;
  }
  status.last_seen = now;
  if (type_url.empty()) return base::fail(base::Error::kInvalidArgument, "a request without type_url");
  return {};
}

namespace {

std::string quote(const std::string& s) { return base::jsonString(s); }

std::string rfc3339(TimePoint t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return quote(buf);
}

std::string typeJson(const TypeStatus& t) {
  std::string out = "{\"version_sent\":" + quote(t.version_sent) + ",\"nonce_sent\":" + quote(t.nonce_sent) +
                    ",\"version_acked\":" + quote(t.version_acked) + ",\"responses\":" +
                    std::to_string(t.responses) + ",\"acks\":" + std::to_string(t.acks) +
                    ",\"nacks\":" + std::to_string(t.nacks) + ",\"last_nack\":";
  if (t.last_nack) {
    out += "{\"version\":" + quote(t.last_nack->version) + ",\"nonce\":" + quote(t.last_nack->nonce) +
           ",\"error\":" + quote(t.last_nack->error) + ",\"time\":" + rfc3339(t.last_nack->time) + "}";
  } else {
    out += "null";
  }
  return out + "}";
}

}  // namespace

std::string proxyStatusJson(const std::vector<ProxyStatus>& statuses) {
  std::string out = "[";
  for (size_t i = 0; i < statuses.size(); ++i) {
    const ProxyStatus& s = statuses[i];
    std::string metadata;
    if (!google::protobuf::util::MessageToJsonString(s.metadata, &metadata).ok()) metadata = "{}";
    out += (i ? "," : "");
    out += "{\"node_id\":" + quote(s.node_id) + ",\"cluster\":" + quote(s.cluster) + ",\"metadata\":" + metadata +
           ",\"delta\":" + (s.delta ? "true" : "false") + ",\"connected_since\":" + rfc3339(s.connected_since) +
           ",\"last_seen\":" + rfc3339(s.last_seen) + ",\"types\":{";
    bool first = true;
    for (const auto& [type, t] : s.types) {
      out += (first ? "" : ",") + quote(type) + ":" + typeJson(t);
      first = false;
    }
    out += "}}";
  }
  return out + "]";
}

ProxyRegistry::StreamId ProxyRegistry::add(const ProxyStatus& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  const StreamId id = next_id_++;
  streams_.emplace(id, status);
  return id;
}

void ProxyRegistry::update(StreamId id, const ProxyStatus& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = streams_.find(id);
  if (it != streams_.end()) it->second = status;
}

void ProxyRegistry::remove(StreamId id) {
  std::lock_guard<std::mutex> lock(mutex_);
  streams_.erase(id);
}

std::vector<ProxyStatus> ProxyRegistry::list() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<ProxyStatus> out;
  for (const auto& [id, s] : streams_) out.push_back(s);
  return out;
}

}  // namespace remora::xds::server
