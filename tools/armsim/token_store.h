// The bearer tokens foghorn-armsim's emulated Entra ID hands out (token endpoint, IMDS, POST
// /admin/token, ArmSimServer::IssueToken()) and that ARM strict auth checks. A token is random
// ("armsim.<48 hex digits>") and lives a fixed lifetime on the injected clock; expired tokens
// are forgotten as new ones are issued, so a long run does not grow without bound.
#ifndef FOGHORN_TOOLS_ARMSIM_TOKEN_STORE_H_
#define FOGHORN_TOOLS_ARMSIM_TOKEN_STORE_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/common/clock.h"

namespace foghorn::armsim {

class TokenStore {
 public:
  // `clock` is not owned and must outlive the store.
  TokenStore(const common::Clock* clock, absl::Duration lifetime);
  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  // A new token, valid for the lifetime from now, issued to `identity` (the client id or
  // managed identity that asked; empty for tokens handed out by the admin API). Thread-safe.
  std::string Issue(const std::string& identity = "");

  enum class Validity { kValid, kUnknown, kExpired };
  // Whether `token` was issued here and has not expired yet. Thread-safe.
  Validity Check(const std::string& token) const;
  // The identity `token` was issued to: empty if unknown or issued without one. Thread-safe.
  std::string IdentityOf(const std::string& token) const;

 private:
  const common::Clock* const clock_;
  const absl::Duration lifetime_;
  mutable absl::Mutex mu_;
  struct Issued {
    absl::Time expiry;
    std::string identity;
  };
  std::map<std::string, Issued> expiry_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_TOKEN_STORE_H_
