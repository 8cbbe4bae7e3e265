// FakeApi: an ApiTransport for remoractl's command tests. It records each
// request and answers from a queue of replies; unreachable() makes every
// request fail as if remora-cp could not be reached. Test thread only.
#pragma once

#include <catch2/catch.hpp>

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "control-plane/cli/api_client.h"

namespace remora::cli::testing {

class FakeApi : public ApiTransport {
 public:
  struct Request {
    std::string method, path, body;
  };

  void reply(int status, std::string body) { replies_.push_back(ApiReply{status, std::move(body)}); }
  void unreachable() { unreachable_ = true; }

  base::Result<ApiReply> send(std::string_view method, const std::string& path, const std::string& body) override {
    requests.push_back({std::string(method), path, body});
    if (unreachable_) return base::fail(base::Error::kConnectFailed, "cannot reach the control plane at x: refused");
    REQUIRE_FALSE(replies_.empty());
    ApiReply r = replies_.front();
    replies_.pop_front();
    return r;
  }

  std::vector<Request> requests;

 private:
  std::deque<ApiReply> replies_;
  bool unreachable_ = false;
};

}  // namespace remora::cli::testing
