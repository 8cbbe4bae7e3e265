// Transport: how a worker opens a connection to an upstream host — plain
// TCP, or TLS originated over it when the cluster (or the ADS cluster) has a
// transport_socket — and the TLS side of a cluster or filter chain as the
// main thread resolved it (TlsSettings: the context slot that rotation swaps,
// and the per-connection parameters).
//
// TlsSettings are immutable and shared by every worker; TlsCounters,
// TlsObserver and the session cache are worker-local.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "proxy/net/connection.h"
#include "proxy/observability/metric.h"
#include "proxy/tls/tls_connection.h"
#include "proxy/tls/tls_context.h"

namespace remora::upstream {

struct TlsSettings {
  // The current context (certificate, key, roots); null until every secret
  // it needs has arrived (then connections fail with `waiting_for`).
  std::shared_ptr<tls::ContextSlot> slot;
  tls::PeerValidation validation;
  std::string sni;
  std::string waiting_for;  // "secret 'ROOTCA'": names what an empty slot waits for
};
using TlsSettingsPtr = std::shared_ptr<const TlsSettings>;

inline constexpr size_t kHandshakeFailureCount = static_cast<size_t>(tls::HandshakeFailure::kTransportClosed) + 1;

struct TlsCounters {
  observability::Counter handshakes;
  observability::Counter resumed;
  std::array<observability::Counter, kHandshakeFailureCount> failures;  // by tls::HandshakeFailure
};

// Counts handshakes of one cluster or listener on one worker. Lives as long
// as the worker's ClusterManager / ActiveListener that made it.
class TlsObserver final : public tls::HandshakeObserver {
 public:
  explicit TlsObserver(TlsCounters counters) : counters_(std::move(counters)) {}
  void onHandshakeDone(std::string_view peer_identity, bool resumed) override;
  void onHandshakeFailed(tls::HandshakeFailure reason, std::string_view detail) override;
  TlsCounters& counters() { return counters_; }

 private:
  TlsCounters counters_;
};

// Opens a connection to `address`: TLS over TCP when `tls` is set (kConnected
// then means "handshake done and the peer verified"), plain TCP otherwise.
// When the TLS slot is still empty the connection fails (kRemoteClose on a
// later iteration) with failureReason() naming the missing secret.
net::ConnectionPtr connectUpstream(net::Dispatcher& dispatcher, const net::Address& address, const TlsSettings* tls,
                                   tls::ClientSessionCache* sessions, tls::HandshakeObserver* observer);

}  // namespace remora::upstream
