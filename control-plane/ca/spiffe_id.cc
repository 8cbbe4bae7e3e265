#include "control-plane/ca/spiffe_id.h"

#include <vector>

namespace remora::cp::ca {

namespace {

using base::Error;
using base::fail;

bool validTrustDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > 255) return false;
  for (char c : domain) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t slash = text.find('/', start);
    out.push_back(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

}  // namespace

std::string SpiffeId::uri() const {
  return "spiffe://" + trust_domain + "/ns/" + namespace_ + "/sa/" + service_account;
}

bool validIdentityName(std::string_view name) {
  if (name.empty() || name.size() > 253 || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

base::Result<SpiffeId> parseSpiffeId(std::string_view uri) {
  constexpr std::string_view kScheme = "spiffe://";
  const std::string shown = "\"" + std::string(uri) + "\"";
  if (!uri.starts_with(kScheme)) return fail(Error::kInvalidArgument, shown + " is not a spiffe:// URI");
  if (uri.find_first_of("?#%") != std::string_view::npos) {
    return fail(Error::kInvalidArgument, shown + ": query, fragment or percent-encoding not allowed");
  }
  const std::vector<std::string_view> parts = split(uri.substr(kScheme.size()));
  if (!validTrustDomain(parts[0])) return fail(Error::kInvalidArgument, shown + ": bad trust domain");
  if (parts.size() != 5 || parts[1] != "ns" || parts[3] != "sa") {
    return fail(Error::kInvalidArgument, shown + ": expected spiffe://<trust-domain>/ns/<namespace>/sa/<account>");
  }
  if (!validIdentityName(parts[2]) || !validIdentityName(parts[4])) {
    return fail(Error::kInvalidArgument, shown + ": bad namespace or service account");
  }
  return SpiffeId{std::string(parts[0]), std::string(parts[2]), std::string(parts[4])};
}

}  // namespace remora::cp::ca
