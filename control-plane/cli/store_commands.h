// remoractl's store commands (docs/remoractl.md): the whole store out to a
// JSON document and back into an empty store, for backups and for moving a
// mesh from SQLite to etcd (docs/operations.md). Functions of the API
// transport, like commands.h, so the tests drive them with a fake.
//
//   store export [-o FILE]      the document on stdout, or into FILE
//   store import -f FILE|-      "imported N objects"
//
// Main thread of remoractl.
#pragma once

#include <string>

#include "control-plane/cli/commands.h"

namespace remora::cli {

// GET /api/v1/store/export. `file` "" or "-": the document on stdout;
// otherwise it is written to FILE.tmp and renamed over FILE, so a failed
// export never leaves a truncated backup behind. A one-line summary ("exported
// N objects at revision R") goes to stderr either way.
int runStoreExport(ApiTransport& api, const std::string& file, CommandOutput& output);

// POST /api/v1/store/import with `document` (the text of `source`, which is
// only used in messages). Refuses locally what is not a StoreExport document.
int runStoreImport(ApiTransport& api, const std::string& document, const std::string& source,
                   CommandOutput& output);

}  // namespace remora::cli
