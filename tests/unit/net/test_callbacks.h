// Recording callbacks shared by the net loop tests: they remember what a
// connection or listener reported so a test can assert on it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "proxy/net/connection.h"
#include "proxy/net/listener.h"

namespace remora::net::testing {

class RecordingCallbacks : public ConnectionCallbacks {
 public:
  // Called from onData; the default takes every byte into received.
  std::function<void(Buffer&, bool)> on_data;
  std::function<void(ConnectionEvent)> on_event;

  void onData(Buffer& data, bool end_stream) override {
    if (end_stream) ++end_streams;
    if (on_data) {
      on_data(data, end_stream);
      return;
    }
    received += data.toString();
    data.clear();
  }
  void onEvent(ConnectionEvent event) override {
    events.push_back(event);
    if (on_event) on_event(event);
  }
  void onAboveWriteBufferHighWatermark() override { ++above; }
  void onBelowWriteBufferLowWatermark() override { ++below; }

  bool connected() const { return count(ConnectionEvent::kConnected) > 0; }
  bool closed() const { return closes() > 0; }
  int closes() const { return count(ConnectionEvent::kLocalClose) + count(ConnectionEvent::kRemoteClose); }
  int count(ConnectionEvent e) const {
    int n = 0;
    for (ConnectionEvent x : events) n += x == e ? 1 : 0;
    return n;
  }

  std::string received;
  int end_streams = 0;
  std::vector<ConnectionEvent> events;
  int above = 0;
  int below = 0;
};

class AcceptCollector : public ListenerCallbacks {
 public:
  void onAccept(ConnectionPtr connection) override { accepted.push_back(std::move(connection)); }
  std::vector<ConnectionPtr> accepted;
};

inline void writeString(Connection& conn, const std::string& text, bool end_stream = false) {
  Buffer b(text);
  conn.write(b, end_stream);
}

}  // namespace remora::net::testing
