// HeaderMap: an ordered list of HTTP header fields, the same for HTTP/1 and
// HTTP/2. Names are stored lower-case (HTTP/2 requires it; HTTP/1 names are
// case-insensitive). Request pseudo-headers (:method, :scheme, :authority,
// :path, :protocol) and the response's :status are ordinary entries that
// always sort first; the HTTP/1 codec maps them to and from the start line
// (:authority <-> Host).
//
// Not thread-safe; owned by one stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace remora::http {

struct HeaderField {
  std::string name;   // lower-case
  std::string value;
};

class HeaderMap {
 public:
  // Appends a field. `name` is lower-cased. Pseudo-headers go before regular ones.
  void add(std::string_view name, std::string_view value);
  // Replaces every field called `name` with one field.
  void set(std::string_view name, std::string_view value);
  // Removes every field called `name`; returns how many were removed.
  size_t remove(std::string_view name);
  // The first value of `name` (lower-case), if any.
  std::optional<std::string_view> get(std::string_view name) const;
  // Every value of `name`, in order.
  std::vector<std::string_view> getAll(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  // Sum of name and value lengths, the measure of header-size limits.
  size_t byteSize() const;
  const std::vector<HeaderField>& fields() const { return fields_; }
  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }

  // Shorthands for pseudo-headers; empty when absent.
  std::string_view method() const { return get(":method").value_or(""); }
  std::string_view path() const { return get(":path").value_or(""); }
  std::string_view authority() const { return get(":authority").value_or(""); }
  std::string_view scheme() const { return get(":scheme").value_or(""); }
  // The :status as a number, or 0 when absent or malformed.
  uint32_t status() const;

 private:
  std::vector<HeaderField> fields_;
};
using HeaderMapPtr = std::unique_ptr<HeaderMap>;

// Hop-by-hop fields that a proxy must not forward (RFC 9110 7.6.1), plus the
// HTTP/2-forbidden connection-specific ones. `te: trailers` is kept by callers.
bool isHopByHopHeader(std::string_view lower_name);

// Removes the fields a Connection header names (RFC 9110 7.6.1: they describe
// this hop only and must not be forwarded). `keep_upgrade` keeps Upgrade for
// a tunnel being set up. The Connection field itself is left to the caller.
void removeConnectionNominatedHeaders(HeaderMap& headers, bool keep_upgrade);

}  // namespace remora::http
