#include "proxy/security/rbac_matcher.h"

#include <string>
#include <utility>

namespace remora::security {

namespace res = xds::resources;
using base::Result;

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// `pattern` is already lower-case when ignore_case is set.
bool equalAt(std::string_view value, size_t at, std::string_view pattern, bool ignore_case) {
  if (!ignore_case) return value.compare(at, pattern.size(), pattern) == 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (lower(value[at + i]) != pattern[i]) return false;
  }
  return true;
}

}  // namespace

Result<StringMatcher> StringMatcher::compile(const res::StringMatch& match) {
  StringMatcher out;
  out.kind_ = match.kind;
  out.ignore_case_ = match.ignore_case && match.kind != res::StringMatch::Kind::kRegex;
  out.value_ = match.value;
  if (out.ignore_case_) {
    for (char& c : out.value_) c = lower(c);
  }
  if (match.kind == res::StringMatch::Kind::kRegex) {
    RE2::Options options;
    options.set_log_errors(false);
    auto regex = std::make_shared<const re2::RE2>(match.value, options);
    if (!regex->ok()) {
      return base::fail(base::Error::kInvalidArgument, "regex \"" + match.value + "\": " + regex->error());
    }
    out.regex_ = std::move(regex);
  }
  return out;
}

bool StringMatcher::matches(std::string_view value) const {
  switch (kind_) {
    case res::StringMatch::Kind::kExact:
      return value.size() == value_.size() && equalAt(value, 0, value_, ignore_case_);
    case res::StringMatch::Kind::kPrefix:
      return value.size() >= value_.size() && equalAt(value, 0, value_, ignore_case_);
    case res::StringMatch::Kind::kSuffix:
      return value.size() >= value_.size() && equalAt(value, value.size() - value_.size(), value_, ignore_case_);
    case res::StringMatch::Kind::kContains:
      if (value.size() < value_.size()) return false;
      for (size_t at = 0; at + value_.size() <= value.size(); ++at) {
        if (equalAt(value, at, value_, ignore_case_)) return true;
      }
      return false;
    case res::StringMatch::Kind::kRegex:
      return regex_ && RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *regex_);
  }
  return false;
}

Result<RbacMatcher> RbacMatcher::compile(const res::RbacMatch& match) {
  RbacMatcher out;
  out.kind_ = match.kind;
  switch (match.kind) {
    case res::RbacMatch::Kind::kAny: break;
    case res::RbacMatch::Kind::kAnd:
    case res::RbacMatch::Kind::kOr:
    case res::RbacMatch::Kind::kNot:
      if (match.kind == res::RbacMatch::Kind::kNot && match.children.size() != 1) {
        return base::fail(base::Error::kInvalidArgument, "a 'not' rule needs exactly one child");
      }
      out.children_.reserve(match.children.size());
      for (const res::RbacMatch& child : match.children) {
        Result<RbacMatcher> compiled = compile(child);
        if (!compiled) return compiled.error();
        out.children_.push_back(std::move(*compiled));
      }
      break;
    case res::RbacMatch::Kind::kDestinationPort: out.destination_port_ = match.destination_port; break;
    case res::RbacMatch::Kind::kUrlPath:
    case res::RbacMatch::Kind::kAuthenticated: {
      Result<StringMatcher> string = StringMatcher::compile(match.string_match);
      if (!string) return string.error();
      out.string_ = std::move(*string);
      break;
    }
    case res::RbacMatch::Kind::kHeader: {
      out.header_name_ = match.header.name;
      out.header_kind_ = match.header.kind;
      out.header_present_ = match.header.present;
      out.header_invert_ = match.header.invert;
      res::StringMatch value{res::StringMatch::Kind::kExact, match.header.value, false};
      switch (match.header.kind) {
        case res::HeaderMatcher::Kind::kExact: value.kind = res::StringMatch::Kind::kExact; break;
        case res::HeaderMatcher::Kind::kPrefix: value.kind = res::StringMatch::Kind::kPrefix; break;
        case res::HeaderMatcher::Kind::kSuffix: value.kind = res::StringMatch::Kind::kSuffix; break;
        case res::HeaderMatcher::Kind::kContains: value.kind = res::StringMatch::Kind::kContains; break;
        case res::HeaderMatcher::Kind::kRegex: value.kind = res::StringMatch::Kind::kRegex; break;
        case res::HeaderMatcher::Kind::kPresent: break;
      }
      Result<StringMatcher> string = StringMatcher::compile(value);
      if (!string) return string.error();
      out.string_ = std::move(*string);
      break;
    }
  }
  return out;
}

bool RbacMatcher::matches(const RequestFacts& facts) const {
  switch (kind_) {
    case res::RbacMatch::Kind::kAny: return true;
    case res::RbacMatch::Kind::kAnd:
      for (const RbacMatcher& child : children_) {
        if (!child.matches(facts)) return false;
      }
      return true;
    case res::RbacMatch::Kind::kOr:
      for (const RbacMatcher& child : children_) {
        if (child.matches(facts)) return true;
      }
      return false;
    case res::RbacMatch::Kind::kNot: return !children_.front().matches(facts);
    case res::RbacMatch::Kind::kDestinationPort: return facts.destination_port == destination_port_;
    // A TCP connection has no path: a path rule never matches it (as in
    // Envoy's network RBAC filter).
    case res::RbacMatch::Kind::kUrlPath: return facts.headers != nullptr && string_.matches(facts.path);
    // A plaintext peer has no identity, so no name (not even a prefix "")
    // matches it.
    case res::RbacMatch::Kind::kAuthenticated:
      return !facts.peer_identity.empty() && string_.matches(facts.peer_identity);
    case res::RbacMatch::Kind::kHeader: return headerMatches(facts);
  }
  return false;
}

bool RbacMatcher::headerValueMatches(std::string_view value) const {
  const bool matched = header_kind_ == res::HeaderMatcher::Kind::kPresent ? header_present_ : string_.matches(value);
  return matched != header_invert_;
}

// Envoy's semantics: several fields of one name are matched joined with ",";
// a missing header matches only "present: false" (or "present: true"
// inverted), never a value matcher, inverted or not.
bool RbacMatcher::headerMatches(const RequestFacts& facts) const {
  if (facts.headers == nullptr) {
    // TCP: no headers. ":method" still answers from the facts, for callers
    // that build facts without a header map.
    if (header_name_ == ":method" && !facts.method.empty()) return headerValueMatches(facts.method);
  } else {
    const http::HeaderField* first = nullptr;
    size_t count = 0;
    for (const http::HeaderField& field : *facts.headers) {
      if (field.name != header_name_) continue;
      if (first == nullptr) first = &field;
      ++count;
    }
    if (count == 1) return headerValueMatches(first->value);
    if (count > 1) {
      // Rare (a repeated header): the one place evaluation allocates.
      std::string joined;
      bool first_value = true;
      for (const http::HeaderField& field : *facts.headers) {
        if (field.name != header_name_) continue;
        if (!first_value) joined += ',';
        first_value = false;
        joined += field.value;
      }
      return headerValueMatches(joined);
    }
  }
  if (header_kind_ != res::HeaderMatcher::Kind::kPresent) return false;
  return header_invert_ ? header_present_ : !header_present_;
}

}  // namespace remora::security
