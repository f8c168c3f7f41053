foghorn_fuzz_target(armsim_request_fuzz
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/armsim_request_fuzz.cc
  DEPS foghorn_armsim
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/armsim_request_fuzz)
