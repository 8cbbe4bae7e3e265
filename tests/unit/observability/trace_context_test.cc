#include "proxy/observability/trace_context.h"

#include <catch2/catch.hpp>

#include <string>

using remora::observability::formatB3Single;
using remora::observability::formatTraceparent;
using remora::observability::parseB3Multi;
using remora::observability::parseB3Single;
using remora::observability::parseTraceparent;
using remora::observability::SpanContext;
using remora::observability::spanIdHex;
using remora::observability::TraceId;
using remora::observability::traceIdHex;

namespace {
constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSpan = "00f067aa0ba902b7";
}  // namespace

TEST_CASE("a version 00 traceparent yields its ids and sampled flag", "[observability][trace_context]") {
  auto context = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  REQUIRE(context);
  CHECK(context->trace_id == TraceId{0x4bf92f3577b34da6ULL, 0xa3ce929d0e0e4736ULL});
  CHECK(context->span_id == 0x00f067aa0ba902b7ULL);
  CHECK(context->sampled);
  CHECK(context->sampling_decided);

  auto unsampled = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  REQUIRE(unsampled);
  CHECK_FALSE(unsampled->sampled);
  CHECK(unsampled->sampling_decided);
  // Unknown flag bits are ignored; only bit 0 means sampled.
  auto other_bits = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02");
  REQUIRE(other_bits);
  CHECK_FALSE(other_bits->sampled);
}

TEST_CASE("malformed traceparent values are rejected", "[observability][trace_context]") {
  const std::string good = std::string("00-") + kTrace + "-" + kSpan + "-01";
  REQUIRE(parseTraceparent(good));
  const char* bad[] = {
      "",
      "00",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",       // short flags
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",     // version 00 must be 55 bytes
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",     // trailing field in version 00
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",      // upper-case trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",      // upper-case span id
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",      // all-zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",      // all-zero span id
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",      // version ff is invalid
      "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",      // non-hex version
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01x",      // short trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01x",      // short span id
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",      // wrong separator
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
      "00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01",      // non-hex trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",      // non-hex span id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z",      // non-hex flags
      " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",     // leading space shifts fields
  };
  for (const char* value : bad) {
    INFO("traceparent: '" << value << "'");
    CHECK_FALSE(parseTraceparent(value));
  }
}

