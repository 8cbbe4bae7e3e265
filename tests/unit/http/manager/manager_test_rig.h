// ManagerRig: a ConnectionManager serving a real loopback connection, for
// the connection manager and active stream tests. The rig is the listener's
// callbacks, the ConnectionOwner (deferred deletion, as the worker's listener
// does) and the StreamHandlerFactory; its handlers record what the manager
// delivered and run the test's hooks. A raw client connection (net::
// connectTcp + RecordingCallbacks) plays the downstream.
//
// Test-only, single-threaded (the LoopFixture's dispatcher). Declare the rig
// inside the test body so it dies before the fixture checks the handles.
#pragma once

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/http/manager/connection_manager.h"
#include "proxy/net/listener.h"
#include "proxy/observability/worker_stats.h"
#include "tests/unit/net/test_callbacks.h"
#include "tests/unit/upstream/test_counters.h"

namespace remora::testing {

class ManagerRig;

// What one handler saw; kept by the rig after the handler is destroyed.
struct HandlerLog {
  http::HeaderMapPtr headers;
  std::string body;
  bool request_complete = false;
  std::vector<std::string> resets;
  int above = 0;
  int below = 0;
};

class TestHandler : public http::manager::StreamHandler {
 public:
  TestHandler(ManagerRig& rig, http::manager::DownstreamStream& downstream, HandlerLog& log);
  ~TestHandler() override;

  void onRequestHeaders(http::HeaderMapPtr headers, bool end_stream) override;
  void onRequestData(net::Buffer& data, bool end_stream) override {
    log.body += data.toString();
    data.clear();
    if (end_stream) requestEnded();
  }
  void onRequestTrailers(http::HeaderMapPtr) override { requestEnded(); }
  void onDownstreamReset(std::string_view reason) override { log.resets.emplace_back(reason); }
  void onDownstreamAboveWriteBufferHighWatermark() override { ++log.above; }
  void onDownstreamBelowWriteBufferLowWatermark() override { ++log.below; }

  // A complete response with content-length framing.
  void respond(uint32_t status, const std::string& body) {
    auto h = std::make_unique<http::HeaderMap>();
    h->add(":status", std::to_string(status));
    h->add("content-length", std::to_string(body.size()));
    downstream.encodeHeaders(std::move(h), body.empty());
    if (!body.empty()) {
      net::Buffer b(body);
      downstream.encodeData(b, true);
    }
  }

  http::manager::DownstreamStream& downstream;
  HandlerLog& log;

