// foghorn: the command line for foghornd's control API (docs/cli.md).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "tools/cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return foghorn::cli::RunCli(args, std::cout, std::cerr, [](const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return v == nullptr ? std::string() : std::string(v);
  });
}
