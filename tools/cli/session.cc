#include "tools/cli/session.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "orchestrator/common/files.h"
#include "orchestrator/common/host_port.h"
#include "tools/cli/cli.h"
#include "tools/cli/output.h"

namespace foghorn::cli {
namespace {

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "invalid argument";
    case grpc::StatusCode::UNAVAILABLE:
      return "unavailable";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "deadline exceeded";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "unauthenticated";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "permission denied";
    case grpc::StatusCode::NOT_FOUND:
      return "not found";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "refused";
    case grpc::StatusCode::ABORTED:
      return "busy";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "already exists";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "not implemented";
    default:
      return "error";
  }
}

// The file's text, or INVALID_ARGUMENT worded "cannot read <what> <path>".
absl::Status ReadInto(const std::string& path, absl::string_view what, std::string* out) {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  if (!text.ok()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, path));
  *out = *std::move(text);
  return absl::OkStatus();
}

}  // namespace

int ExitFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return kExitUsage;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnavailable;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kExitAuth;
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::ALREADY_EXISTS:
      return kExitRefused;
    default:
      return kExitError;
  }
}

void Session::Configure(const Invocation& args) {
  json_ = args.ChoiceValue("output") == kOutputJson;
  timeout_ = args.Duration("timeout").value_or(absl::Seconds(30));
}

absl::Status Session::Connect(const Invocation& args) {
  addr_ = args.Text("addr").value_or("");
  token_ = args.Text("token").value_or("");
  std::string token_file = args.Text("token-file").value_or("");
  if (token_.empty() && !token_file.empty()) {
    if (absl::Status s = ReadInto(token_file, "the token file ", &token_); !s.ok()) return s;
    token_ = std::string(absl::StripAsciiWhitespace(token_));
  }
  std::string ca = args.Text("ca").value_or("");
  std::string cert = args.Text("cert").value_or("");
  std::string key = args.Text("key").value_or("");
  std::string server_name = args.Text("tls-server-name").value_or("");
  std::shared_ptr<grpc::ChannelCredentials> creds;
  grpc::ChannelArguments channel_args;
  if (!ca.empty() || !cert.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!ca.empty()) {
      if (absl::Status s = ReadInto(ca, "the CA file ", &ssl.pem_root_certs); !s.ok()) return s;
    }
    if (cert.empty() != key.empty()) {
      return absl::InvalidArgumentError("--cert and --key go together");
    }
    if (!cert.empty()) {
      if (absl::Status s = ReadInto(cert, "the certificate ", &ssl.pem_cert_chain); !s.ok()) {
        return s;
      }
      if (absl::Status s = ReadInto(key, "the key ", &ssl.pem_private_key); !s.ok()) return s;
    }
    creds = grpc::SslCredentials(ssl);
    if (!server_name.empty()) channel_args.SetSslTargetNameOverride(server_name);
  } else if (IsLoopbackTarget(addr_)) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    // Beyond loopback the bearer token must not travel in clear text: TLS with the system's
    // CA store (no --ca given).
    creds = grpc::SslCredentials(grpc::SslCredentialsOptions());
    if (!server_name.empty()) channel_args.SetSslTargetNameOverride(server_name);
  }
  stub_ = v1::ControlService::NewStub(grpc::CreateCustomChannel(addr_, creds, channel_args));
  return absl::OkStatus();
}

std::unique_ptr<grpc::ClientContext> Session::Context(bool with_deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (with_deadline) ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  if (!token_.empty()) ctx->AddMetadata("authorization", "Bearer " + token_);
  return ctx;
}

int Session::Fail(const grpc::Status& s) {
  err_ << "foghorn: " << CodeName(s.error_code()) << ": " << s.error_message() << "\n";
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    err_ << "(is foghornd running and listening on " << addr_
         << "? set --addr or FOGHORN_ADDR; for TLS set --ca)\n";
  }
  return ExitFor(s.error_code());
}

void Session::PrintJson(const google::protobuf::Message& m, bool pretty) {
  cli::PrintJson(out_, m, pretty);
}

// (cli.h) `target` ("host:port", "[v6]:port", "unix:...", "dns:///host:port") stays on this
// machine: a loopback IP literal, "localhost", or a unix socket.
bool IsLoopbackTarget(std::string target) {
  if (target.rfind("unix:", 0) == 0 || target.rfind("unix-abstract:", 0) == 0) return true;
  if (target.rfind("dns:///", 0) == 0) target = target.substr(7);
  if (target.rfind("ipv4:", 0) == 0) target = target.substr(5);
  if (target.rfind("ipv6:", 0) == 0) target = target.substr(5);
  // gRPC's default port; the port does not matter here, only a malformed target does.
  absl::StatusOr<common::HostPort> address = common::ParseHostPort(target, {.default_port = 443});
  return address.ok() && common::IsLoopbackHost(address->host);
}

}  // namespace foghorn::cli
