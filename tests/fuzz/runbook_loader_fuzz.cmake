foghorn_fuzz_target(runbook_loader_fuzz
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/runbook_loader_fuzz.cc
  DEPS foghorn_runbooks
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/runbook_loader_fuzz)
