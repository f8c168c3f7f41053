// Fuzzes the TDS PRELOGIN response parser that tcp probes with tds_prelogin run on whatever a
// listener sends back (probes/result_checks.h). Every prefix of the input is parsed too, as the
// prober parses each partial buffer. It must never crash, read out of bounds or hang; a valid
// answer must stay valid and be exactly one packet.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "probes/result_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace foghorn::probes;
  std::string_view in(reinterpret_cast<const char*>(data), size > 8192 ? 8192 : size);
  TdsPreloginReply whole = ParseTdsPreloginReply(in);
  if (whole.state == TdsParse::kValid) {
    const size_t length =
        (static_cast<unsigned char>(in[2]) << 8) | static_cast<unsigned char>(in[3]);
    if (length != in.size() || whole.version.empty()) __builtin_trap();
  }
  for (size_t n = 0; n < in.size() && n < 64; ++n) (void)ParseTdsPreloginReply(in.substr(0, n));
  return 0;
}
