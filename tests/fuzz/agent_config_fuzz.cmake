foghorn_fuzz_target(agent_config_fuzz
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/agent_config_fuzz.cc
  DEPS foghorn_agent
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/agent_config_fuzz)
