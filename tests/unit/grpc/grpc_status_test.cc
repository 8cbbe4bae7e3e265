#include "proxy/grpc/grpc_status.h"

#include <catch2/catch.hpp>

namespace remora::grpc {
namespace {

TEST_CASE("grpc-message percent-encoding is decoded, upper or lower case hex", "[grpc][status]") {
  CHECK(percentDecode("no%20such%20type") == "no such type");
  CHECK(percentDecode("100%25 sure") == "100% sure");
  CHECK(percentDecode("caf%C3%A9 %c3%a9") == "caf\xc3\xa9 \xc3\xa9");
  CHECK(percentDecode("line%0Abreak") == "line\nbreak");
  CHECK(percentDecode("plain text") == "plain text");
  CHECK(percentDecode("") == "");
}

TEST_CASE("an invalid percent sequence in grpc-message is kept as it is", "[grpc][status]") {
  CHECK(percentDecode("50%") == "50%");
  CHECK(percentDecode("50%4") == "50%4");
  CHECK(percentDecode("%zz%20ok") == "%zz ok");
  CHECK(percentDecode("%%41") == "%A");
}

TEST_CASE("trailers give the status code and the decoded message", "[grpc][status]") {
  http::HeaderMap trailers;
  trailers.add("grpc-status", "5");
  trailers.add("grpc-message", "cluster%20%22web%22%20not%20found");
  const GrpcStatus status = statusFromTrailers(trailers);
  CHECK(status.code == kStatusNotFound);
  CHECK(status.message == "cluster \"web\" not found");
  CHECK_FALSE(status.ok());
}

TEST_CASE("trailers with grpc-status 0 and no message are OK", "[grpc][status]") {
  http::HeaderMap trailers;
  trailers.add("grpc-status", "0");
  const GrpcStatus status = statusFromTrailers(trailers);
  CHECK(status.ok());
  CHECK(status.message.empty());
}

TEST_CASE("a missing or malformed grpc-status is UNKNOWN, never OK", "[grpc][status]") {
  http::HeaderMap none;
  none.add("x-other", "1");
  CHECK(statusFromTrailers(none).code == kStatusUnknown);
  CHECK(statusFromTrailers(none).message == "the stream ended without grpc-status");

  for (const char* bad : {"", "abc", "1x", "-1", " 0"}) {
    http::HeaderMap trailers;
    trailers.add("grpc-status", bad);
    INFO(bad);
    CHECK(statusFromTrailers(trailers).code == kStatusUnknown);
  }
}

TEST_CASE("an unknown but well-formed status number is passed through", "[grpc][status]") {
  http::HeaderMap trailers;
  trailers.add("grpc-status", "42");
  CHECK(statusFromTrailers(trailers).code == 42);
  CHECK(statusName(42) == "CODE_42");
}

TEST_CASE("status names follow the gRPC spelling", "[grpc][status]") {
  CHECK(statusName(kStatusOk) == "OK");
  CHECK(statusName(kStatusResourceExhausted) == "RESOURCE_EXHAUSTED");
  CHECK(statusName(kStatusUnimplemented) == "UNIMPLEMENTED");
  CHECK(statusName(kStatusUnavailable) == "UNAVAILABLE");
  CHECK(statusName(kStatusUnauthenticated) == "UNAUTHENTICATED");
  CHECK(statusName(-1) == "CODE_-1");
}

}  // namespace
}  // namespace remora::grpc