TEST_CASE("a future traceparent version is read by its first four fields", "[observability][trace_context]") {
  auto longer = parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever");
  REQUIRE(longer);
  CHECK(longer->sampled);
  CHECK(longer->span_id == 0x00f067aa0ba902b7ULL);
  CHECK(parseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
  // Longer, but without the '-' that must follow the flags.
  CHECK_FALSE(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"));
  // Still no upper-case and no zero ids.
  CHECK_FALSE(parseTraceparent("01-00000000000000000000000000000000-00f067aa0ba902b7-01-x"));
}

TEST_CASE("b3 single header forms are parsed", "[observability][trace_context]") {
  auto ids_only = parseB3Single(std::string(kTrace) + "-" + kSpan);
  REQUIRE(ids_only);
  CHECK(ids_only->trace_id == TraceId{0x4bf92f3577b34da6ULL, 0xa3ce929d0e0e4736ULL});
  CHECK_FALSE(ids_only->sampling_decided);

  auto sampled = parseB3Single(std::string(kTrace) + "-" + kSpan + "-1");
  REQUIRE(sampled);
  CHECK(sampled->sampled);
  CHECK(sampled->sampling_decided);

  auto denied = parseB3Single(std::string(kTrace) + "-" + kSpan + "-0-05e3ac9a4f6e3b90");
  REQUIRE(denied);
  CHECK_FALSE(denied->sampled);
  CHECK(denied->sampling_decided);

  auto debug = parseB3Single(std::string("a3ce929d0e0e4736-") + kSpan + "-d");
  REQUIRE(debug);
  CHECK(debug->sampled);
  CHECK(debug->trace_id == TraceId{0, 0xa3ce929d0e0e4736ULL});
}

TEST_CASE("malformed b3 single values and bare decisions give no context", "[observability][trace_context]") {
  const std::string t = kTrace;
  const std::string s = kSpan;
  const std::string bad[] = {
      "",
      "0",  // a decision without ids is not a context
      "1",
      "d",
      t,
      t + "-",
      t + "-" + s + "-",
      t + "-" + s + "-x",
      t + "-" + s + "-true",  // single form takes 0/1/d only
      t + "-" + s + "-1-",
      t + "-" + s + "-1-05e3ac9a4f6e3b9",        // short parent
      t + "-" + s + "-1-0000000000000000",       // zero parent
      t + "-" + s + "-1-05e3ac9a4f6e3b90-extra",
      "4bf92f3577b34da6a3ce929d0e0e473-" + s,    // 31 digits
      "4bf92f3577b34da-" + s,                    // 15 digits
      "00000000000000000000000000000000-" + s,
      "0000000000000000-" + s,
      t + "-0000000000000000",
      "4BF92F3577B34DA6A3CE929D0E0E4736-" + s,
      t + "-00F067AA0BA902B7",
      t + "--" + s,
  };
  for (const std::string& value : bad) {
    INFO("b3: '" << value << "'");
    CHECK_FALSE(parseB3Single(value));
  }
}

TEST_CASE("b3 multi headers are parsed with optional sampled and flags", "[observability][trace_context]") {
  auto plain = parseB3Multi(kTrace, kSpan, std::nullopt, std::nullopt);
  REQUIRE(plain);
  CHECK_FALSE(plain->sampling_decided);

  for (const char* yes : {"1", "true"}) {
    auto context = parseB3Multi(kTrace, kSpan, std::string_view(yes), std::nullopt);
    REQUIRE(context);
    CHECK(context->sampled);
    CHECK(context->sampling_decided);
  }
  for (const char* no : {"0", "false"}) {
    auto context = parseB3Multi(kTrace, kSpan, std::string_view(no), std::nullopt);
    REQUIRE(context);
    CHECK_FALSE(context->sampled);
    CHECK(context->sampling_decided);
  }
  auto debug = parseB3Multi("a3ce929d0e0e4736", kSpan, std::string_view("0"), std::string_view("1"));
  REQUIRE(debug);
  CHECK(debug->sampled);  // debug overrides a deny
  CHECK(debug->trace_id.high == 0);

  CHECK_FALSE(parseB3Multi(kTrace, kSpan, std::string_view("yes"), std::nullopt));
  CHECK_FALSE(parseB3Multi(kTrace, kSpan, std::nullopt, std::string_view("2")));
  CHECK_FALSE(parseB3Multi("", kSpan, std::nullopt, std::nullopt));
  CHECK_FALSE(parseB3Multi(kTrace, "", std::nullopt, std::nullopt));
  CHECK_FALSE(parseB3Multi("123", kSpan, std::nullopt, std::nullopt));
  CHECK_FALSE(parseB3Multi(kTrace, "0000000000000000", std::nullopt, std::nullopt));
  CHECK_FALSE(parseB3Multi("4BF92F3577B34DA6A3CE929D0E0E4736", kSpan, std::nullopt, std::nullopt));
}

TEST_CASE("formatted contexts parse back to the same ids", "[observability][trace_context]") {
  SpanContext context;
  context.trace_id = {0x0102030405060708ULL, 0x090a0b0c0d0e0f10ULL};
  context.span_id = 0xfedcba9876543210ULL;
  context.sampled = true;

  const std::string traceparent = formatTraceparent(context);
  CHECK(traceparent == "00-0102030405060708090a0b0c0d0e0f10-fedcba9876543210-01");
  auto w3c = parseTraceparent(traceparent);
  REQUIRE(w3c);
  CHECK(w3c->trace_id == context.trace_id);
  CHECK(w3c->span_id == context.span_id);
  CHECK(w3c->sampled);

  const std::string b3 = formatB3Single(context);
  CHECK(b3 == "0102030405060708090a0b0c0d0e0f10-fedcba9876543210-1");
  auto single = parseB3Single(b3);
  REQUIRE(single);
  CHECK(single->trace_id == context.trace_id);

  context.sampled = false;
  context.trace_id = {0, 0x1};
  CHECK(formatTraceparent(context) == "00-00000000000000000000000000000001-fedcba9876543210-00");
  // B3 keeps a 64-bit trace id in its 16-digit form.
  CHECK(formatB3Single(context) == "0000000000000001-fedcba9876543210-0");
}

TEST_CASE("ids print as fixed-width lower-case hex", "[observability][trace_context]") {
  CHECK(traceIdHex({0xABCULL, 0x1ULL}) == "0000000000000abc0000000000000001");
  CHECK(spanIdHex(0xABCDEFULL) == "0000000000abcdef");
}