 private:
  void requestEnded();
  ManagerRig& rig_;
};

class ManagerRig : public net::ListenerCallbacks,
                   public net::ConnectionOwner,
                   public http::manager::StreamHandlerFactory {
 public:
  explicit ManagerRig(net::Dispatcher& dispatcher, http::manager::ManagerSettings settings = {})
      : dispatcher_(dispatcher), settings_(settings), shard_("test") {
    local_reply_family_.name = "local_replies_total";
    local_reply_family_.type = observability::MetricType::kCounter;
    local_reply_family_.label_names = {"listener", "reason"};
    counters.connections_total = sink_.counter();
    counters.connections_active = sink_.gauge();
    counters.requests_total = sink_.counter();
    counters.requests_active = sink_.gauge();
    for (auto& c : counters.responses_by_class) c = sink_.counter();
    counters.protocol_errors = sink_.counter();
    counters.downstream_resets = sink_.counter();
    counters.header_timeouts = sink_.counter();
    counters.idle_timeouts = sink_.counter();
    counters.local_replies =
        http::manager::LocalReplyCounters(&shard_, observability::CounterFamily(&local_reply_family_), "test");
    auto address = net::Address::fromIpPort("127.0.0.1", 0);
    REQUIRE(address);
    auto bound = net::Listener::bind(dispatcher_, *address, *this, /*reuse_port=*/false);
    REQUIRE(bound);
    listener_ = std::move(*bound);
  }
  ~ManagerRig() override {
    // Released managers and finished streams wait in the dispatcher's
    // deferred-deletion queue and still point at this rig: flush them first.
    dispatcher_.runOnce();
    // Then the live managers: they destroy their streams, and with them the handlers.
    managers_.clear();
    client.reset();
    listener_.reset();
  }

  // net::ListenerCallbacks: one manager per accepted connection.
  void onAccept(net::ConnectionPtr connection) override {
    if (server_buffer_limit != 0) connection->setBufferLimits(server_buffer_limit);
    managers_.push_back(std::make_unique<http::manager::ConnectionManager>(
        std::move(connection), protocol, auto_detect, settings_, *this, counters, *this));
    net::Buffer none;
    managers_.back()->start(none);
  }
  // net::ConnectionOwner
  void release(net::DeferredDeletable& session) override {
    for (auto it = managers_.begin(); it != managers_.end(); ++it) {
      if (it->get() == &session) {
        dispatcher_.deferredDelete(std::move(*it));
        managers_.erase(it);
        ++released;
        return;
      }
    }
  }
  // StreamHandlerFactory
  std::unique_ptr<http::manager::StreamHandler> createHandler(http::manager::DownstreamStream& downstream) override {
    logs.push_back(std::make_unique<HandlerLog>());
    return std::make_unique<TestHandler>(*this, downstream, *logs.back());
  }

  // The downstream client.
  void connect() {
    client = net::connectTcp(dispatcher_, listener_->localAddress());
    client->setCallbacks(client_events);
  }
  void send(const std::string& bytes) { net::testing::writeString(*client, bytes); }

  // The server closed the connection: the client read EOF (a half-close, as
  // net::Connection reports it) or the socket was reset.
  bool clientSawClose() const { return client_events.closed() || client_events.end_streams > 0; }

  http::manager::ConnectionManager* manager() { return managers_.empty() ? nullptr : managers_.front().get(); }
  // How many local replies were counted for `reason`.
  uint64_t localReplies(std::string_view reason) const {
    uint64_t n = 0;
    shard_.forEachSeries([&](const observability::Series& s) {
      if (s.label_values.size() == 2 && s.label_values[1] == reason) n += s.counter.load();
    });
    return n;
  }
  const HandlerLog& log(size_t i = 0) const { return *logs.at(i); }

  // Settings for the next accepted connection.
  http::Protocol protocol = http::Protocol::kHttp11;
  bool auto_detect = true;
  uint32_t server_buffer_limit = 0;  // 0: the connection's default

  // Hooks run by every handler.
  std::function<void(TestHandler&, bool end_stream)> on_headers;
  std::function<void(TestHandler&)> on_request_end;

  http::manager::ManagerCounters counters;
  std::vector<std::unique_ptr<HandlerLog>> logs;
  TestHandler* current = nullptr;  // the live handler made last, if any
  int released = 0;
  net::ConnectionPtr client;
  net::testing::RecordingCallbacks client_events;

 private:
  net::Dispatcher& dispatcher_;
  http::manager::ManagerSettings settings_;
  MetricSink sink_;
  observability::MetricFamily local_reply_family_;
  observability::WorkerStats shard_;
  net::ListenerPtr listener_;
  std::vector<std::unique_ptr<http::manager::ConnectionManager>> managers_;
};

inline TestHandler::TestHandler(ManagerRig& rig, http::manager::DownstreamStream& downstream, HandlerLog& log)
    : downstream(downstream), log(log), rig_(rig) {
  rig_.current = this;
}

inline TestHandler::~TestHandler() {
  if (rig_.current == this) rig_.current = nullptr;
}

inline void TestHandler::onRequestHeaders(http::HeaderMapPtr headers, bool end_stream) {
  log.headers = std::move(headers);
  if (rig_.on_headers) rig_.on_headers(*this, end_stream);
  if (end_stream) requestEnded();
}

inline void TestHandler::requestEnded() {
  log.request_complete = true;
  if (rig_.on_request_end) rig_.on_request_end(*this);
}

}  // namespace remora::testing
