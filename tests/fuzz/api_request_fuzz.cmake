foghorn_fuzz_target(api_request_fuzz
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/api_request_fuzz.cc
  DEPS foghorn_api foghorn_runbooks
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/api_request_fuzz)
