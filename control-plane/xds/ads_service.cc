#include "control-plane/xds/ads_service.h"

#include <deque>
#include <optional>
#include <vector>

#include "xds/server/delta_stream_session.h"
#include "xds/server/stream_session.h"

namespace remora::cp::xds {

namespace server = remora::xds::server;

namespace {

// One ADS stream of either flavour; Session is StreamSession or
// DeltaStreamSession. Deletes itself in OnDone (gRPC's reactor contract).
//
// Locks: session_mutex_ (the session, and the order responses are queued in)
// is taken before write_mutex_ (the queue and the Finish bookkeeping). gRPC
// operations (StartRead, StartWrite, Finish) are started with neither held,
// in case a reaction runs inline. The snapshot-change callback takes only
// pending_mutex_, since it runs under the cache's lock.
template <typename Session>
class AdsStream final : public grpc::ServerBidiReactor<typename Session::Request, typename Session::Response>,
                        public PushTarget {
 public:
  using Request = typename Session::Request;
  using Response = typename Session::Response;

  AdsStream(AdsService& service, PeerCertificate peer, grpc::CallbackServerContext* context)
      : service_(service), peer_(std::move(peer)), context_(context), session_(service.options().clock) {
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed or the call was cancelled: end our side too.
      // OnDone tells the two apart (IsCancelled).
      read_ended_ = true;
      finish(grpc::Status::OK);
      return;
    }
    if (request_.has_error_detail() && service_.options().metrics != nullptr) {
      service_.options().metrics->recordNack(request_.type_url());
    }
    const Response* write = nullptr;
    bool failed = false;
    std::string failure;
    grpc::Status refusal;
    {
      std::lock_guard<std::mutex> lock(session_mutex_);
      const bool first = session_.nodeId().empty();
      if (first && service_.options().authorize_node) {
        refusal = service_.options().authorize_node(peer_, request_.node());
        if (refusal.ok()) authorized_node_ = request_.node().id();
      }
    }
    if (!refusal.ok()) {
      finish(refusal);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(session_mutex_);
      const bool first = session_.nodeId().empty();
      auto out = session_.onRequest(request_);
      if (out && first && service_.options().on_node_connected) {
        if (base::Status s = service_.options().on_node_connected(request_.node()); !s) out = s.error();
      }
      if (!out) {
        failed = true;
        failure = out.error().message;
      } else {
        std::vector<Response> responses = std::move(*out);
        if (first) {
          node_announced_ = true;
          registry_id_ = service_.registry().add(session_.status());
          // Watch first, then read: a change between the two is not lost (at
          // worst applied twice, which the session turns into nothing).
          watch_id_ = service_.cache().watch(session_.nodeId(), [this](const server::SnapshotCache::SnapshotPtr& s) {
            std::optional<std::chrono::steady_clock::time_point> origin;
            if (service_.options().change_origin) origin = service_.options().change_origin();
            {
              std::lock_guard<std::mutex> pending_lock(pending_mutex_);
              pending_ = s;
              // Debounced changes are timed from the first one.
              if (origin && (!pending_origin_ || *origin < *pending_origin_)) pending_origin_ = origin;
            }
            service_.schedulePush(this);
          });
          watching_ = true;
          if (auto snap = service_.cache().snapshot(session_.nodeId())) {
            for (auto& r : session_.onSnapshot(std::move(snap))) responses.push_back(std::move(r));
          }
        }
        service_.registry().update(registry_id_, session_.status());
        write = enqueue(std::move(responses));
      }
    }
    if (failed) {
      finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, failure));
      return;
    }
    if (write != nullptr) this->StartWrite(write);
    {
      // Clear() would keep the strings of a thousand resource names for
      // reuse, per stream; dropping the message frees them.
      Request empty;
      request_.Swap(&empty);
    }
    this->StartRead(&request_);
  }

  void applyPendingSnapshot() override {
    const Response* write = nullptr;
    {
      std::lock_guard<std::mutex> lock(session_mutex_);
      server::SnapshotCache::SnapshotPtr snap;
      std::optional<std::chrono::steady_clock::time_point> origin;
      {
        std::lock_guard<std::mutex> pending_lock(pending_mutex_);
        snap = std::move(pending_);
        origin = pending_origin_;
        pending_origin_.reset();
      }
      if (!snap) return;
      auto responses = session_.onSnapshot(std::move(snap));
      service_.registry().update(registry_id_, session_.status());
      write = enqueue(std::move(responses), origin);
    }
    if (write != nullptr) this->StartWrite(write);
  }

  void OnWriteDone(bool ok) override {
    const Response* next = nullptr;
    bool finish_now = false;
    grpc::Status status;
    {
      std::lock_guard<std::mutex> lock(write_mutex_);
      if (ok && service_.options().metrics != nullptr) {
        const auto& origin = origins_.front();
        service_.options().metrics->recordPush(
            queue_.front().type_url(),
            origin ? std::chrono::duration<double>(std::chrono::steady_clock::now() - *origin).count() : -1.0);
      }
      queue_.pop_front();
      origins_.pop_front();
      writing_ = false;
      if (!ok && !finish_requested_) {
        finish_requested_ = true;
        status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed");
      }
      if (!finish_requested_ && !queue_.empty()) {
        writing_ = true;
        next = &queue_.front();
      } else if (finish_requested_ && !finished_) {
        finished_ = true;
        finish_now = true;
        status = status_;
      }
    }
    if (next != nullptr) this->StartWrite(next);
    if (finish_now) this->Finish(status);
  }

  void OnDone() override {
    if (watching_) service_.cache().cancel(watch_id_);
    service_.forget(this);
    if (registry_id_ != 0) service_.registry().remove(registry_id_);
    if (node_announced_ && service_.options().on_node_disconnected) {
      service_.options().on_node_disconnected(session_.nodeId(), read_ended_ && !context_->IsCancelled());
    }
    if (authorized_node_ && service_.options().on_authorized_stream_done) {
      service_.options().on_authorized_stream_done(peer_, *authorized_node_);
    }
    delete this;
  }

 private:
  // With session_mutex_ held. Returns the response to start writing, if the
  // queue was idle.
  // `origin`: when the change these responses carry started, if known.
  const Response* enqueue(std::vector<Response> responses,
                          std::optional<std::chrono::steady_clock::time_point> origin = std::nullopt) {
    std::lock_guard<std::mutex> lock(write_mutex_);
    if (finish_requested_) return nullptr;
    for (auto& r : responses) {
      queue_.push_back(std::move(r));
      origins_.push_back(origin);
    }
    if (writing_ || queue_.empty()) return nullptr;
    writing_ = true;
    // deque::push_back keeps references to existing elements valid.
    return &queue_.front();
  }

  // Finish once, after the write in flight (if any) completes.
  void finish(grpc::Status status) {
    bool now = false;
    {
      std::lock_guard<std::mutex> lock(write_mutex_);
      if (finish_requested_) return;
      finish_requested_ = true;
      status_ = status;
      if (!writing_) {
        finished_ = true;
        now = true;
      }
    }
    if (now) this->Finish(status);
  }

  AdsService& service_;
  const PeerCertificate peer_;
  grpc::CallbackServerContext* const context_;  // gRPC's; lives until OnDone returns
  // The read side ended (half-close or cancel); only OnReadDone and then
  // OnDone touch it, and gRPC orders those.
  bool read_ended_ = false;
  std::optional<std::string> authorized_node_;  // set by the first request, under session_mutex_
  Request request_;

  std::mutex session_mutex_;
  Session session_;
  server::ProxyRegistry::StreamId registry_id_ = 0;
  server::SnapshotCache::WatchId watch_id_ = 0;
  bool watching_ = false;
  bool node_announced_ = false;

  std::mutex pending_mutex_;
  server::SnapshotCache::SnapshotPtr pending_;
  std::optional<std::chrono::steady_clock::time_point> pending_origin_;

  std::mutex write_mutex_;
  std::deque<Response> queue_;
  std::deque<std::optional<std::chrono::steady_clock::time_point>> origins_;  // one per queued response
  bool writing_ = false;
  bool finish_requested_ = false;
  bool finished_ = false;
  grpc::Status status_;
};

}  // namespace

