#include "xds/base/status.h"

#include <catch2/catch.hpp>
#include <string>

using remora::base::Error;
using remora::base::fail;
using remora::base::Result;
using remora::base::Status;

namespace {
Result<int> parsePositive(int v) {
  if (v <= 0) return fail(Error::kInvalidArgument, "value: must be positive, got " + std::to_string(v));
  return v;
}
}  // namespace

TEST_CASE("a result holds either a value or a failure naming the field", "[base]") {
  auto good = parsePositive(3);
  REQUIRE(good.has_value());
  CHECK(*good == 3);
  auto bad = parsePositive(-1);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Error::kInvalidArgument);
  CHECK(bad.error().message == "value: must be positive, got -1");
  CHECK(bad.status().code() == Error::kInvalidArgument);
}

TEST_CASE("a default status is ok and carries no message", "[base]") {
  Status s;
  CHECK(s.has_value());
  CHECK(s.code() == Error::kOk);
  CHECK(s.message().empty());
  Status f = fail(Error::kNoRoute, "no route for host 'x'");
  CHECK_FALSE(f);
  CHECK(remora::base::errorName(f.code()) == "no_route");
}
