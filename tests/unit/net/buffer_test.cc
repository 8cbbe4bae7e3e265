#include "proxy/net/buffer.h"

#include <catch2/catch.hpp>
#include <string>

using remora::net::Buffer;

TEST_CASE("buffer moves bytes between buffers without losing order", "[net][buffer]") {
  Buffer a;
  std::string big(40000, 'x');
  a.add("head:");
  a.add(big);
  a.add(":tail");
  Buffer b;
  b.move(a, 5);
  CHECK(b.toString() == "head:");
  CHECK(a.length() == big.size() + 5);
  b.move(a);
  CHECK(a.empty());
  CHECK(b.length() == big.size() + 10);
  CHECK(b.toString().substr(b.length() - 5) == ":tail");
}

TEST_CASE("buffer search finds needles that straddle slices", "[net][buffer]") {
  Buffer a;
  std::string first(Buffer::kDefaultSliceSize - 2, 'a');
  a.add(first);
  Buffer tail("\r\n\r\nrest");
  Buffer joined;
  joined.move(a);
  joined.move(tail);
  CHECK(joined.search("\r\n\r\n") == first.size());
  CHECK(joined.search("zz") == Buffer::npos);
  CHECK(joined.search("rest", 10) == first.size() + 4);
}

TEST_CASE("drain and linearize keep the remaining bytes intact", "[net][buffer]") {
  Buffer a;
  for (int i = 0; i < 3000; ++i) a.add("0123456789");
  Buffer b;
  b.move(a, 15000);
  b.move(a);
  b.drain(5);
  const char* p = b.linearize(20000);
  CHECK(std::string(p, 10) == "5678901234");
  CHECK(b.length() == 29995);
  auto span = b.reserve(100);
  CHECK(span.size() >= 100);
  span[0] = '!';
  b.commit(1);
  CHECK(b.at(b.length() - 1) == '!');
}

TEST_CASE("a moved-from buffer is empty and usable again", "[net][buffer]") {
  Buffer a;
  for (int i = 0; i < 4; ++i) a.add(std::string(Buffer::kDefaultSliceSize, 'x'));
  a.drain(Buffer::kDefaultSliceSize + 10);  // the slice list has a dead prefix now
  Buffer b(std::move(a));
  CHECK(b.length() == 3 * Buffer::kDefaultSliceSize - 10);
  CHECK(a.length() == 0);  // NOLINT(bugprone-use-after-move): the point of the test
  CHECK(a.empty());
  a.add("again");
  CHECK(a.toString() == "again");
  Buffer c;
  c = std::move(b);
  CHECK(b.empty());  // NOLINT(bugprone-use-after-move)
  b.add("more");
  CHECK(b.toString() == "more");
}

TEST_CASE("a buffer that streams without emptying keeps a bounded slice list", "[net][buffer]") {
  Buffer a;
  std::string block(Buffer::kDefaultSliceSize, 'y');
  a.add(block);
  for (int i = 0; i < 10000; ++i) {
    a.add(block);
    a.drain(Buffer::kDefaultSliceSize);
  }
  CHECK(a.length() == Buffer::kDefaultSliceSize);
  CHECK(a.sliceCount() <= 2);
}
