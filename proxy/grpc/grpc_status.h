// gRPC status codes and the end-of-call status of a stream: how the proxy's
// gRPC client reads grpc-status / grpc-message from trailers (or from a
// trailers-only response) and how it names a transport failure. Value types
// and pure functions, usable on any thread; no protobuf here.
#pragma once

#include <string>
#include <string_view>

#include "proxy/http/header_map.h"

namespace remora::grpc {

// The wire values of grpc-status (the gRPC core status codes). Plain ints
// because they travel as decimal text and GrpcStreamCallbacks::onClose takes
// whatever number the server sent, known or not.
inline constexpr int kStatusOk = 0;
inline constexpr int kStatusCancelled = 1;
inline constexpr int kStatusUnknown = 2;
inline constexpr int kStatusInvalidArgument = 3;
inline constexpr int kStatusDeadlineExceeded = 4;
inline constexpr int kStatusNotFound = 5;
inline constexpr int kStatusAlreadyExists = 6;
inline constexpr int kStatusPermissionDenied = 7;
inline constexpr int kStatusResourceExhausted = 8;
inline constexpr int kStatusFailedPrecondition = 9;
inline constexpr int kStatusAborted = 10;
inline constexpr int kStatusOutOfRange = 11;
inline constexpr int kStatusUnimplemented = 12;
inline constexpr int kStatusInternal = 13;
inline constexpr int kStatusUnavailable = 14;
inline constexpr int kStatusDataLoss = 15;
inline constexpr int kStatusUnauthenticated = 16;

// "OK", "UNAVAILABLE", ... for logs; "CODE_<n>" for a number outside 0..16.
std::string statusName(int code);

// How a call ended: the server's status, or one we made up for a transport
// failure, with its message (already percent-decoded).
struct GrpcStatus {
  int code = kStatusOk;
  std::string message;
  bool ok() const { return code == kStatusOk; }
};

// grpc-message is percent-encoded on the wire (every byte outside 0x20..0x7e,
// and '%' itself, as %XX). Decoding never fails: a '%' not followed by two hex
// digits is kept as it is, as the gRPC spec asks of receivers.
std::string percentDecode(std::string_view encoded);

// The status carried by trailers, or by the headers of a trailers-only
// response. A missing or non-numeric grpc-status is itself an error (UNKNOWN),
// so a proxy or load balancer that ends the stream without speaking gRPC is
// never taken for success.
GrpcStatus statusFromTrailers(const http::HeaderMap& trailers);

}  // namespace remora::grpc
