// One run of the CLI against the agent: the output streams and format, the gRPC channel with its
// credentials (bearer token, TLS, mutual TLS: never a token in clear text beyond this machine),
// a per-call context with the deadline and token, and how a failed call becomes an error line
// and an exit code (cli.h). Handlers (the *_commands.h files) get one Session.
#ifndef FOGHORN_TOOLS_CLI_SESSION_H_
#define FOGHORN_TOOLS_CLI_SESSION_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "foghorn/v1/control.grpc.pb.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "tools/cli/command_line.h"

namespace foghorn::cli {

// The exit code for a failed call's status code (cli.h, docs/cli.md).
int ExitFor(grpc::StatusCode code);

class Session {
 public:
  Session(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  // Takes the output format and timeout from the connection flags of `args` (already checked by
  // Bind). Then Connect builds the channel from --addr, --token/--token-file, --ca, --cert/--key
  // and --tls-server-name: INVALID_ARGUMENT naming the file that cannot be read, or when only
  // one of --cert and --key is given. Opens no connection yet (gRPC connects on the first call).
  void Configure(const Invocation& args);
  absl::Status Connect(const Invocation& args);

  // A context for one call: the --timeout deadline (none for streams that follow something
  // until it ends) and the bearer token.
  std::unique_ptr<grpc::ClientContext> Context(bool with_deadline = true) const;

  // Writes "foghorn: <kind>: <server message>" (and, when unreachable, where it looked) to
  // err(); returns the exit code for `s`.
  int Fail(const grpc::Status& s);

  // Protobuf JSON with the proto's field names: pretty, or one object per line.
  void PrintJson(const google::protobuf::Message& m, bool pretty = true);

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  bool json() const { return json_; }
  const std::string& addr() const { return addr_; }
  // Valid after Connect succeeded.
  v1::ControlService::Stub& stub() { return *stub_; }

 private:
  std::ostream& out_;
  std::ostream& err_;
  bool json_ = false;
  absl::Duration timeout_ = absl::Seconds(30);
  std::string addr_;
  std::string token_;
  std::unique_ptr<v1::ControlService::Stub> stub_;
};

}  // namespace foghorn::cli

#endif  // FOGHORN_TOOLS_CLI_SESSION_H_
