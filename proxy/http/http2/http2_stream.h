// Http2Stream: one HTTP/2 stream of an Http2Connection, server or client side.
// It is the Stream the router encodes into and the holder of what nghttp2
// hands us for it: the header block being decoded, DATA held back while the
// consumer has reading disabled, and DATA waiting for the peer's window.
//
// Owned by its Http2Connection and worker-local. It outlives every callback
// frame that mentions it: the connection deletes it only after nghttp2 closed
// the stream (or it was never submitted) and only at the end of the outermost
// public operation, so a callback may reset its own stream or encode a
// response from inside onHeaders.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/http/codec.h"

namespace remora::http::http2 {

class Http2Connection;

class Http2Stream final : public Stream {
 public:
  Http2Stream(Http2Connection& connection, StreamCallbacks* callbacks, int32_t id);
  Http2Stream(const Http2Stream&) = delete;
  Http2Stream& operator=(const Http2Stream&) = delete;

  // Stream
  void setCallbacks(StreamCallbacks& callbacks) override { callbacks_ = &callbacks; }
  void encodeHeaders(const HeaderMap& headers, bool end_stream) override;
  void encodeData(net::Buffer& data, bool end_stream) override;
  void encodeTrailers(const HeaderMap& trailers) override;
  void encodeInformational(const HeaderMap& headers) override;
  void resetStream(StreamResetReason reason) override;
  void readDisable(bool disable) override;
  uint32_t streamId() const override { return static_cast<uint32_t>(id_); }

 private:
  friend class Http2Connection;
  friend class Http2ServerCodec;
  friend class Http2ClientCodec;
  friend struct SessionCallbacks;

  // --- decoding (called from nghttp2 callbacks) ---
  void beginHeaders();
  // Past a limit the block is marked overflowed and the rest is discarded.
  void onHeaderField(std::string_view name, std::string_view value);
  void onDataChunk(const uint8_t* data, size_t length);
  void onDataFrameEnd(bool end_stream);
  void onTrailersDecoded(HeaderMapPtr trailers);
  // Final (non-1xx) headers; the callbacks must be set.
  void onHeadersDecoded(HeaderMapPtr headers, bool end_stream);
  // Delivers held DATA and trailers unless reading is disabled.
  void deliverPending();
  void onLocalEndSent();
  void onClosed(uint32_t error_code);

  // --- encoding (called from nghttp2 callbacks) ---

 public:
  // nghttp2's data provider read callback, through a file-local trampoline.
  ssize_t readOutboundTrampoline(size_t length, uint32_t* data_flags);

 private:
  void onDataSent(size_t length);

  // The last event: reset callback unless the stream is already detached.
  void notifyReset(StreamResetReason reason, std::string_view detail);
  // notifyReset, then RST_STREAM `h2_error` to the peer.
  void abort(StreamResetReason reason, std::string_view detail, uint32_t h2_error);
  void raiseAboveWatermark();
  void lowerBelowWatermark();
  // True when neither encoding nor decoding may go on: nothing to submit.
  bool inactive() const;
  // Gives back the flow-control credit of bytes we will never deliver.
  void releaseReceived();
  void maybeComplete();
  void resume();

  Http2Connection& connection_;
  StreamCallbacks* callbacks_;
  int32_t id_;
  size_t index_ = 0;  // position in the connection's live list

  // Decoding.
  HeaderMapPtr decoding_headers_;
  size_t decoding_bytes_ = 0;
  bool headers_overflow_ = false;
  bool final_headers_received_ = false;
  net::Buffer received_;     // DATA not yet handed to onData
  size_t unconsumed_ = 0;    // delivered while reading was disabled: credit withheld
  HeaderMapPtr held_trailers_;
  int read_disable_count_ = 0;
  bool remote_end_ = false;            // END_STREAM arrived
  bool remote_end_delivered_ = false;  // ...and the consumer has seen it
  bool delivering_ = false;

  // Encoding.
  net::Buffer pending_send_;
  HeaderMap pending_trailers_;
  bool has_trailers_ = false;
  bool headers_submitted_ = false;
  bool local_end_pending_ = false;  // the encoder has said end_stream
  bool local_end_sent_ = false;     // END_STREAM went out
  bool data_deferred_ = false;      // nghttp2 parked our data provider
  bool over_buffer_limit_ = false;
  bool transport_above_ = false;
  int above_count_ = 0;

  // Lifetime.
  bool detached_ = false;      // no more callbacks: reset, completed, or never exposed
  bool local_reset_ = false;
  bool closed_ = false;        // nghttp2 closed it
  bool scheduled_ = false;     // handed to the connection for deletion
  bool rst_received_ = false;
  uint32_t rst_received_code_ = 0;
  bool rst_sent_by_library_ = false;
  bool rst_after_response_ = false;  // a 431'd request whose body we refuse
};

}  // namespace remora::http::http2
