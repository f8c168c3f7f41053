foghorn_fuzz_target(arm_json_fuzz
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/arm_json_fuzz.cc
  DEPS foghorn_arm
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/arm_json_fuzz)
