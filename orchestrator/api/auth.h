// Bearer-token authentication and role checks for the control API. The agent's config names each
// token (the caller identity the audit trail records) and gives it a role; token values are read
// from a file or an environment variable when the server starts, never from the config itself.
// With no token configured (allowed on loopback only), every caller is the approver "local".
#ifndef FOGHORN_ORCHESTRATOR_API_AUTH_H_
#define FOGHORN_ORCHESTRATOR_API_AUTH_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "foghorn/v1/agent.pb.h"

namespace foghorn::api {

// Roles are ordered: each includes the rights of the ones below it.
enum class Role { kViewer = 1, kOperator = 2, kApprover = 3 };

std::string RoleName(Role role);

// Who is calling.
struct Caller {
  std::string name;
  Role role = Role::kViewer;
};

class Authenticator {
 public:
  // Reads every token's value (token_file: the file's content with surrounding whitespace
  // trimmed; token_env: the variable's value). INVALID_ARGUMENT when a token has no name, no
  // role, no source or both sources, when two tokens share a name or a value, or when a value is
  // empty or shorter than 16 characters; NOT_FOUND when the file or variable does not exist.
  static absl::StatusOr<Authenticator> FromSettings(const v1::ApiSettings& settings);

  // True when no token is configured (every caller is "local", an approver).
  bool open() const { return tokens_.empty(); }

  // Authenticates the value of the `authorization` metadata ("Bearer <token>"; empty when the
  // caller sent none). UNAUTHENTICATED when it is missing, malformed or unknown. Compares in
  // constant time per configured token.
  absl::StatusOr<Caller> Authenticate(absl::string_view authorization) const;

  // OK when `caller` may call a method needing `required`; PERMISSION_DENIED naming the caller,
  // its role, the method and the role it needs otherwise.
  static absl::Status Authorize(const Caller& caller, Role required, absl::string_view method);

 private:
  struct Token {
    std::string name;
    std::string value;
    Role role;
  };
  std::vector<Token> tokens_;
};

}  // namespace foghorn::api

#endif  // FOGHORN_ORCHESTRATOR_API_AUTH_H_
