// Fuzzes the control API's request decoding and bounds (orchestrator/api/request_limits.h): the
// first byte picks one of the 17 request messages of foghorn.v1.ControlService, the rest is
// decoded as that message twice, as protobuf wire format (what gRPC hands the handlers) and as
// proto3 JSON (what grpc-gateway style clients and the CLI's --json print), and each decoded
// request goes through ValidateRequest. A refusal must be INVALID_ARGUMENT with a short message;
// an accepted ValidateRunbookRequest is loaded as the server loads it. Nothing may crash, hang or
// leak.
//
// The selector's high bit (0x80) also "stretches" the decoded request before validation: every
// non-empty singular string field, and the first entry of each repeated one, is repeated up to
// 1 MiB + 1 byte. The seeds stay small while the validator sees the huge values a caller could
// send under the 2 MiB message cap (tests/fuzz/make_api_request_seeds.py writes the seeds).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "orchestrator/api/request_limits.h"
#include "runbooks/loader.h"

namespace {

namespace v1 = ::foghorn::v1;

using Requests =
    std::tuple<v1::ListGroupsRequest, v1::GetGroupRequest, v1::ListOperationsRequest,
               v1::GetOperationRequest, v1::ListDecisionsRequest, v1::RequestFailoverRequest,
               v1::CancelOperationRequest, v1::ApproveDecisionRequest, v1::RejectDecisionRequest,
               v1::PauseAutomationRequest, v1::ResumeAutomationRequest, v1::WatchRequest,
               v1::ValidateRunbookRequest, v1::StartDrillRequest, v1::CheckReadinessRequest,
               v1::ListDrillReportsRequest, v1::GetDrillReportRequest>;
constexpr std::size_t kRequestKinds = std::tuple_size_v<Requests>;
static_assert(kRequestKinds == 17, "one entry per ControlService request message");

constexpr std::uint8_t kStretchBit = 0x80;
constexpr std::size_t kStretchBytes = (1 << 20) + 1;
// A refusal message stays short whatever the request held (request_limits.h promises ~64 bytes
// of any echoed value).
constexpr std::size_t kMaxMessageBytes = 256;

std::string Repeat(const std::string& s) {
  std::string out;
  out.reserve(kStretchBytes);
  while (out.size() < kStretchBytes) out.append(s, 0, kStretchBytes - out.size());
  return out;
}

void Stretch(google::protobuf::Message& m) {
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  const google::protobuf::Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_STRING) continue;
    if (f->is_repeated()) {
      if (r->FieldSize(m, f) > 0 && !r->GetRepeatedString(m, f, 0).empty()) {
        r->SetRepeatedString(&m, f, 0, Repeat(r->GetRepeatedString(m, f, 0)));
      }
    } else if (!r->GetString(m, f).empty()) {
      r->SetString(&m, f, Repeat(r->GetString(m, f)));
    }
  }
}

// FOGHORN_FUZZ_VERBOSE=1 prints each decoded request's verdict (to check what the seeds reach).
bool Verbose() {
  static const bool verbose = std::getenv("FOGHORN_FUZZ_VERBOSE") != nullptr;
  return verbose;
}

template <typename Req>
void Check(Req& req, bool stretch, const char* how) {
  if (stretch) Stretch(req);
  const absl::Status s = foghorn::api::ValidateRequest(req);
  if (Verbose()) {
    std::fprintf(stderr, "%s %s: %s\n", Req::descriptor()->name().c_str(), how,
                 s.ToString().c_str());
  }
  if (!s.ok()) {
    if (s.code() != absl::StatusCode::kInvalidArgument) __builtin_trap();
    if (s.message().empty() || s.message().size() > kMaxMessageBytes) __builtin_trap();
    return;
  }
  if constexpr (std::is_same_v<Req, v1::ValidateRunbookRequest>) {
    // As ApiServer's ValidateRunbook does once the request passed the bounds.
    const std::string file = req.file_name().empty() ? "runbook.yaml" : req.file_name();
    foghorn::runbooks::LoadResult loaded =
        foghorn::runbooks::LoadRunbookSources({{file, req.text()}});
    for (const auto& diag : loaded.diagnostics) {
      if (diag.ToString().empty()) __builtin_trap();
    }
    if (Verbose()) {
      std::fprintf(stderr, "  loaded: %zu runbooks, %zu diagnostics\n", loaded.runbooks.size(),
                   loaded.diagnostics.size());
    }
  }
}

template <typename Req>
void Decode(const std::uint8_t* data, std::size_t size, bool stretch) {
  Req wire;
  if (wire.ParseFromArray(data, static_cast<int>(size))) Check(wire, stretch, "wire");
  Req json;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (google::protobuf::util::JsonStringToMessage(text, &json).ok()) Check(json, stretch, "json");
}

template <std::size_t... I>
void Dispatch(std::size_t kind, const std::uint8_t* data, std::size_t size, bool stretch,
              std::index_sequence<I...>) {
  ((kind == I ? Decode<std::tuple_element_t<I, Requests>>(data, size, stretch) : void()), ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // gRPC refuses anything larger before a handler runs (kMaxReceiveMessageBytes).
  if (size == 0 || size - 1 > static_cast<std::size_t>(foghorn::api::kMaxReceiveMessageBytes)) {
    return 0;
  }
  const std::size_t kind = (data[0] & ~kStretchBit) % kRequestKinds;
  const bool stretch = (data[0] & kStretchBit) != 0;
  Dispatch(kind, data + 1, size - 1, stretch, std::make_index_sequence<kRequestKinds>());
  return 0;
}
