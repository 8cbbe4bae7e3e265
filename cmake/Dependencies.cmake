# Every dependency comes from Debian 12's packages (scripts/deps.sh installs them).
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2)
# RE2 for route and header regexes: linear-time matching on untrusted input.
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
# cpp-httplib (the control plane's JSON API and remoractl): Debian's is a
# compiled library whose pkg-config flags define CPPHTTPLIB_OPENSSL_SUPPORT
# (and zlib/brotli), which every includer must agree on.
pkg_check_modules(CPP_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(OpenSSL REQUIRED)
find_package(Protobuf REQUIRED)
find_package(Threads REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(yaml-cpp REQUIRED)
if(REMORA_TESTS)
  find_package(Catch2 REQUIRED)
  include(Catch)
endif()
# gRPC C++ serves the control plane and the integration tests' reference gRPC peers.
find_package(gRPC CONFIG REQUIRED)
find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
