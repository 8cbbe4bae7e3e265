// Test helper for store_durability_test: opens the store at argv[1] and
// creates Service objects "default/svc-N" for N = argv[2], argv[2]+1, ...
// forever, printing "ok N" only after the store acknowledged write N. The
// test SIGKILLs it mid-stream; every printed N must survive.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "control-plane/store/sqlite/sqlite_store.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: store_durability_writer DB_PATH FIRST_N\n");
    return 2;
  }
  auto store = remora::cp::store::openSqliteStore(argv[1]);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().message.c_str());
    return 1;
  }
  for (long n = std::strtol(argv[2], nullptr, 10);; ++n) {
    const std::string name = "svc-" + std::to_string(n);
    auto written = (*store)->create({"Service", "default", name}, R"({"n":)" + std::to_string(n) + "}");
    if (!written) {
      std::fprintf(stderr, "write %ld: %s\n", n, written.error().message.c_str());
      return 1;
    }
    // Unbuffered write(2) via fflush: the line exists only once acknowledged.
    std::printf("ok %ld\n", n);
    std::fflush(stdout);
  }
}
