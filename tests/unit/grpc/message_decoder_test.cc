#include "proxy/grpc/message_decoder.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace remora::grpc {
namespace {

std::string framed(std::string_view message) {
  net::Buffer out;
  encodeMessage(message, out);
  return out.toString();
}

struct Collector {
  std::vector<std::string> messages;
  MessageDecoder::MessageFn fn() {
    return [this](std::string m) {
      messages.push_back(std::move(m));
      return true;
    };
  }
};

TEST_CASE("a message is framed with a zero flag and a big-endian length", "[grpc][framing]") {
  CHECK(framed("abc") == std::string("\0\0\0\0\3abc", 8));
  CHECK(framed("") == std::string(5, '\0'));
  const std::string big(70000, 'x');
  const std::string f = framed(big);
  REQUIRE(f.size() == 70005);
  CHECK(f.substr(0, 5) == std::string("\0\0\x01\x11\x70", 5));
}

TEST_CASE("several messages in one buffer come out whole and in order", "[grpc][framing]") {
  MessageDecoder decoder(1024);
  Collector c;
  net::Buffer in(framed("one") + framed("") + framed("three"));
  CHECK_FALSE(decoder.decode(in, c.fn()).has_value());
  CHECK(in.empty());
  CHECK(c.messages == std::vector<std::string>{"one", "", "three"});
  CHECK_FALSE(decoder.hasPartialMessage());
}

TEST_CASE("messages split at every byte boundary are reassembled", "[grpc][framing]") {
  const std::string wire = framed("hello") + framed(std::string(300, 'z')) + framed("!");
  for (size_t cut = 1; cut < wire.size(); ++cut) {
    MessageDecoder decoder(1024);
    Collector c;
    net::Buffer first(wire.substr(0, cut));
    net::Buffer second(wire.substr(cut));
    CHECK_FALSE(decoder.decode(first, c.fn()).has_value());
    // Boundaries: after "hello" (5 + 5) and after the 300 z's (+ 5 + 300).
    const bool at_boundary = cut == 10 || cut == 315;
    CHECK(decoder.hasPartialMessage() == !at_boundary);
    CHECK_FALSE(decoder.decode(second, c.fn()).has_value());
    INFO("cut at " << cut);
    REQUIRE(c.messages.size() == 3);
    CHECK(c.messages[0] == "hello");
    CHECK(c.messages[1] == std::string(300, 'z'));
    CHECK(c.messages[2] == "!");
    CHECK_FALSE(decoder.hasPartialMessage());
  }
}

TEST_CASE("a message fed one byte at a time is delivered once, at its last byte", "[grpc][framing]") {
  MessageDecoder decoder(1024);
  Collector c;
  const std::string wire = framed("drip");
  for (size_t i = 0; i < wire.size(); ++i) {
    CHECK(c.messages.empty());
    net::Buffer b(wire.substr(i, 1));
    CHECK_FALSE(decoder.decode(b, c.fn()).has_value());
    if (i + 1 < wire.size()) CHECK(decoder.hasPartialMessage());
  }
  CHECK(c.messages == std::vector<std::string>{"drip"});
}

TEST_CASE("a declared length over the limit fails with RESOURCE_EXHAUSTED before the body arrives", "[grpc][framing]") {
  MessageDecoder decoder(100);
  Collector c;
  net::Buffer ok(framed(std::string(100, 'a')));
  CHECK_FALSE(decoder.decode(ok, c.fn()).has_value());
  CHECK(c.messages.size() == 1);
  // Only the prefix of the oversized message: it is judged on the length alone.
  net::Buffer prefix(framed(std::string(101, 'b')).substr(0, 5));
  auto error = decoder.decode(prefix, c.fn());
  REQUIRE(error.has_value());
  CHECK(error->code == kStatusResourceExhausted);
  CHECK(error->message == "received message of 101 bytes exceeds the limit of 100 bytes");
  CHECK(decoder.bufferedBytes() == 0);
  // Dead after the error: nothing more is delivered.
  net::Buffer more(framed("late"));
  CHECK_FALSE(decoder.decode(more, c.fn()).has_value());
  CHECK(c.messages.size() == 1);
  CHECK(more.empty());
}

TEST_CASE("a compressed message fails with INTERNAL since no encoding was offered", "[grpc][framing]") {
  MessageDecoder decoder(1024);
  Collector c;
  net::Buffer in(std::string("\x01\0\0\0\x02hi", 7));
  auto error = decoder.decode(in, c.fn());
  REQUIRE(error.has_value());
  CHECK(error->code == kStatusInternal);
  CHECK(error->message.find("compressed") != std::string::npos);
  CHECK(c.messages.empty());
}

TEST_CASE("a flag byte other than 0 or 1 fails with INTERNAL", "[grpc][framing]") {
  MessageDecoder decoder(1024);
  Collector c;
  net::Buffer in(std::string("\x80\0\0\0\x00", 5));
  auto error = decoder.decode(in, c.fn());
  REQUIRE(error.has_value());
  CHECK(error->code == kStatusInternal);
}

TEST_CASE("a consumer that stops the decoder gets no further message", "[grpc][framing]") {
  MessageDecoder decoder(1024);
  int calls = 0;
  net::Buffer in(framed("a") + framed("b") + framed("c"));
  auto error = decoder.decode(in, [&](std::string) {
    ++calls;
    return false;
  });
  CHECK_FALSE(error.has_value());
  CHECK(calls == 1);
  CHECK(decoder.bufferedBytes() == 0);
}

TEST_CASE("a prefix without its body is a partial message", "[grpc][framing]") {
  MessageDecoder decoder(1024);
  Collector c;
  net::Buffer in(framed("abcdef").substr(0, 5));
  CHECK_FALSE(decoder.decode(in, c.fn()).has_value());
  CHECK(decoder.hasPartialMessage());
  CHECK(decoder.bufferedBytes() == 0);
}

}  // namespace
}  // namespace remora::grpc
