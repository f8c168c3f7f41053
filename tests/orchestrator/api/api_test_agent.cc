// api_test_agent: a real agent with fakes (AgentHarness) behind the control API, for clients
// written in other languages (node_client_test.js) and for trying the CLI by hand. Prints
// "PORT <n>" once serving on 127.0.0.1 and serves until its stdin closes.
//   api_test_agent [--groups N] [--approval-mode MODE]
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "tests/orchestrator/api/agent_harness.h"

int main(int argc, char** argv) {
  foghorn::testing::HarnessOptions options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--groups" && absl::SimpleAtoi(argv[i + 1], &options.groups)) continue;
    if (flag == "--approval-mode") {
      options.approval_mode = argv[i + 1];
      continue;
    }
    std::cerr << "usage: api_test_agent [--groups N] [--approval-mode MODE]\n";
    return 2;
  }
  char dir_template[] = "/tmp/foghorn-api-test-agent-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  int rc = 0;
  {
    auto harness = foghorn::testing::AgentHarness::Create(dir, options);
    if (!harness.ok()) {
      std::cerr << harness.status().ToString() << "\n";
      rc = 1;
    } else {
      std::cout << "PORT " << (*harness)->port() << std::endl;
      // Serve until the parent closes our stdin.
      for (int c = std::getchar(); c != EOF; c = std::getchar()) {
      }
      (*harness)->Shutdown();
    }
  }
  std::string cleanup = std::string("rm -rf '") + dir + "'";
  if (std::system(cleanup.c_str()) != 0) rc = rc == 0 ? 1 : rc;
  return rc;
}
