#include "tools/armsim/permissions.h"

#include <utility>

#include "absl/strings/ascii.h"

namespace foghorn::armsim {

bool ActionMatches(absl::string_view pattern, absl::string_view text) {
  // Greedy wildcard match with one backtrack point (the last '*' seen).
  size_t p = 0, t = 0, star = absl::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() &&
               absl::ascii_tolower(pattern[p]) == absl::ascii_tolower(text[t])) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

PermissionGrant PermissionStore::Get(const std::string& server) const {
  absl::MutexLock lock(&mu_);
  auto it = grants_.find(absl::AsciiStrToLower(server));
  return it == grants_.end() ? PermissionGrant{} : it->second;
}

void PermissionStore::Set(const std::string& server, std::optional<PermissionGrant> grant) {
  absl::MutexLock lock(&mu_);
  if (grant) {
    grants_[absl::AsciiStrToLower(server)] = *std::move(grant);
  } else {
    grants_.erase(absl::AsciiStrToLower(server));
  }
}

bool PermissionStore::Allows(const std::string& server, const std::string& action) const {
  const PermissionGrant g = Get(server);
  bool allowed = false;
  for (const std::string& a : g.actions) allowed = allowed || ActionMatches(a, action);
  for (const std::string& n : g.not_actions) allowed = allowed && !ActionMatches(n, action);
  return allowed;
}

nlohmann::json PermissionStore::ToJson() const {
  absl::MutexLock lock(&mu_);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [server, grant] : grants_) out[server] = PermissionJson(grant);
  return out;
}

nlohmann::json PermissionJson(const PermissionGrant& grant) {
  return {{"actions", grant.actions},
          {"notActions", grant.not_actions},
          {"dataActions", nlohmann::json::array()},
          {"notDataActions", nlohmann::json::array()}};
}

}  // namespace foghorn::armsim
