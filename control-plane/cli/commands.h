// remoractl's commands, each a function of the API transport and its
// arguments that fills `CommandOutput` and returns the exit code. main.cc
// parses the command line and prints; the tests call these with a fake
// ApiTransport.
//
// Exit codes: 0 success; 1 the server refused (printed "Error from server
// (Reason): message") or a file could not be read or parsed; 2 usage (unknown
// kind, bad flag value); 3 the control plane could not be reached.
//
// Main thread of remoractl.
#pragma once

#include <string>

#include "control-plane/cli/api_client.h"
#include "control-plane/cli/manifest.h"
#include "control-plane/cli/output.h"
#include "control-plane/cli/table.h"

namespace remora::cli {

enum ExitCode : int { kExitOk = 0, kExitError = 1, kExitUsage = 2, kExitUnreachable = 3 };

struct CommandOutput {
  std::string out;  // stdout
  std::string err;  // stderr
};

// "Error from server (Conflict): metadata.resourceVersion: ..." from an
// error reply (JSON {"reason","message"} per docs/api.md; any other body is
// shown as it is, with the reason implied by the status code).
std::string serverErrorMessage(const ApiReply& reply);

// The contents of `path`, or of stdin for "-". Fails with kIo naming the file.
base::Result<std::string> readManifestFile(const std::string& path);

// apply -f: POST /api/v1/apply with every object of the manifest (one
// all-or-nothing batch), then "service/reviews created|configured|unchanged"
// per object. A server error that names "items[N].field" is followed by
// "  at FILE:LINE (kind/name)".
int runApply(ApiTransport& api, const Manifest& manifest, CommandOutput& output);

// delete -f: POST /api/v1/delete with the manifest's objects; "service/reviews deleted".
int runDeleteManifest(ApiTransport& api, const Manifest& manifest, CommandOutput& output);

// delete KIND NAME [-n NS].
int runDelete(ApiTransport& api, const std::string& kind_argument, const std::string& name,
              const std::string& namespace_, CommandOutput& output);

struct GetRequest {
  std::string kind_argument;         // as typed: "svc", "services", "Service"...
  std::string name;                  // empty: list
  std::string namespace_ = "default";
  bool all_namespaces = false;       // -A (ignored with a name)
  OutputFormat format = OutputFormat::kTable;
};

// get KIND [NAME]: a table, or the API's JSON as JSON or YAML. An empty
// table says "No resources found in NS namespace." on stderr, as kubectl does.
int runGet(ApiTransport& api, const GetRequest& request, TimePoint now, CommandOutput& output);

// One API request for the other command files (security_commands.cc): the
// parsed JSON of a 2xx reply, or the exit code with the message already
// appended to `output.err`.
struct ApiCall {
  int exit_code = kExitOk;
  JsonValue body;
};
ApiCall callApi(ApiTransport& api, std::string_view method, const std::string& path, const std::string& body,
                CommandOutput& output);
// `-o json` / `-o yaml` text of a value.
std::string formatValue(const JsonValue& value, OutputFormat format);

// GET `path` for display. With -o json|yaml (or a failure) the reply is
// printed and `done` is set; for a table the body is left to the caller.
struct Displayed {
  int exit_code = kExitOk;
  bool done = false;
  JsonValue body;
};
Displayed getForDisplay(ApiTransport& api, const std::string& path, OutputFormat format, CommandOutput& output);

// proxy-status: GET /api/v1/proxies.
int runProxyStatus(ApiTransport& api, OutputFormat format, TimePoint now, CommandOutput& output);

}  // namespace remora::cli
