// Test helper: an HTTPS client for an in-process ArmSimServer, trusting its generated CA.
#ifndef FOGHORN_TESTS_TOOLS_ARMSIM_ARMSIM_TEST_CLIENT_H_
#define FOGHORN_TESTS_TOOLS_ARMSIM_ARMSIM_TEST_CLIENT_H_

#include <httplib.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tools/armsim/armsim_server.h"

namespace foghorn::armsim::testing {

inline constexpr char kSub[] = "00000000-1111-2222-3333-444444444444";
inline constexpr char kRg[] = "rg-foghorn";

// ARM path of a failover group (or the list when fg is empty) on a server of the example topology.
inline std::string FgPath(const std::string& server, const std::string& fg = "",
                          const std::string& suffix = "", const std::string& api = "2025-01-01") {
  std::string p = absl::StrCat("/subscriptions/", kSub, "/resourceGroups/", kRg,
                               "/providers/Microsoft.Sql/servers/", server, "/failoverGroups");
  if (!fg.empty()) absl::StrAppend(&p, "/", fg);
  if (!suffix.empty()) absl::StrAppend(&p, "/", suffix);
  if (!api.empty()) absl::StrAppend(&p, "?api-version=", api);
  return p;
}

// Strips scheme://host:port from an absolute URL.
inline std::string PathOf(const std::string& url) {
  auto pos = url.find("://");
  if (pos == std::string::npos) return url;
  pos = url.find('/', pos + 3);
  return pos == std::string::npos ? "/" : url.substr(pos);
}

inline std::unique_ptr<httplib::Client> NewClient(const ArmSimServer& sim) {
  auto c = std::make_unique<httplib::Client>(sim.base_url());
  if (!sim.ca_cert_path().empty()) c->set_ca_cert_path(sim.ca_cert_path().c_str());
  c->enable_server_certificate_verification(true);
  c->set_connection_timeout(5);
  c->set_read_timeout(10);
  return c;
}

inline nlohmann::json Body(const httplib::Result& r) {
  if (!r) return nullptr;
  return nlohmann::json::parse(r->body, nullptr, false);
}

inline std::string ErrorCode(const httplib::Result& r) {
  auto j = Body(r);
  if (!j.is_object() || !j.contains("error")) return "";
  return j["error"].value("code", "");
}

}  // namespace foghorn::armsim::testing

#endif  // FOGHORN_TESTS_TOOLS_ARMSIM_ARMSIM_TEST_CLIENT_H_
