// gRPC length-prefixed messages (the body of a gRPC HTTP/2 stream): each
// message is a 1-byte compressed flag, a 4-byte big-endian length, then the
// serialized bytes. encodeMessage() frames one outgoing message;
// MessageDecoder cuts incoming DATA, split anywhere by HTTP/2 and TCP, back
// into whole messages.
//
// Owned by one GrpcStream (main thread), or by a test; not thread-safe.
// Bytes only: protobuf lives in the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/grpc/grpc_status.h"
#include "proxy/net/buffer.h"

namespace remora::grpc {

inline constexpr size_t kMessagePrefixBytes = 5;

// Appends the 5-byte prefix and `message` to `out`. We never compress: the
// client sends no grpc-encoding, so the flag is always 0.
void encodeMessage(std::string_view message, net::Buffer& out);

class MessageDecoder {
 public:
  // A larger declared length fails the stream before its bytes are buffered,
  // so a peer cannot make us hold more than this (plus one read) per stream.
  explicit MessageDecoder(uint32_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Called once per whole message; returns false to stop decoding (the
  // consumer closed the stream from inside the call).
  using MessageFn = std::function<bool(std::string message)>;

  // Takes every byte of `data` and hands each completed message to
  // `on_message`, in order. Returns the error that makes the stream unusable:
  // RESOURCE_EXHAUSTED for a message over the limit, INTERNAL for a set
  // compressed flag (we never offered an encoding) or an unknown flag value.
  // After an error, or after `on_message` returned false, the decoder keeps
  // nothing and ignores further input.
  std::optional<GrpcStatus> decode(net::Buffer& data, const MessageFn& on_message);

  // True when bytes of an unfinished message are held: a stream that ends
  // now was truncated.
  bool hasPartialMessage() const { return !failed_ && (current_length_.has_value() || !pending_.empty()); }
  size_t bufferedBytes() const { return pending_.length(); }

 private:
  std::optional<GrpcStatus> fail(GrpcStatus status);

  const uint32_t max_message_bytes_;
  net::Buffer pending_;
  // Length of the message whose prefix has been read, while its bytes arrive.
  std::optional<uint32_t> current_length_;
  bool failed_ = false;
};

}  // namespace remora::grpc
