#include "tools/armsim/identity_routes.h"

#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/armsim/http_front.h"

namespace foghorn::armsim {
namespace {

using nlohmann::json;

std::string UrlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> out;
  for (absl::string_view kv : absl::StrSplit(body, '&')) {
    if (kv.empty()) continue;
    std::vector<std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    out[UrlDecode(p[0])] = p.size() > 1 ? UrlDecode(p[1]) : "";
  }
  return out;
}

// An injected fault on a token route: Entra ID's answer when it is overloaded.
void SendFault(Exchange& x, const FaultSpec& f) {
  x.record.fault = FaultKindName(f.kind);
  SendJson(x.res, f.kind == FaultSpec::Kind::kHttp429 ? 429 : 500,
           {{"error", "temporarily_unavailable"}, {"error_description", "injected fault"}});
}

void ServeClientCredentials(SimContext& sim, Exchange& x, const std::string& tenant) {
  auto form = ParseForm(x.req.body);
  auto oauth_error = [&](int status, const std::string& error, const std::string& desc) {
    SendJson(x.res, status,
             {{"error", error}, {"error_description", desc}, {"error_codes", json::array()}});
  };
  if (form["grant_type"] != "client_credentials") {
    return oauth_error(400, "unsupported_grant_type",
                       "AADSTS70003: The app requested an unsupported grant type.");
  }
  const std::string& client_id = form["client_id"];
  if (client_id.empty()) {
    return oauth_error(400, "invalid_request",
                       "AADSTS900144: The request body must contain the parameter 'client_id'.");
  }
  bool has_secret = !form["client_secret"].empty();
  bool has_assertion = !form["client_assertion"].empty();
  if (!has_secret && !has_assertion) {
    return oauth_error(401, "invalid_client",
                       "AADSTS7000218: The request body must contain 'client_assertion' or "
                       "'client_secret'.");
  }
  if (!sim.clients.empty()) {
    bool ok = false;
    for (const auto& c : sim.clients) {
      if (c.tenant == tenant && c.client_id == client_id &&
          (has_assertion || c.client_secret == form["client_secret"])) {
        ok = true;
      }
    }
    if (!ok) {
      return oauth_error(401, "invalid_client",
                         "AADSTS7000215: Invalid client secret provided. Ensure the secret being "
                         "sent in the request is the client secret value.");
    }
  }
  int64_t lifetime = absl::ToInt64Seconds(sim.options.token_lifetime);
  SendJson(x.res, 200,
           {{"token_type", "Bearer"},
            {"expires_in", lifetime},
            {"ext_expires_in", lifetime},
            {"access_token", sim.tokens.Issue(client_id)}});
}

void ServeImds(SimContext& sim, Exchange& x) {
  if (!absl::EqualsIgnoreCase(x.req.get_header_value("Metadata"), "true")) {
    return SendJson(x.res, 400,
                    {{"error", "invalid_request"},
                     {"error_description", "Required metadata header not specified"}});
  }
  std::string resource = x.req.get_param_value("resource");
  if (resource.empty()) {
    return SendJson(x.res, 400,
                    {{"error", "invalid_request"},
                     {"error_description", "Required audience parameter not specified"}});
  }
  int64_t lifetime = absl::ToInt64Seconds(sim.options.token_lifetime);
  int64_t now = absl::ToUnixSeconds(sim.clock->Now());
  // The Activity Log names the managed identity: the user-assigned one asked for, else the VM's.
  std::string identity = x.req.get_param_value("client_id");
  if (identity.empty()) identity = "system-assigned-managed-identity";
  SendJson(x.res, 200,
           {{"access_token", sim.tokens.Issue(identity)},
            {"refresh_token", ""},
            {"expires_in", std::to_string(lifetime)},
            {"expires_on", std::to_string(now + lifetime)},
            {"not_before", std::to_string(now)},
            {"resource", resource},
            {"token_type", "Bearer"}});
}

void ServeOpenIdConfiguration(SimContext& sim, Exchange& x, const std::string& tenant) {
  std::string host = x.req.get_header_value("Host");
  std::string base = absl::StrCat(Scheme(sim), host, "/", tenant);
  SendJson(x.res, 200,
           {{"token_endpoint", base + "/oauth2/v2.0/token"},
            {"authorization_endpoint", base + "/oauth2/v2.0/authorize"},
            {"issuer", absl::StrCat("https://login.microsoftonline.com/", tenant, "/v2.0")},
            {"token_endpoint_auth_methods_supported",
             json::array({"client_secret_post", "private_key_jwt"})}});
}

}  // namespace

std::optional<Disposition> ServeIdentity(SimContext& sim, Exchange& x) {
  const std::vector<std::string>& s = x.segments;
  const std::string& m = x.req.method;
  if (s.size() == 4 && s[0] == "metadata" && s[1] == "identity" && s[3] == "token" && m == "GET") {
    x.record.route = "imds";
    if (auto f = sim.faults.Match("imds", m, "", "")) {
      SendFault(x, *f);
    } else {
      ServeImds(sim, x);
    }
  } else if ((s.size() == 4 && s[1] == "oauth2" && s[2] == "v2.0" && s[3] == "token") ||
             (s.size() == 3 && s[1] == "oauth2" && s[2] == "token")) {
    x.record.route = "token";
    if (m != "POST") {
      SendJson(x.res, 405, {{"error", "invalid_request"}, {"error_description", "use POST"}});
    } else if (auto f = sim.faults.Match("token", m, "", "")) {
      SendFault(x, *f);
    } else {
      ServeClientCredentials(sim, x, s[0]);
    }
  } else if (s.size() == 4 && s[1] == "v2.0" && s[2] == ".well-known" &&
             s[3] == "openid-configuration") {
    x.record.route = "token";
    ServeOpenIdConfiguration(sim, x, s[0]);
  } else {
    return std::nullopt;
  }
  return Disposition::kAnswer;
}

}  // namespace foghorn::armsim
