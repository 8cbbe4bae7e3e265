#include "control-plane/ca/ca_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace remora::cp::ca {

namespace {

base::Failure ioError(const std::string& what, const std::string& path) {
  return base::fail(base::Error::kIo, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

base::Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ioError("read", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

base::Status writeFileAtomic(const std::string& path, const std::string& contents, unsigned mode) {
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ioError("create", temp);
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      base::Failure failure = ioError("write", temp);
      ::close(fd);
      return failure;
    }
    written += static_cast<size_t>(n);
  }
  // The mode given to open() is masked by the umask; a key must end 0600.
  const bool ok = ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return ioError("sync", temp);
  if (::rename(temp.c_str(), path.c_str()) != 0) return ioError("rename to", path);
  return base::Status::ok();
}

bool fileExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

base::Status removeFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ioError("remove", path);
  return base::Status::ok();
}

base::Status makeDirectory(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string parent = path.substr(0, slash);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) return ioError("mkdir", parent);
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return ioError("mkdir", path);
  return base::Status::ok();
}

}  // namespace remora::cp::ca
