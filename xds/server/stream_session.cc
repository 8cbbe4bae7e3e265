#include "xds/server/stream_session.h"

#include <algorithm>

namespace remora::xds::server {

namespace {

// Order-independent: the sum of each name's 64-bit FNV-1a, and the count.
uint64_t namesDigest(const google::protobuf::RepeatedPtrField<std::string>& names) {
  uint64_t sum = static_cast<uint64_t>(names.size());
  for (const std::string& name : names) sum += fnv1a64(name);
  return sum;
}

}  // namespace

StreamSession::StreamSession(Clock clock) : clock_(std::move(clock)) {}

base::Result<std::vector<DiscoveryResponse>> StreamSession::onRequest(const DiscoveryRequest& request) {
  const TimePoint now = clock_();
  const std::string& type_url = request.type_url();
  if (auto s = recordRequest(status_, node_seen_, request.has_node() ? &request.node() : nullptr, type_url, now); !s) {
    return s.error();
  }

  auto [it, is_new] = types_.try_emplace(type_url);
  TypeState& type = it->second;
  if (is_new && request.response_nonce().empty()) type.resume_version = request.version_info();
  if (!request.response_nonce().empty() && request.response_nonce() != type.last_nonce) {
    // Stale: an answer to a response the client has already been sent a
    // newer one of; that newer one's ACK or NACK will follow.
    return std::vector<DiscoveryResponse>{};
  }
  if (!request.response_nonce().empty() && request.response_nonce() != type.acked_nonce) {
    type.acked_nonce = request.response_nonce();
    if (request.has_error_detail()) {
      type.nacked_content = type.sent_content;
      type.sent_parts.clear();  // what the client holds is unknown: send it all next time
      recordNack(status_, type_url,
                 NackRecord{status_.types[type_url].version_sent, request.response_nonce(),
                            request.error_detail().message(), now});
    } else {
      recordAck(status_, type_url, request.version_info());
    }
  }

  // Every ACK repeats the subscription (a thousand EDS names); rebuild the
  // set only when the names' digest says they changed.
  const uint64_t digest = namesDigest(request.resource_names());
  if (is_new || digest != type.names_digest) {
    // A sorted vector, not a set: a thousand names per EDS stream, a
    // thousand streams; the set's tree nodes were half the session's memory.
    std::vector<std::string> names(request.resource_names().begin(), request.resource_names().end());
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    const auto star = std::lower_bound(names.begin(), names.end(), std::string("*"));
    const bool has_star = star != names.end() && *star == "*";
    type.wildcard = isWildcardCapable(type_url) && (names.empty() || has_star);
    if (has_star) names.erase(star);
    names.shrink_to_fit();
    type.names_digest = digest;
    if (names != type.names) {
      type.names = std::move(names);
      ++type.names_generation;
    }
  }

  std::vector<DiscoveryResponse> out;
  if (auto r = respond(type_url, type)) out.push_back(std::move(*r));
  return out;
}

std::vector<DiscoveryResponse> StreamSession::onSnapshot(std::shared_ptr<const ResourceSnapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  std::vector<DiscoveryResponse> out;
  for (auto& [type_url, type] : types_) {
    if (auto r = respond(type_url, type)) out.push_back(std::move(*r));
  }
  return out;
}

std::optional<DiscoveryResponse> StreamSession::respond(const std::string& type_url, TypeState& type) {
  if (!snapshot_) return std::nullopt;
  const std::vector<ResourcePartPtr>& parts = snapshot_->parts(type_url);
  // The same parts and the same names as when the content was last
  // computed: the same content, without hashing a thousand clusters again
  // for every proxy on every push.
  if (type.hashed_parts == parts && type.hashed_names_generation == type.names_generation &&
      type.hashed_wildcard == type.wildcard && type.sent_content) {
    return std::nullopt;
  }
  // Listener and Cluster responses carry every resource. The other types
  // carry only what changed since the last response the client took (the
  // protocol allows it; the client keeps what a response leaves out), unless
  // the subscription changed or the client rejected our last response.
  const bool partial = !isWildcardCapable(type_url) && !type.sent_parts.empty() &&
                       type.sent_names_generation == type.names_generation;
  auto sentBefore = [&](const std::string& name, const VersionedResource& res) {
    for (const ResourcePartPtr& old : type.sent_parts) {
      auto it = old->resources.find(name);
      if (it != old->resources.end()) return it->second.version == res.version;
    }
    return false;
  };
  std::vector<const VersionedResource*> selected;
  std::string content;
  for (const ResourcePartPtr& part : parts) {
    const bool unchanged_part =
        partial && std::find(type.sent_parts.begin(), type.sent_parts.end(), part) != type.sent_parts.end();
    for (const auto& [name, res] : part->resources) {
      if (!type.wildcard && !std::binary_search(type.names.begin(), type.names.end(), name)) continue;
      content += name + '\0' + res.version + '\0';
      if (unchanged_part || (partial && sentBefore(name, res))) continue;
      selected.push_back(&res);
    }
  }
  // Which names were asked for is part of the content: a client that adds a
  // name that does not exist yet still gets an answer for its new set.
  content += type.wildcard ? "*" : "";
  for (const auto& n : type.names) content += '\1' + n;
  const std::string hash = hashVersion(content);
  type.hashed_parts = parts;
  type.hashed_names_generation = type.names_generation;
  type.hashed_wildcard = type.wildcard;
  if (!type.resume_version.empty()) {
    const bool resumed = !type.sent_content && type.wildcard && type.resume_version == snapshot_->version();
    type.resume_version.clear();
    if (resumed) {
      // The client holds exactly this (it said so, and the version is the
      // content's hash): ACKED, and only a change is sent.
      type.sent_content = hash;
      type.sent_parts = parts;
      type.sent_names_generation = type.names_generation;
      status_.types[type_url].version_sent = snapshot_->version();
      recordAck(status_, type_url, snapshot_->version());
      return std::nullopt;
    }
  }
  if (type.sent_content == hash || type.nacked_content == hash) return std::nullopt;
  if (partial && selected.empty()) {
    // Only removals, which SotW cannot say for these types: nothing to send.
    type.sent_content = hash;
    type.sent_parts = parts;
    return std::nullopt;
  }

  DiscoveryResponse response;
  response.set_version_info(snapshot_->version());
  response.set_type_url(type_url);
  response.set_nonce(std::to_string(next_nonce_++));
  for (const VersionedResource* r : selected) *response.add_resources() = r->body;
  type.sent_content = hash;
  type.sent_parts = parts;
  type.sent_names_generation = type.names_generation;
  // Only the content just rejected is held back; once something else went
  // out, returning to it is a new version the client may accept.
  type.nacked_content.reset();
  type.last_nonce = response.nonce();
  recordSent(status_, type_url, response.version_info(), response.nonce());
  return response;
}

}  // namespace remora::xds::server
