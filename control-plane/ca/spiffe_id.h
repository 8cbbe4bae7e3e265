// SpiffeId: a workload identity spiffe://<trust-domain>/ns/<namespace>/sa/<sa>
// (docs/security.md), parsed from a CSR's or a peer certificate's URI SAN and
// formatted for the certificates the CA issues. Plain value; pure functions.
#pragma once

#include <string>
#include <string_view>

#include "xds/base/status.h"

namespace remora::cp::ca {

struct SpiffeId {
  std::string trust_domain;
  std::string namespace_;
  std::string service_account;

  std::string uri() const;  // "spiffe://td/ns/N/sa/S"
  bool operator==(const SpiffeId&) const = default;
};

// Accepts exactly spiffe://TD/ns/N/sa/S with non-empty DNS-label-ish parts
// ([a-z0-9.-_], no "..", no empty segments, no query or fragment). Fails with
// kInvalidArgument saying what is wrong.
base::Result<SpiffeId> parseSpiffeId(std::string_view uri);

// A namespace or service account name usable in a SPIFFE ID (1..253 chars of
// [a-zA-Z0-9._-]); the token API checks names with it.
bool validIdentityName(std::string_view name);

}  // namespace remora::cp::ca
