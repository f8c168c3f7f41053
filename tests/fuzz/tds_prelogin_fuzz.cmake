foghorn_fuzz_target(tds_prelogin_fuzz
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/tds_prelogin_fuzz.cc
  DEPS foghorn_probes
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/tds_prelogin_fuzz)
