// Fuzzes the runbook loader: any bytes must give diagnostics or a runbook, never a crash, a hang
// or an exception. The example runbooks are the seed corpus.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runbooks/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // yaml-cpp's recursion is bounded by its depth guard; bound the input size so runs stay fast.
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  foghorn::runbooks::LoadResult result =
      foghorn::runbooks::LoadRunbookSources({{"fuzz.yaml", text}, {"fuzz2.yaml", text}});
  for (const auto& d : result.diagnostics) {
    if (d.ToString().empty()) __builtin_trap();
  }
  return 0;
}
