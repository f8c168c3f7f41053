#include "orchestrator/common/child_env.h"

#include <algorithm>
#include <array>

namespace foghorn::common {

const std::vector<std::string_view> kDefaultInheritedEnv = {"PATH",  "HOME",   "USER",   "LOGNAME",
                                                            "SHELL", "LANG",   "LC_ALL", "LC_CTYPE",
                                                            "TZ",    "TMPDIR", "TERM"};

bool IsAgentSecretEnv(std::string_view name) {
  static constexpr std::array<std::string_view, 18> kExact = {"AZURE_CLIENT_SECRET",
                                                              "AZURE_CLIENT_CERTIFICATE_PASSWORD",
                                                              "AZURE_FEDERATED_TOKEN_FILE",
                                                              "AZURE_CLIENT_CERTIFICATE_PATH",
                                                              "FOGHORN_ARM_TOKEN",
                                                              "FOGHORN_ARM_TOKEN_FILE",
                                                              "IDENTITY_HEADER",
                                                              "IDENTITY_ENDPOINT",
                                                              "MSI_SECRET",
                                                              "MSI_ENDPOINT",
                                                              "FOGHORN_TOKEN",
                                                              "FOGHORN_TOKEN_FILE",
                                                              "HTTP_PROXY",
                                                              "HTTPS_PROXY",
                                                              "ALL_PROXY",
                                                              "http_proxy",
                                                              "https_proxy",
                                                              "all_proxy"};
  if (std::find(kExact.begin(), kExact.end(), name) != kExact.end()) return true;
  return name.rfind("FOGHORN_API_", 0) == 0;
}

std::vector<std::string> ChildEnvironment(char** parent, const std::vector<std::string>& inherit,
                                          const std::map<std::string, std::string>& set) {
  std::vector<std::string> out;
  for (char** e = parent; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const std::string_view key = kv.substr(0, kv.find('='));
    if (set.count(std::string(key)) != 0 || IsAgentSecretEnv(key)) continue;
    const bool allowed = std::find(kDefaultInheritedEnv.begin(), kDefaultInheritedEnv.end(), key) !=
                             kDefaultInheritedEnv.end() ||
                         std::find(inherit.begin(), inherit.end(), key) != inherit.end();
    if (allowed) out.emplace_back(kv);
  }
  for (const auto& [k, v] : set) out.push_back(k + "=" + v);
  return out;
}

}  // namespace foghorn::common
