#include "control-plane/cli/store_commands.h"

#include <cstdio>
#include <fstream>

namespace remora::cli {

namespace {

constexpr std::string_view kDocumentKind = "StoreExport";

std::string objectCount(const JsonValue& document) {
  const size_t count = static_cast<size_t>(listItems(member(&document, "objects")).size());
  return std::to_string(count) + (count == 1 ? " object" : " objects");
}

// Writes next to `path` and renames: readers of `path` see the old backup
// or the whole new one, never half of it.
base::Status writeWhole(const std::string& path, const std::string& text) {
  const std::string partial = path + ".tmp";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) return base::fail(base::Error::kIo, "error: cannot write " + partial);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      std::remove(partial.c_str());
      return base::fail(base::Error::kIo, "error: writing " + partial + " failed (disk full?)");
    }
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    return base::fail(base::Error::kIo, "error: cannot rename " + partial + " to " + path);
  }
  return base::Status::ok();
}

}  // namespace

int runStoreExport(ApiTransport& api, const std::string& file, CommandOutput& output) {
  base::Result<ApiReply> reply = api.send("GET", "/api/v1/store/export", "");
  if (!reply) {
    output.err += reply.error().message + "\n";
    return reply.error().code == base::Error::kConnectFailed ? kExitUnreachable : kExitError;
  }
  if (reply->status < 200 || reply->status >= 300) {
    output.err += serverErrorMessage(*reply) + "\n";
    return kExitError;
  }
  // Checked before anything is written: a proxy's error page must not
  // become someone's backup.
  base::Result<JsonValue> document = parseJson(reply->body);
  if (!document || scalarText(member(&*document, "kind")) != kDocumentKind) {
    output.err += "error: the server's answer to GET /api/v1/store/export is not a StoreExport document\n";
    return kExitError;
  }
  const std::string summary =
      "exported " + objectCount(*document) + " at revision " + scalarText(member(&*document, "revision"));
  if (file.empty() || file == "-") {
    output.out += reply->body;
    output.err += summary + "\n";
    return kExitOk;
  }
  if (base::Status written = writeWhole(file, reply->body); !written) {
    output.err += written.message() + "\n";
    return kExitError;
  }
  output.err += summary + " to " + file + "\n";
  return kExitOk;
}

int runStoreImport(ApiTransport& api, const std::string& document, const std::string& source,
                   CommandOutput& output) {
  base::Result<JsonValue> parsed = parseJson(document);
  if (!parsed) {
    output.err += "error: " + source + " is not JSON: " + parsed.error().message + "\n";
    return kExitError;
  }
  if (scalarText(member(&*parsed, "kind")) != kDocumentKind) {
    output.err += "error: " + source + " is not a store export (kind is not " + std::string(kDocumentKind) +
                  "; make one with `remoractl store export`)\n";
    return kExitError;
  }
  ApiCall result = callApi(api, "POST", "/api/v1/store/import", document, output);
  if (result.exit_code != kExitOk) return result.exit_code;
  const std::string count = scalarText(member(&result.body, "imported"));
  output.out += "imported " + count + (count == "1" ? " object" : " objects") + " (store revision " +
                scalarText(member(&result.body, "revision")) + ")\n";
  return kExitOk;
}

}  // namespace remora::cli
