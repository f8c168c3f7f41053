// foghorn: the command line for foghornd's control API (docs/cli.md).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "foghorn_version.h"
#include "tools/cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 1 && args[0] == "--version") {
    std::cout << "foghorn " << FOGHORN_VERSION << " (commit " << FOGHORN_GIT_COMMIT << ")\n";
    return 0;
  }
  return foghorn::cli::RunCli(args, std::cout, std::cerr, [](const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return v == nullptr ? std::string() : std::string(v);
  });
}
