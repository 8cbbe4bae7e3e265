#include "proxy/grpc/message_decoder.h"

#include <utility>

namespace remora::grpc {

void encodeMessage(std::string_view message, net::Buffer& out) {
  const uint64_t size = message.size();
  const uint8_t prefix[kMessagePrefixBytes] = {
      0,
      static_cast<uint8_t>(size >> 24),
      static_cast<uint8_t>(size >> 16),
      static_cast<uint8_t>(size >> 8),
      static_cast<uint8_t>(size),
  };
  out.add(prefix, sizeof(prefix));
  out.add(message);
}

std::optional<GrpcStatus> MessageDecoder::fail(GrpcStatus status) {
  failed_ = true;
  pending_.clear();
  current_length_.reset();
  return status;
}

std::optional<GrpcStatus> MessageDecoder::decode(net::Buffer& data, const MessageFn& on_message) {
  if (failed_) {
    data.clear();
    return std::nullopt;
  }
  pending_.move(data);
  for (;;) {
    if (!current_length_) {
      if (pending_.length() < kMessagePrefixBytes) return std::nullopt;
      uint8_t prefix[kMessagePrefixBytes];
      pending_.copyOut(0, kMessagePrefixBytes, prefix);
      const uint32_t length = static_cast<uint32_t>(prefix[1]) << 24 | static_cast<uint32_t>(prefix[2]) << 16 |
                              static_cast<uint32_t>(prefix[3]) << 8 | static_cast<uint32_t>(prefix[4]);
      if (prefix[0] == 1) {
        return fail({kStatusInternal, "received a compressed message, but no grpc-encoding was negotiated"});
      }
      if (prefix[0] != 0) {
        return fail({kStatusInternal, "malformed message prefix: flag byte " + std::to_string(prefix[0])});
      }
      if (length > max_message_bytes_) {
        return fail({kStatusResourceExhausted, "received message of " + std::to_string(length) +
                                                   " bytes exceeds the limit of " + std::to_string(max_message_bytes_) +
                                                   " bytes"});
      }
      pending_.drain(kMessagePrefixBytes);
      current_length_ = length;
    }
    if (pending_.length() < *current_length_) return std::nullopt;
    std::string message(*current_length_, '\0');
    pending_.copyOut(0, message.size(), message.data());
    pending_.drain(message.size());
    current_length_.reset();
    if (!on_message(std::move(message))) {
      // The consumer is gone: whatever follows has nobody to go to.
      failed_ = true;
      pending_.clear();
      return std::nullopt;
    }
  }
}

}  // namespace remora::grpc
