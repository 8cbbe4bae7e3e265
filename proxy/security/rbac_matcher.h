// One compiled RBAC permission or principal (the model's RbacMatch tree):
// regexes compiled once, case-insensitive literals lower-cased once, so that
// matching a request allocates nothing. Built by Authorizer::compile on the
// main thread; immutable afterwards and read by workers concurrently.
#pragma once

#include <re2/re2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/header_map.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::security {

// What a request looks like to the authorizer. Views into the caller's
// request; valid for the evaluate() call only.
struct RequestFacts {
  std::string_view peer_identity;  // the verified URI SAN (SPIFFE ID); "" for plaintext
  uint32_t destination_port = 0;
  std::string_view path;    // without the query
  std::string_view method;
  const http::HeaderMap* headers = nullptr;  // null for TCP connections
};

// A compiled StringMatch.
class StringMatcher {
 public:
  static base::Result<StringMatcher> compile(const xds::resources::StringMatch& match);
  bool matches(std::string_view value) const;

 private:
  xds::resources::StringMatch::Kind kind_ = xds::resources::StringMatch::Kind::kExact;
  std::string value_;  // lower-cased when ignore_case_
  bool ignore_case_ = false;
  std::shared_ptr<const re2::RE2> regex_;  // kRegex; shared so matchers stay copyable
};

// A compiled node of a permission or principal tree.
class RbacMatcher {
 public:
  static base::Result<RbacMatcher> compile(const xds::resources::RbacMatch& match);
  bool matches(const RequestFacts& facts) const;

 private:
  bool headerMatches(const RequestFacts& facts) const;
  bool headerValueMatches(std::string_view value) const;

  xds::resources::RbacMatch::Kind kind_ = xds::resources::RbacMatch::Kind::kAny;
  std::vector<RbacMatcher> children_;
  uint32_t destination_port_ = 0;
  StringMatcher string_;  // kUrlPath, kAuthenticated, and kHeader's value
  // kHeader
  std::string header_name_;
  xds::resources::HeaderMatcher::Kind header_kind_ = xds::resources::HeaderMatcher::Kind::kPresent;
  bool header_present_ = true;
  bool header_invert_ = false;
};

}  // namespace remora::security
