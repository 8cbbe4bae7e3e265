// Files of the CA's state directory (<data-dir>/ca): read whole, written
// atomically (temp file, fsync, rename) with the mode asked for, so a reader
// (gRPC's certificate watcher, a test, a bootstrap) never sees half a file and
// a key is never readable by others even for a moment. Any thread.
#pragma once

#include <string>

#include "xds/base/status.h"

namespace remora::cp::ca {

base::Result<std::string> readFile(const std::string& path);
base::Status writeFileAtomic(const std::string& path, const std::string& contents, unsigned mode = 0644);
bool fileExists(const std::string& path);
// Removing an absent file is fine.
base::Status removeFile(const std::string& path);
// mkdir -p with 0700 for the last component.
base::Status makeDirectory(const std::string& path);

}  // namespace remora::cp::ca
