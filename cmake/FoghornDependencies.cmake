# All third-party dependencies come from Debian 12 packages (see scripts/setup.sh).
# Imported targets only; nothing is vendored or downloaded at build time.
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)  # module mode: Debian ships no protobuf CMake config
find_package(gRPC CONFIG REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(CURL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(GTest CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
if(FOGHORN_BENCH)
  find_package(benchmark CONFIG REQUIRED)
  # Only bench/common/metrics_bench links it (the registry comparison), never the product.
  find_package(prometheus-cpp CONFIG REQUIRED)
endif()

find_program(FOGHORN_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
