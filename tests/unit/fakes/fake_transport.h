// FakeTransport: a CodecTransport that records what a codec writes, for
// in-memory codec tests (bytes in, events out). Test-only.
#pragma once

#include <string>

#include "proxy/http/codec.h"

namespace remora::testing {

class FakeTransport : public http::CodecTransport {
 public:
  void write(net::Buffer& data) override {
    written += data.toString();
    data.clear();
  }
  void readDisable(bool disable) override { read_disabled += disable ? 1 : -1; }
  // Returns and clears what was written so far.
  std::string take() {
    std::string out;
    out.swap(written);
    return out;
  }
  std::string written;
  int read_disabled = 0;
};

}  // namespace remora::testing
