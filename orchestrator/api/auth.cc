#include "orchestrator/api/auth.h"

#include <cstdlib>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "orchestrator/common/files.h"

namespace foghorn::api {

std::string RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kApprover:
      return "approver";
  }
  return "unknown";
}

namespace {

absl::StatusOr<std::string> ReadTokenValue(const v1::ApiToken& t) {
  if (!t.token_file().empty() && !t.token_env().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("api token ", t.name(), ": set token_file or token_env, not both"));
  }
  std::string value;
  if (!t.token_file().empty()) {
    absl::StatusOr<std::string> text = common::ReadFile(t.token_file());
    if (!text.ok()) {
      return absl::NotFoundError(
          absl::StrCat("api token ", t.name(), ": token_file: ", text.status().message()));
    }
    value = *std::move(text);
  } else if (!t.token_env().empty()) {
    const char* v = std::getenv(t.token_env().c_str());
    if (v == nullptr) {
      return absl::NotFoundError(absl::StrCat("api token ", t.name(), ": environment variable ",
                                              t.token_env(), " is not set"));
    }
    value = v;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("api token ", t.name(), ": token_file or token_env is required"));
  }
  value = std::string(absl::StripAsciiWhitespace(value));
  if (value.size() < 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("api token ", t.name(), ": the value must be at least 16 characters"));
  }
  return value;
}

// Constant-time equality for equal lengths; lengths are not secret.
bool SecretEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

absl::StatusOr<Authenticator> Authenticator::FromSettings(const v1::ApiSettings& settings) {
  Authenticator auth;
  std::set<std::string> names;
  std::set<std::string> values;
  for (const v1::ApiToken& t : settings.tokens()) {
    if (t.name().empty()) return absl::InvalidArgumentError("api token without a name");
    if (!names.insert(t.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("api token ", t.name(), " is defined twice"));
    }
    Role role;
    switch (t.role()) {
      case v1::API_ROLE_VIEWER:
        role = Role::kViewer;
        break;
      case v1::API_ROLE_OPERATOR:
        role = Role::kOperator;
        break;
      case v1::API_ROLE_APPROVER:
        role = Role::kApprover;
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("api token ", t.name(), ": role is required"));
    }
    absl::StatusOr<std::string> value = ReadTokenValue(t);
    if (!value.ok()) return value.status();
    if (!values.insert(*value).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("api token ", t.name(), " has the same value as another token"));
    }
    auth.tokens_.push_back({t.name(), *std::move(value), role});
  }
  return auth;
}

absl::StatusOr<Caller> Authenticator::Authenticate(absl::string_view authorization) const {
  if (tokens_.empty()) return Caller{"local", Role::kApprover};
  if (authorization.empty()) {
    return absl::UnauthenticatedError("missing bearer token (authorization: Bearer <token>)");
  }
  constexpr absl::string_view kPrefix = "Bearer ";
  if (!absl::StartsWithIgnoreCase(authorization, kPrefix)) {
    return absl::UnauthenticatedError("authorization metadata must be \"Bearer <token>\"");
  }
  absl::string_view presented = absl::StripAsciiWhitespace(authorization.substr(kPrefix.size()));
  const Token* match = nullptr;
  for (const Token& t : tokens_) {
    if (SecretEquals(presented, t.value)) match = &t;
  }
  if (match == nullptr) return absl::UnauthenticatedError("unknown bearer token");
  return Caller{match->name, match->role};
}

absl::Status Authenticator::Authorize(const Caller& caller, Role required,
                                      absl::string_view method) {
  if (static_cast<int>(caller.role) >= static_cast<int>(required)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(caller.name, " (", RoleName(caller.role),
                                                  ") may not call ", method, ": it needs the ",
                                                  RoleName(required), " role"));
}

}  // namespace foghorn::api
