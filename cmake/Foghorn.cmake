# Helpers that give every foghorn target the same warnings, sanitizers and layout.

add_library(foghorn_build_flags INTERFACE)
target_compile_options(foghorn_build_flags INTERFACE -Wall -Wextra -Wpedantic -Werror=unused-result)
if(FOGHORN_WERROR)
  target_compile_options(foghorn_build_flags INTERFACE -Werror)
endif()
if(FOGHORN_SANITIZE)
  target_compile_options(foghorn_build_flags INTERFACE -fsanitize=address,undefined
                         -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(foghorn_build_flags INTERFACE -fsanitize=address,undefined)
endif()
target_include_directories(foghorn_build_flags INTERFACE ${PROJECT_SOURCE_DIR})

# foghorn_library(NAME SRCS a.cc b.cc [PUBLIC x y] [PRIVATE z] [DEPS x y])
# PUBLIC: what the library's headers include (its users get it too). PRIVATE: what only its .cc
# files use (still linked into its users, but never on their include path or in their interface).
# DEPS is the old spelling of PUBLIC. A dependency no public header includes (e.g.
# nlohmann_json, libcurl, SQLite, yaml-cpp) belongs in PRIVATE; except a header-only one whose
# compile definitions must agree across a binary (cpp-httplib's CPPHTTPLIB_OPENSSL_SUPPORT) when
# the library's users include it too (foghorn_armsim's tests and benchmarks).
function(foghorn_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;PUBLIC;PRIVATE" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "foghorn_library(${name}): unexpected arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  add_library(${name} STATIC ${ARG_SRCS})
  target_link_libraries(${name} PUBLIC foghorn_build_flags ${ARG_DEPS} ${ARG_PUBLIC})
  if(ARG_PRIVATE)
    target_link_libraries(${name} PRIVATE ${ARG_PRIVATE})
  endif()
endfunction()

# foghorn_executable(NAME SRCS main.cc DEPS x y)
function(foghorn_executable name)
  cmake_parse_arguments(ARG "" "OUTPUT_NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE foghorn_build_flags ${ARG_DEPS})
  if(ARG_OUTPUT_NAME)
    set_target_properties(${name} PROPERTIES OUTPUT_NAME ${ARG_OUTPUT_NAME})
  endif()
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
endfunction()

# foghorn_test(NAME SRCS x_test.cc DEPS x [LABELS l])
# Tests run from the build dir and find fixtures under FOGHORN_SOURCE_DIR (tests/fixtures).
function(foghorn_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE foghorn_build_flags foghorn_testing ${ARG_DEPS}
                        GTest::gmock_main)
  target_compile_definitions(${name} PRIVATE
    FOGHORN_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    FOGHORN_BINARY_DIR="${PROJECT_BINARY_DIR}")
  set(props TIMEOUT 300)
  if(ARG_LABELS)
    list(APPEND props LABELS "${ARG_LABELS}")
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ${props})
endfunction()

# foghorn_benchmark(NAME SRCS x_bench.cc DEPS x)
function(foghorn_benchmark name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE foghorn_build_flags ${ARG_DEPS} benchmark::benchmark)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
endfunction()

# foghorn_add_subdirectories(a b c): adds each listed subdirectory, in order. Every one must have
# a CMakeLists.txt: a missing part fails configure instead of silently building without it.
function(foghorn_add_subdirectories)
  foreach(d ${ARGN})
    if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${d}/CMakeLists.txt)
      message(FATAL_ERROR "${CMAKE_CURRENT_SOURCE_DIR}/${d}/CMakeLists.txt is missing: every "
                          "listed part is required")
    endif()
    add_subdirectory(${d})
  endforeach()
endfunction()

# foghorn_fuzz_target(NAME SRCS x_fuzz.cc DEPS x CORPUS dir)
# The source defines LLVMFuzzerTestOneInput. With FOGHORN_FUZZ (clang) it links libFuzzer and a
# ctest runs a short bounded fuzzing session from the corpus; otherwise it links a replay driver
# and a ctest feeds it every corpus file, so the corpus is exercised by every build.
function(foghorn_fuzz_target name)
  cmake_parse_arguments(ARG "" "CORPUS" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE foghorn_build_flags ${ARG_DEPS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/fuzz)
  if(FOGHORN_FUZZ)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    add_test(NAME fuzz.${name}
             COMMAND ${name} -runs=20000 -max_total_time=60 -rss_limit_mb=2048 ${ARG_CORPUS})
  else()
    target_sources(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cc)
    target_link_libraries(${name} PRIVATE foghorn_common)
    add_test(NAME fuzz.${name}.corpus COMMAND ${name} ${ARG_CORPUS})
  endif()
endfunction()
