#include "control-plane/cli/security_commands.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

namespace remora::cli {

namespace {

std::string jsonBody(const google::protobuf::Struct& object) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(object, &out);
  return out;
}

// "in 5h" / "5h ago" for a timestamp.
std::string relative(std::string_view rfc3339, TimePoint now) {
  const std::optional<TimePoint> when = parseTimestamp(rfc3339);
  if (!when) return "<unknown>";
  if (*when >= now) return "in " + formatAge(std::chrono::duration_cast<std::chrono::seconds>(*when - now));
  return formatAge(std::chrono::duration_cast<std::chrono::seconds>(now - *when)) + " ago";
}

std::string rootsTable(const JsonValue& body, TimePoint now) {
  Table table({"FINGERPRINT", "SUBJECT", "EXPIRES", "SIGNING"});
  for (const JsonValue& root : listItems(member(&body, "roots"))) {
    const std::string fingerprint = scalarText(member(&root, "fingerprint"));
    table.addRow({fingerprint.substr(0, 23), scalarText(member(&root, "subject")),
                  relative(scalarText(member(&root, "notAfter")), now),
                  scalarText(member(&root, "activeSigner")) == "true" ? "yes" : ""});
  }
  return table.render();
}

}  // namespace

int runTokenCreate(ApiTransport& api, const std::string& namespace_, const std::string& service_account,
                   const std::string& ttl, CommandOutput& output) {
  google::protobuf::Struct request;
  (*request.mutable_fields())["namespace"].set_string_value(namespace_);
  (*request.mutable_fields())["serviceAccount"].set_string_value(service_account);
  if (!ttl.empty()) (*request.mutable_fields())["ttl"].set_string_value(ttl);
  ApiCall result = callApi(api, "POST", "/api/v1/tokens", jsonBody(request), output);
  if (result.exit_code != kExitOk) return result.exit_code;
  output.out += scalarText(member(&result.body, "token")) + "\n";
  output.err += "token " + scalarText(member(&result.body, "id")) + " for " +
                scalarText(member(&result.body, "identity")) + " expires " +
                scalarText(member(&result.body, "expiresAt")) + " (shown once)\n";
  return kExitOk;
}

int runTokenList(ApiTransport& api, OutputFormat format, TimePoint now, CommandOutput& output) {
  Displayed result = getForDisplay(api, "/api/v1/tokens", format, output);
  if (result.done) return result.exit_code;
  Table table({"ID", "NAMESPACE", "SERVICE-ACCOUNT", "EXPIRES", "USES", "LAST-USED"});
  for (const JsonValue& token : listItems(member(&result.body, "items"))) {
    const std::string expires = scalarText(member(&token, "expiresAt"));
    const std::string last_used = scalarText(member(&token, "lastUsedAt"));
    table.addRow({scalarText(member(&token, "id")), scalarText(member(&token, "namespace")),
                  scalarText(member(&token, "serviceAccount")),
                  scalarText(member(&token, "expired")) == "true" ? "expired" : relative(expires, now),
                  scalarText(member(&token, "uses")), last_used.empty() ? "never" : relative(last_used, now)});
  }
  if (table.rows() == 0) {
    output.err += "No join tokens found.\n";
    return kExitOk;
  }
  output.out += table.render();
  return kExitOk;
}

int runTokenDelete(ApiTransport& api, const std::string& id, CommandOutput& output) {
  ApiCall result = callApi(api, "DELETE", "/api/v1/tokens/" + id, "", output);
  if (result.exit_code != kExitOk) return result.exit_code;
  output.out += "token/" + id + " deleted\n";
  return kExitOk;
}

int runIdentity(ApiTransport& api, OutputFormat format, TimePoint now, CommandOutput& output) {
  Displayed result = getForDisplay(api, "/api/v1/identities", format, output);
  if (result.done) return result.exit_code;
  Table table({"IDENTITY", "SERIAL", "ISSUED", "EXPIRES", "PROXIES"});
  for (const JsonValue& item : listItems(member(&result.body, "items"))) {
    std::string proxies;
    for (const JsonValue& proxy : listItems(member(&item, "proxies"))) {
      proxies += (proxies.empty() ? "" : ",") + scalarText(&proxy);
    }
    table.addRow({scalarText(member(&item, "identity")), scalarText(member(&item, "serial")),
                  relative(scalarText(member(&item, "issuedAt")), now),
                  relative(scalarText(member(&item, "notAfter")), now), proxies.empty() ? "<none>" : proxies});
  }
  if (table.rows() == 0) {
    output.err += "No certificates issued yet.\n";
    return kExitOk;
  }
  output.out += table.render();
  return kExitOk;
}

int runCaStatus(ApiTransport& api, OutputFormat format, TimePoint now, CommandOutput& output) {
  Displayed result = getForDisplay(api, "/api/v1/ca", format, output);
  if (result.done) return result.exit_code;
  output.out += "Trust domain:    " + scalarText(member(&result.body, "trustDomain")) + "\n";
  output.out += "CA:              " +
                std::string(scalarText(member(&result.body, "operatorSupplied")) == "true" ? "operator-supplied"
                                                                                           : "generated") +
                "\n";
  output.out += "Rotation phase:  " + scalarText(member(&result.body, "rotationPhase")) + "\n";
  output.out += "Signer:          " + scalarText(at(&result.body, {"signer", "subject"})) + "\n\n";
  output.out += rootsTable(result.body, now);
  return kExitOk;
}

int runCaRotate(ApiTransport& api, const std::string& phase, TimePoint now, CommandOutput& output) {
  google::protobuf::Struct request;
  (*request.mutable_fields())["phase"].set_string_value(phase);
  ApiCall result = callApi(api, "POST", "/api/v1/ca/rotate", jsonBody(request), output);
  if (result.exit_code != kExitOk) return result.exit_code;
  output.out += "ca rotation: " + phase + " done (phase " + scalarText(member(&result.body, "rotationPhase")) + ")\n";
  output.out += rootsTable(result.body, now);
  return kExitOk;
}

}  // namespace remora::cli
