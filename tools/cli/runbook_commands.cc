#include "tools/cli/runbook_commands.h"

#include "orchestrator/common/files.h"
#include "tools/cli/cli.h"

namespace foghorn::cli {

int RunbookValidateCommand(Session& session, const Invocation& args) {
  std::ostream& out = session.out();
  int rc = kExitOk;
  for (const std::string& file : args.Args("file")) {
    absl::StatusOr<std::string> text = common::ReadFile(file);
    if (!text.ok()) {
      session.err() << "foghorn: cannot read " << file << "\n";
      rc = kExitUsage;
      continue;
    }
    v1::ValidateRunbookRequest req;
    req.set_file_name(file);
    req.set_text(*std::move(text));
    v1::ValidateRunbookResponse r;
    grpc::Status s = session.stub().ValidateRunbook(session.Context().get(), req, &r);
    if (!s.ok()) return session.Fail(s);
    if (session.json()) {
      session.PrintJson(r, /*pretty=*/false);
    } else if (r.valid()) {
      out << file << ": ok (" << r.group_id() << ")\n";
    } else {
      for (const auto& d : r.diagnostics()) {
        out << d.file();
        if (d.line() > 0) out << ":" << d.line() << ":" << d.column();
        out << ": " << (d.field_path().empty() ? "" : d.field_path() + ": ") << d.message() << "\n";
      }
    }
    if (!r.valid() && rc == kExitOk) rc = kExitFailed;
  }
  return rc;
}

}  // namespace foghorn::cli
