#include "xds/client/ads_mux.h"

#include <algorithm>

namespace remora::xds::client {

namespace {
// google.rpc.Code INVALID_ARGUMENT: what a NACK carries, as Envoy's do.
constexpr int32_t kInvalidArgument = 3;
}  // namespace

AdsMux::AdsMux(Mode mode, envoy::config::core::v3::Node node, SubscriptionWatcher& watcher)
    : mode_(mode), node_(std::move(node)), watcher_(watcher) {}

TypeState* AdsMux::find(std::string_view type_url) {
  for (auto& t : types_) {
    if (t.type_url == type_url) return &t;
  }
  return nullptr;
}

const TypeState* AdsMux::state(std::string_view type_url) const {
  for (const auto& t : types_) {
    if (t.type_url == type_url) return &t;
  }
  return nullptr;
}

void AdsMux::watch(std::string_view type_url, bool wildcard, std::set<std::string> names) {
  if (find(type_url) != nullptr) return;
  TypeState t;
  t.type_url = std::string(type_url);
  t.wildcard = wildcard;
  t.names = std::move(names);
  types_.push_back(std::move(t));
  if (stream_open_) queueInitial(types_.back());
}

void AdsMux::setNames(std::string_view type_url, std::set<std::string> names) {
  TypeState* t = find(type_url);
  if (t == nullptr || t->wildcard || t->names == names) return;
  std::vector<std::string> subscribe;
  std::vector<std::string> unsubscribe;
  std::set_difference(names.begin(), names.end(), t->names.begin(), t->names.end(), std::back_inserter(subscribe));
  std::set_difference(t->names.begin(), t->names.end(), names.begin(), names.end(), std::back_inserter(unsubscribe));
  t->names = std::move(names);
  // Resources we no longer ask for are no longer ours to keep (delta): the
  // server will not tell us when they change.
  for (const auto& n : unsubscribe) t->resource_versions.erase(n);
  if (!stream_open_) return;
  if (mode_ == Mode::kStateOfTheWorld) {
    queueSotw(*t, t->accepted_version, t->nonce, std::nullopt);
  } else {
    queueDelta(*t, std::move(subscribe), std::move(unsubscribe), "", std::nullopt, false);
  }
}

void AdsMux::onStreamStarted() {
  stream_open_ = true;
  node_sent_ = false;
  queue_.clear();
  for (auto& t : types_) {
    // A nonce belongs to one stream.
    t.nonce.clear();
    queueInitial(t);
  }
}

void AdsMux::onStreamClosed() {
  stream_open_ = false;
  queue_.clear();
}

void AdsMux::queueInitial(TypeState& t) {
  if (mode_ == Mode::kStateOfTheWorld) {
    queueSotw(t, t.accepted_version, "", std::nullopt);
    return;
  }
  std::vector<std::string> subscribe;
  // Delta wildcard: an empty first subscription means "everything" (the
  // legacy form every server understands); explicit names otherwise.
  if (!t.wildcard) subscribe.assign(t.names.begin(), t.names.end());
  queueDelta(t, std::move(subscribe), {}, "", std::nullopt, true);
}

void AdsMux::attachNode(DiscoveryRequest& request) {
  if (node_sent_) return;
  *request.mutable_node() = node_;
  node_sent_ = true;
}

void AdsMux::attachNode(DeltaDiscoveryRequest& request) {
  if (node_sent_) return;
  *request.mutable_node() = node_;
  node_sent_ = true;
}

void AdsMux::queueSotw(const TypeState& t, std::string_view version, std::string_view nonce,
                       const std::optional<std::string>& error) {
  DiscoveryRequest r;
  attachNode(r);
  r.set_type_url(t.type_url);
  r.set_version_info(std::string(version));
  r.set_response_nonce(std::string(nonce));
  if (!t.wildcard) {
    for (const auto& n : t.names) r.add_resource_names(n);
  }
  if (error) {
    r.mutable_error_detail()->set_code(kInvalidArgument);
    r.mutable_error_detail()->set_message(*error);
  }
  queue_.emplace_back(std::move(r));
}

void AdsMux::queueDelta(TypeState& t, std::vector<std::string> subscribe, std::vector<std::string> unsubscribe,
                        std::string_view nonce, const std::optional<std::string>& error, bool initial) {
  DeltaDiscoveryRequest r;
  attachNode(r);
  r.set_type_url(t.type_url);
  for (auto& n : subscribe) r.add_resource_names_subscribe(std::move(n));
  for (auto& n : unsubscribe) r.add_resource_names_unsubscribe(std::move(n));
  if (initial) {
    for (const auto& [name, version] : t.resource_versions) (*r.mutable_initial_resource_versions())[name] = version;
  }
  r.set_response_nonce(std::string(nonce));
  if (error) {
    r.mutable_error_detail()->set_code(kInvalidArgument);
    r.mutable_error_detail()->set_message(*error);
  }
  queue_.emplace_back(std::move(r));
}

bool AdsMux::onResponse(const DiscoveryResponse& response) {
  TypeState* t = find(response.type_url());
  if (t == nullptr) {
    // A type we never asked for: NACK it on its own type URL so the server
    // sees why, without touching our state.
    DiscoveryRequest r;
    r.set_type_url(response.type_url());
    r.set_response_nonce(response.nonce());
    r.mutable_error_detail()->set_code(kInvalidArgument);
    r.mutable_error_detail()->set_message("type '" + response.type_url() + "' was not subscribed to");
    queue_.emplace_back(std::move(r));
    return false;
  }
  t->nonce = response.nonce();
  std::vector<ResourceUpdate> updated;
  updated.reserve(response.resources_size());
  std::optional<std::string> error;
  for (const auto& any : response.resources()) {
    if (any.type_url() != t->type_url) {
      error = "a " + t->type_url + " response carries a resource of type '" + any.type_url() + "'";
      break;
    }
    updated.push_back({"", "", &any});
  }
  if (!error) {
    // The watcher may call setNames(), which queues requests: those go after
    // this response's ACK, so the server sees the ACK first.
    const size_t ack_at = queue_.size();
    base::Status s = watcher_.onUpdate(t->type_url, updated, {}, true, response.version_info());
    t = find(response.type_url());  // watch() inside onUpdate may have moved it
    if (s) {
      t->accepted_version = response.version_info();
      t->last_error.reset();
      ++t->accepted;
      DiscoveryRequest ack;
      attachNode(ack);
      ack.set_type_url(t->type_url);
      ack.set_version_info(response.version_info());
      ack.set_response_nonce(response.nonce());
      if (!t->wildcard) {
        for (const auto& n : t->names) ack.add_resource_names(n);
      }
      queue_.insert(queue_.begin() + static_cast<std::ptrdiff_t>(ack_at), Request{std::move(ack)});
      return true;
    }
    error = s.message();
  }
  t->last_error = error;
  ++t->rejected;
  queueSotw(*t, t->accepted_version, response.nonce(), error);
  return false;
}

bool AdsMux::onDeltaResponse(const DeltaDiscoveryResponse& response) {
  TypeState* t = find(response.type_url());
  if (t == nullptr) {
    DeltaDiscoveryRequest r;
    r.set_type_url(response.type_url());
    r.set_response_nonce(response.nonce());
    r.mutable_error_detail()->set_code(kInvalidArgument);
    r.mutable_error_detail()->set_message("type '" + response.type_url() + "' was not subscribed to");
    queue_.emplace_back(std::move(r));
    return false;
  }
  t->nonce = response.nonce();
  std::vector<ResourceUpdate> updated;
  std::vector<std::string> removed(response.removed_resources().begin(), response.removed_resources().end());
  std::optional<std::string> error;
  for (const auto& res : response.resources()) {
    if (res.name().empty()) {
      error = "a delta " + t->type_url + " response carries a resource without a name";
      break;
    }
    if (!res.has_resource()) {
      error = "resource '" + res.name() + "' has no body";
      break;
    }
    if (res.resource().type_url() != t->type_url) {
      error = "resource '" + res.name() + "' has type '" + res.resource().type_url() + "', not " + t->type_url;
      break;
    }
    updated.push_back({res.name(), res.version(), &res.resource()});
  }
  if (!error) {
    const size_t ack_at = queue_.size();
    base::Status s = watcher_.onUpdate(t->type_url, updated, removed, false, response.system_version_info());
    t = find(response.type_url());
    if (s) {
      for (const auto& u : updated) t->resource_versions[u.name] = u.version;
      for (const auto& n : removed) t->resource_versions.erase(n);
      t->accepted_version = response.system_version_info();
      t->last_error.reset();
      ++t->accepted;
      DeltaDiscoveryRequest ack;
      attachNode(ack);
      ack.set_type_url(t->type_url);
      ack.set_response_nonce(response.nonce());
      queue_.insert(queue_.begin() + static_cast<std::ptrdiff_t>(ack_at), Request{std::move(ack)});
      return true;
    }
    error = s.message();
  }
  t->last_error = error;
  ++t->rejected;
  queueDelta(*t, {}, {}, response.nonce(), error, false);
  return false;
}

std::vector<AdsMux::Request> AdsMux::takeRequests() {
  std::vector<Request> out;
  out.swap(queue_);
  return out;
}

}  // namespace remora::xds::client