AdsService::AdsService(server::SnapshotCache& cache, server::ProxyRegistry& registry, AdsServiceOptions options)
    : cache_(cache), registry_(registry), options_(std::move(options)), pusher_([this] { runPusher(); }) {}

AdsService::~AdsService() { stop(); }

grpc::ServerBidiReactor<envoy::service::discovery::v3::DiscoveryRequest,
                        envoy::service::discovery::v3::DiscoveryResponse>*
AdsService::StreamAggregatedResources(grpc::CallbackServerContext* context) {
  return new AdsStream<server::StreamSession>(*this, peerCertificate(*context), context);
}

grpc::ServerBidiReactor<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                        envoy::service::discovery::v3::DeltaDiscoveryResponse>*
AdsService::DeltaAggregatedResources(grpc::CallbackServerContext* context) {
  return new AdsStream<server::DeltaStreamSession>(*this, peerCertificate(*context), context);
}

void AdsService::schedulePush(PushTarget* target) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return;
  // emplace keeps an earlier due time: the window opens at the first change,
  // so a steady stream of changes still gets pushed every window.
  due_.emplace(target, std::chrono::steady_clock::now() + options_.debounce);
  wake_.notify_one();
}

void AdsService::forget(PushTarget* target) {
  std::unique_lock<std::mutex> lock(mutex_);
  due_.erase(target);
  applied_.wait(lock, [&] { return applying_ != target; });
}

void AdsService::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    due_.clear();
    wake_.notify_one();
  }
  if (pusher_.joinable()) pusher_.join();
}

void AdsService::runPusher() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (due_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto next = due_.begin();
    for (auto it = due_.begin(); it != due_.end(); ++it) {
      if (it->second < next->second) next = it;
    }
    if (std::chrono::steady_clock::now() < next->second) {
      wake_.wait_until(lock, next->second);
      continue;
    }
    PushTarget* target = next->first;
    due_.erase(next);
    applying_ = target;
    lock.unlock();
    target->applyPendingSnapshot();
    lock.lock();
    applying_ = nullptr;
    applied_.notify_all();
  }
}

}  // namespace remora::cp::xds
