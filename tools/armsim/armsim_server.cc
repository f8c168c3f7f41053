#include "tools/armsim/armsim_server.h"

#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <deque>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "tools/armsim/certificate.h"
#include "tools/armsim/data_plane.h"
#include "tools/armsim/topology.h"

namespace foghorn::armsim {
namespace {

using nlohmann::json;

// api-versions of Microsoft.Sql failoverGroups (arm-research.md 1.1).
const std::set<std::string>& ApiVersions() {
  static const auto* v = new std::set<std::string>{
      "2015-05-01-preview", "2020-02-02-preview", "2020-08-01-preview", "2020-11-01-preview",
      "2021-02-01-preview", "2021-05-01-preview", "2021-08-01-preview", "2021-11-01-preview",
      "2021-11-01",         "2022-02-01-preview", "2022-05-01-preview", "2022-08-01-preview",
      "2022-11-01-preview", "2023-02-01-preview", "2023-05-01-preview", "2023-08-01-preview",
      "2023-08-01",         "2024-05-01-preview", "2024-11-01-preview", "2025-01-01",
      "2025-02-01-preview", "2025-08-01-preview"};
  return *v;
}

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1) {
    thread_local std::mt19937_64 rng(std::random_device{}());
    for (auto& b : buf) b = static_cast<unsigned char>(rng());
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : buf) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

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

std::string FaultKindName(FaultSpec::Kind k) {
  switch (k) {
    case FaultSpec::Kind::kHttp429:
      return "429";
    case FaultSpec::Kind::kHttp500:
      return "500";
    case FaultSpec::Kind::kHttp503:
      return "503";
    case FaultSpec::Kind::kHttp504:
      return "504";
    case FaultSpec::Kind::kLatency:
      return "latency";
    case FaultSpec::Kind::kResetBefore:
      return "reset_before";
    case FaultSpec::Kind::kResetAfter:
      return "reset_after";
    case FaultSpec::Kind::kFailOperation:
      return "fail_operation";
  }
  return "unknown";
}

// Finds the socket of a plain-HTTP connection by its ports (httplib does not expose it).
int FindSocket(int local_port, int remote_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (dirent* e = readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (fd <= 2) continue;
    sockaddr_storage local{}, peer{};
    socklen_t ll = sizeof(local), pl = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0) continue;
    if (local.ss_family != AF_INET || peer.ss_family != AF_INET) continue;
    if (ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port) == local_port &&
        ntohs(reinterpret_cast<sockaddr_in*>(&peer)->sin_port) == remote_port) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

void DropConnection(const httplib::Request& req) {
  int fd = req.ssl != nullptr ? SSL_get_fd(req.ssl) : FindSocket(req.local_port, req.remote_port);
  if (fd < 0) return;
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  shutdown(fd, SHUT_RDWR);
}

struct Bucket {
  double tokens;
  absl::Time last;
};

struct ActiveFault {
  int id;
  FaultSpec spec;
  std::mt19937_64 rng;
  int hits = 0;
};

}  // namespace

json RequestRecord::ToJson() const {
  json j = {{"ts", FormatArmTime(time)},
            {"tsUnixMs", absl::ToUnixMillis(time)},
            {"method", method},
            {"path", path},
            {"route", route},
            {"status", status},
            {"requestId", request_id}};
  if (!server.empty()) j["server"] = server;
  if (!failover_group.empty()) j["failoverGroup"] = failover_group;
  if (accepted_operation) {
    j["acceptedOperation"] = true;
    j["operationId"] = operation_id;
  }
  if (!fault.empty()) j["fault"] = fault;
  if (!client_request_id.empty()) j["clientRequestId"] = client_request_id;
  return j;
}

absl::StatusOr<FaultSpec> ParseFault(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("fault: must be a JSON object");
  FaultSpec f;
  auto kind = j.find("kind");
  if (kind == j.end()) return absl::InvalidArgumentError("fault.kind: missing");
  std::string k = kind->is_number_integer() ? std::to_string(kind->get<int>())
                  : kind->is_string()       ? kind->get<std::string>()
                                            : "";
  static const std::map<std::string, FaultSpec::Kind> kinds = {
      {"429", FaultSpec::Kind::kHttp429},
      {"500", FaultSpec::Kind::kHttp500},
      {"503", FaultSpec::Kind::kHttp503},
      {"504", FaultSpec::Kind::kHttp504},
      {"latency", FaultSpec::Kind::kLatency},
      {"reset_before", FaultSpec::Kind::kResetBefore},
      {"reset_after", FaultSpec::Kind::kResetAfter},
      {"fail_operation", FaultSpec::Kind::kFailOperation}};
  auto it = kinds.find(k);
  if (it == kinds.end()) return absl::InvalidArgumentError("fault.kind: unknown '" + k + "'");
  f.kind = it->second;
  auto str = [&](const char* key, std::string* out) -> absl::Status {
    auto v = j.find(key);
    if (v == j.end()) return absl::OkStatus();
    if (!v->is_string()) return absl::InvalidArgumentError(absl::StrCat("fault.", key, ": string"));
    *out = v->get<std::string>();
    return absl::OkStatus();
  };
  for (auto [key, out] :
       std::vector<std::pair<const char*, std::string*>>{{"route", &f.route},
                                                         {"method", &f.method},
                                                         {"server", &f.server},
                                                         {"failoverGroup", &f.failover_group},
                                                         {"errorCode", &f.error_code},
                                                         {"errorMessage", &f.error_message}}) {
    if (auto s = str(key, out); !s.ok()) return s;
  }
  if (auto v = j.find("count"); v != j.end()) {
    if (!v->is_number_integer()) return absl::InvalidArgumentError("fault.count: integer");
    f.count = v->get<int>();
  }
  if (auto v = j.find("probability"); v != j.end()) {
    if (!v->is_number() || v->get<double>() < 0 || v->get<double>() > 1) {
      return absl::InvalidArgumentError("fault.probability: number in [0,1]");
    }
    f.probability = v->get<double>();
  }
  if (auto v = j.find("seed"); v != j.end()) {
    if (!v->is_number_unsigned()) return absl::InvalidArgumentError("fault.seed: unsigned");
    f.seed = v->get<uint64_t>();
  }
  if (auto v = j.find("latencyMs"); v != j.end()) {
    if (!v->is_number() || v->get<double>() < 0 || v->get<double>() > 600000) {
      return absl::InvalidArgumentError("fault.latencyMs: number in [0,600000]");
    }
    f.latency = absl::Milliseconds(v->get<double>());
  }
  if (auto v = j.find("retryAfterSeconds"); v != j.end()) {
    if (!v->is_number_integer()) return absl::InvalidArgumentError("fault.retryAfterSeconds");
    f.retry_after_seconds = v->get<int>();
  }
  return f;
}

absl::StatusOr<RegionOutage> ParseOutage(const json& j) {
  RegionOutage o;
  if (j.is_null()) return o;
  if (!j.is_object()) return absl::InvalidArgumentError("outage: must be a JSON object");
  if (auto v = j.find("controlPlane"); v != j.end()) {
    if (!v->is_boolean()) return absl::InvalidArgumentError("outage.controlPlane: boolean");
    o.control_plane = v->get<bool>();
  }
  if (auto v = j.find("dataPlane"); v != j.end()) {
    if (!v->is_boolean()) return absl::InvalidArgumentError("outage.dataPlane: boolean");
    o.data_plane = v->get<bool>();
  }
  if (auto v = j.find("mode"); v != j.end()) {
    std::string m = v->is_string() ? v->get<std::string>() : "";
    if (m == "refuse") {
      o.mode = OutageMode::kRefuse;
    } else if (m == "blackhole") {
      o.mode = OutageMode::kBlackhole;
    } else {
      return absl::InvalidArgumentError("outage.mode: refuse or blackhole");
    }
  }
  return o;
}

class ArmSimServer::Impl {
 public:
  explicit Impl(ArmSimOptions o) : options(std::move(o)) {}

  ArmSimOptions options;
  std::unique_ptr<Emulator> emulator;
  std::unique_ptr<DataPlane> data_plane;
  std::unique_ptr<httplib::Server> http;
  std::thread thread;
  int port = 0;
  std::string ca_path;
  std::vector<ClientSpec> clients;
  const common::Clock* clock = nullptr;
  common::RealClock real_clock;
  std::atomic<bool> strict_auth{false};
  std::atomic<bool> throttling{false};

  mutable absl::Mutex mu;
  bool shutdown ABSL_GUARDED_BY(mu) = false;
  int64_t region_epoch ABSL_GUARDED_BY(mu) = 0;
  std::map<std::string, absl::Time> tokens ABSL_GUARDED_BY(mu);
  std::map<std::string, std::array<Bucket, 3>> buckets ABSL_GUARDED_BY(mu);
  std::vector<ActiveFault> faults ABSL_GUARDED_BY(mu);
  int next_fault_id ABSL_GUARDED_BY(mu) = 1;
  std::deque<RequestRecord> log ABSL_GUARDED_BY(mu);
  std::ofstream log_file ABSL_GUARDED_BY(mu);
  int64_t accepted_failovers ABSL_GUARDED_BY(mu) = 0;
  std::map<std::string, int64_t> accepted_by_group ABSL_GUARDED_BY(mu);

  absl::Time Now() const { return clock->Now(); }

  void Handle(const httplib::Request& req, httplib::Response& res);
  void HandleArm(const httplib::Request& req, httplib::Response& res, RequestRecord& rec,
                 const std::vector<std::string>& segs, bool* drop);
  void HandleAdmin(const httplib::Request& req, httplib::Response& res,
                   const std::vector<std::string>& segs);
  void HandleToken(const httplib::Request& req, httplib::Response& res, const std::string& tenant);
  void HandleImds(const httplib::Request& req, httplib::Response& res);
  std::optional<FaultSpec> MatchFault(const std::string& route, const httplib::Request& req,
                                      const std::string& server, const std::string& fg);
  std::string IssueToken();
  void Log(RequestRecord rec);
  void WaitBlackhole(const std::string& region);
  void RegionChanged() {
    absl::MutexLock lock(&mu);
    ++region_epoch;
  }
};

namespace {

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json; charset=utf-8");
}

void SendArm(httplib::Response& res, const ArmResponse& r) {
  res.status = r.status;
  for (const auto& [k, v] : r.headers) res.set_header(k, v);
  if (r.body) {
    res.set_content(r.body->dump(), "application/json; charset=utf-8");
  } else {
    res.body.clear();
  }
}

}  // namespace

std::string ArmSimServer::Impl::IssueToken() {
  std::string token = absl::StrCat("armsim.", RandomHex(24));
  absl::MutexLock lock(&mu);
  absl::Time now = Now();
  // Forget expired tokens so a long run does not grow without bound.
  for (auto it = tokens.begin(); it != tokens.end();) {
    it = it->second < now ? tokens.erase(it) : std::next(it);
  }
  tokens[token] = now + options.token_lifetime;
  return token;
}

void ArmSimServer::Impl::Log(RequestRecord rec) {
  absl::MutexLock lock(&mu);
  if (rec.accepted_operation &&
      (rec.route == "failover" || rec.route == "forceFailoverAllowDataLoss" ||
       rec.route == "tryPlannedBeforeForcedFailover")) {
    ++accepted_failovers;
    ++accepted_by_group[rec.failover_group];
  }
  if (log_file.is_open()) {
    log_file << rec.ToJson().dump() << "\n";
    log_file.flush();
  }
  log.push_back(std::move(rec));
  while (log.size() > options.request_log_memory) log.pop_front();
}

void ArmSimServer::Impl::WaitBlackhole(const std::string& region) {
  absl::Time deadline = absl::Now() + options.blackhole_timeout;
  while (absl::Now() < deadline) {
    auto down = emulator->RegionDown(region);
    if (!down || !down->control_plane || down->mode != OutageMode::kBlackhole) return;
    absl::MutexLock lock(&mu);
    int64_t epoch = region_epoch;
    auto changed = [this, epoch]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return shutdown || region_epoch != epoch;
    };
    mu.AwaitWithDeadline(absl::Condition(&changed), deadline);
    if (shutdown) return;
  }
}

std::optional<FaultSpec> ArmSimServer::Impl::MatchFault(const std::string& route,
                                                        const httplib::Request& req,
                                                        const std::string& server,
                                                        const std::string& fg) {
  absl::MutexLock lock(&mu);
  bool is_arm = route != "token" && route != "imds";
  for (auto& f : faults) {
    const FaultSpec& s = f.spec;
    if (s.count >= 0 && f.hits >= s.count) continue;
    if (s.route != "any" && s.route != route && !(s.route == "arm" && is_arm)) continue;
    if (!s.method.empty() && !absl::EqualsIgnoreCase(s.method, req.method)) continue;
    if (!s.server.empty() && s.server != server) continue;
    if (!s.failover_group.empty() && s.failover_group != fg) continue;
    if (s.probability < 1.0) {
      std::uniform_real_distribution<double> dist(0.0, 1.0);
      if (dist(f.rng) >= s.probability) continue;
    }
    ++f.hits;
    return s;
  }
  return std::nullopt;
}

void ArmSimServer::Impl::HandleToken(const httplib::Request& req, httplib::Response& res,
                                     const std::string& tenant) {
  auto form = ParseForm(req.body);
  auto oauth_error = [&](int status, const std::string& error, const std::string& desc) {
    SendJson(res, status,
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
  if (!clients.empty()) {
    bool ok = false;
    for (const auto& c : clients) {
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
  int64_t lifetime = absl::ToInt64Seconds(options.token_lifetime);
  SendJson(res, 200,
           {{"token_type", "Bearer"},
            {"expires_in", lifetime},
            {"ext_expires_in", lifetime},
            {"access_token", IssueToken()}});
}

void ArmSimServer::Impl::HandleImds(const httplib::Request& req, httplib::Response& res) {
  if (!absl::EqualsIgnoreCase(req.get_header_value("Metadata"), "true")) {
    return SendJson(res, 400,
                    {{"error", "invalid_request"},
                     {"error_description", "Required metadata header not specified"}});
  }
  std::string resource = req.get_param_value("resource");
  if (resource.empty()) {
    return SendJson(res, 400,
                    {{"error", "invalid_request"},
                     {"error_description", "Required audience parameter not specified"}});
  }
  int64_t lifetime = absl::ToInt64Seconds(options.token_lifetime);
  int64_t now = absl::ToUnixSeconds(Now());
  SendJson(res, 200,
           {{"access_token", IssueToken()},
            {"refresh_token", ""},
            {"expires_in", std::to_string(lifetime)},
            {"expires_on", std::to_string(now + lifetime)},
            {"not_before", std::to_string(now)},
            {"resource", resource},
            {"token_type", "Bearer"}});
}

void ArmSimServer::Impl::HandleArm(const httplib::Request& req, httplib::Response& res,
                                   RequestRecord& rec, const std::vector<std::string>& s,
                                   bool* drop) {
  auto eq = [](const std::string& a, const char* b) { return absl::EqualsIgnoreCase(a, b); };
  ArmRequest ar;
  bool matched = false;
  const std::string& m = req.method;
  // /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/{srv}/failoverGroups...
  if (s.size() >= 9 && eq(s[2], "resourceGroups") && eq(s[4], "providers") &&
      eq(s[5], "Microsoft.Sql") && eq(s[6], "servers") && eq(s[8], "failoverGroups")) {
    ar.subscription = s[1];
    ar.resource_group = s[3];
    ar.server = s[7];
    if (s.size() == 9 && m == "GET") {
      ar.route = ArmRoute::kList;
      matched = true;
    } else if (s.size() == 10) {
      ar.failover_group = s[9];
      matched = true;
      if (m == "GET") {
        ar.route = ArmRoute::kGet;
      } else if (m == "PUT") {
        ar.route = ArmRoute::kPut;
      } else if (m == "PATCH") {
        ar.route = ArmRoute::kPatch;
      } else if (m == "DELETE") {
        ar.route = ArmRoute::kDelete;
      } else {
        matched = false;
      }
    } else if (s.size() == 11 && m == "POST") {
      ar.failover_group = s[9];
      matched = true;
      if (eq(s[10], "failover")) {
        ar.route = ArmRoute::kFailover;
      } else if (eq(s[10], "forceFailoverAllowDataLoss")) {
        ar.route = ArmRoute::kForceFailover;
      } else if (eq(s[10], "tryPlannedBeforeForcedFailover")) {
        ar.route = ArmRoute::kTryPlannedBeforeForcedFailover;
      } else {
        matched = false;
      }
    }
  } else {
    // Status URLs, subscription-scoped (real service) or resource-group-scoped (swagger example).
    size_t off = (s.size() >= 4 && eq(s[2], "resourceGroups")) ? 2 : 0;
    if (s.size() == 8 + off && eq(s[2 + off], "providers") && eq(s[3 + off], "Microsoft.Sql") &&
        eq(s[4 + off], "locations") && m == "GET") {
      ar.subscription = s[1];
      ar.region = s[5 + off];
      ar.operation_id = s[7 + off];
      if (eq(s[6 + off], "failoverGroupAzureAsyncOperation")) {
        ar.route = ArmRoute::kAsyncOperation;
        matched = true;
      } else if (eq(s[6 + off], "failoverGroupOperationResults")) {
        ar.route = ArmRoute::kOperationResult;
        matched = true;
      }
    }
  }
  if (!matched) {
    rec.route = "unknown";
    SendArm(res, ArmError(404, "NotFound",
                          absl::StrCat("No route matches ", req.method, " ", req.path, ".")));
    return;
  }
  rec.route = RouteName(ar.route);
  rec.server = ar.server;
  rec.failover_group = ar.failover_group;

  // Auth before anything else, as ARM does.
  if (strict_auth) {
    std::string auth = req.get_header_value("Authorization");
    std::string code, message;
    if (!absl::StartsWithIgnoreCase(auth, "Bearer ")) {
      code = "AuthenticationFailed";
      message = "Authentication failed. The 'Authorization' header is missing.";
    } else {
      std::string token(absl::StripAsciiWhitespace(auth.substr(7)));
      absl::MutexLock lock(&mu);
      auto it = tokens.find(token);
      if (it == tokens.end()) {
        code = "InvalidAuthenticationToken";
        message = "The access token is invalid.";
      } else if (it->second < Now()) {
        code = "ExpiredAuthenticationToken";
        message = "The access token expiry UTC time is earlier than current UTC time.";
      }
    }
    if (!code.empty()) {
      res.set_header("WWW-Authenticate",
                     absl::StrCat("Bearer authorization_uri=\"",
                                  "https://login.microsoftonline.com/"
                                  "common\", error=\"invalid_token\", error_description=\"",
                                  message, "\""));
      SendArm(res, ArmError(401, code, message));
      return;
    }
  }

  if (!req.has_param("api-version")) {
    SendArm(res, ArmError(400, "MissingApiVersionParameter",
                          "The api-version query parameter (?api-version=) is required for all "
                          "requests."));
    return;
  }
  ar.api_version = req.get_param_value("api-version");
  if (ApiVersions().count(ar.api_version) == 0) {
    SendArm(res, ArmError(400, "InvalidApiVersionParameter",
                          absl::StrCat("The api-version '", ar.api_version,
                                       "' is invalid. The supported versions are '",
                                       absl::StrJoin(ApiVersions(), ","), "'.")));
    return;
  }

  // Throttling: one bucket per subscription and kind.
  int kind = m == "GET" ? 0 : m == "DELETE" ? 2 : 1;
  static const char* kKindNames[] = {"reads", "writes", "deletes"};
  {
    absl::MutexLock lock(&mu);
    double caps[] = {options.read_bucket, options.write_bucket, options.delete_bucket};
    double refill[] = {options.read_refill_per_second, options.write_refill_per_second,
                       options.delete_refill_per_second};
    absl::Time now = Now();
    auto [it, inserted] = buckets.try_emplace(ar.subscription);
    if (inserted) {
      for (int i = 0; i < 3; ++i) it->second[i] = {caps[i], now};
    }
    Bucket& b = it->second[kind];
    b.tokens = std::min(caps[kind], b.tokens + refill[kind] * absl::ToDoubleSeconds(now - b.last));
    b.last = now;
    bool throttle = throttling && b.tokens < 1.0;
    if (!throttle && throttling) b.tokens -= 1.0;
    res.set_header(absl::StrCat("x-ms-ratelimit-remaining-subscription-", kKindNames[kind]),
                   std::to_string(static_cast<int64_t>(std::max(0.0, std::floor(b.tokens)))));
    if (throttle) {
      double wait = refill[kind] > 0 ? (1.0 - b.tokens) / refill[kind] : 60;
      res.set_header("Retry-After", std::to_string(std::max<int64_t>(1, std::ceil(wait))));
      SendArm(res, ArmError(429, "SubscriptionRequestsThrottled",
                            absl::StrCat("Number of '", kKindNames[kind],
                                         "' requests for subscription '", ar.subscription,
                                         "' exceeded the limit.")));
      rec.fault = "throttled";
      return;
    }
  }

  bool reset_after = false;
  if (auto fault = MatchFault(rec.route, req, ar.server, ar.failover_group)) {
    rec.fault = FaultKindName(fault->kind);
    switch (fault->kind) {
      case FaultSpec::Kind::kHttp429:
        res.set_header("Retry-After", std::to_string(fault->retry_after_seconds));
        SendArm(res, ArmError(429, "SubscriptionTooManyRequests",
                              "Requests beyond max requests that can be processed by available "
                              "resources."));
        return;
      case FaultSpec::Kind::kHttp500:
        SendArm(res, ArmError(500, "OperationTimedOut",
                              "The operation timed out and automatically rolled back. Please "
                              "retry the operation."));
        return;
      case FaultSpec::Kind::kHttp503:
        SendArm(res, ArmError(503, "ServiceUnavailable",
                              "The server is currently unable to handle the request."));
        return;
      case FaultSpec::Kind::kHttp504:
        SendArm(res, ArmError(504, "GatewayTimeout",
                              "The gateway did not receive a response from 'Microsoft.Sql' within "
                              "the specified time period."));
        return;
      case FaultSpec::Kind::kLatency:
        std::this_thread::sleep_for(absl::ToChronoMilliseconds(fault->latency));
        break;
      case FaultSpec::Kind::kResetBefore:
        *drop = true;
        return;
      case FaultSpec::Kind::kResetAfter:
        reset_after = true;
        break;
      case FaultSpec::Kind::kFailOperation:
        ar.forced_failure = std::make_pair(fault->error_code, fault->error_message);
        break;
    }
  }

  ar.body = req.body;
  std::string host = req.get_header_value("Host");
  if (host.empty()) host = absl::StrCat("127.0.0.1:", port);
  ar.base_url = absl::StrCat(options.tls ? "https://" : "http://", host);
  ar.skip_token = req.get_param_value("$skiptoken");
  ArmResponse resp = emulator->Handle(ar);
  if (resp.blackhole) {
    rec.fault = "blackhole";
    std::string region = ar.region.empty() ? emulator->ServerRegion(ar.server) : ar.region;
    WaitBlackhole(region);
    *drop = true;
    return;
  }
  rec.accepted_operation = resp.accepted_operation;
  rec.operation_id = resp.operation_id;
  SendArm(res, resp);
  if (reset_after) *drop = true;
}

void ArmSimServer::Impl::HandleAdmin(const httplib::Request& req, httplib::Response& res,
                                     const std::vector<std::string>& s) {
  const std::string& m = req.method;
  json body = json::object();
  if (!req.body.empty()) {
    body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) {
      return SendJson(res, 400, {{"error", {{"code", "InvalidJson"}, {"message", "bad JSON"}}}});
    }
  }
  auto fail = [&](const absl::Status& st) {
    int code = st.code() == absl::StatusCode::kNotFound             ? 404
               : st.code() == absl::StatusCode::kFailedPrecondition ? 409
               : st.code() == absl::StatusCode::kUnavailable        ? 503
                                                                    : 400;
    SendJson(res, code,
             {{"error",
               {{"code", absl::StatusCodeToString(st.code())},
                {"message", std::string(st.message())}}}});
  };
  auto ok = [&](json j = json::object()) { SendJson(res, 200, j); };
  ArmSimServer* unused = nullptr;
  (void)unused;
  size_t n = s.size();
  if (n == 2 && s[1] == "state" && m == "GET") return ok(emulator->StateJson());
  if (n == 4 && s[1] == "regions" && m == "POST" && (s[3] == "down" || s[3] == "up")) {
    if (s[3] == "up") {
      emulator->SetRegionUp(s[2]);
    } else {
      auto outage = ParseOutage(body.empty() ? json() : body);
      if (!outage.ok()) return fail(outage.status());
      emulator->SetRegionDown(s[2], *outage);
    }
    RegionChanged();
    if (data_plane) data_plane->ReconcileNow();
    return ok();
  }
  if (n == 2 && s[1] == "faults") {
    if (m == "GET") {
      absl::MutexLock lock(&mu);
      json out = json::array();
      for (const auto& f : faults) {
        out.push_back({{"id", f.id},
                       {"kind", FaultKindName(f.spec.kind)},
                       {"route", f.spec.route},
                       {"count", f.spec.count},
                       {"hits", f.hits}});
      }
      return ok(out);
    }
    if (m == "POST") {
      auto f = ParseFault(body);
      if (!f.ok()) return fail(f.status());
      absl::MutexLock lock(&mu);
      int id = next_fault_id++;
      faults.push_back({id, *f, std::mt19937_64(f->seed), 0});
      return ok({{"id", id}});
    }
    if (m == "DELETE") {
      absl::MutexLock lock(&mu);
      faults.clear();
      return ok();
    }
  }
  if (n == 3 && s[1] == "faults" && m == "DELETE") {
    int id = 0;
    if (!absl::SimpleAtoi(s[2], &id)) return fail(absl::InvalidArgumentError("bad fault id"));
    absl::MutexLock lock(&mu);
    faults.erase(std::remove_if(faults.begin(), faults.end(),
                                [id](const ActiveFault& f) { return f.id == id; }),
                 faults.end());
    return ok();
  }
  if (n == 4 && s[1] == "operations" && s[3] == "fail" && m == "POST") {
    std::string code = body.value("code", "OperationTimedOut");
    std::string message = body.value("message", "The operation was failed by the emulator.");
    bool canceled = body.value("canceled", false);
    auto st = emulator->FailOperation(s[2], code, message, canceled);
    if (!st.ok()) return fail(st);
    return ok();
  }
  if (n == 4 && s[1] == "failoverGroups") {
    const std::string& fg = s[2];
    if (s[3] == "writes" && m == "POST") {
      int64_t count = body.contains("count") && body["count"].is_number_integer()
                          ? body["count"].get<int64_t>()
                          : 1;
      if (count < 0 || count > 10000000) return fail(absl::InvalidArgumentError("bad count"));
      auto st = emulator->RecordWrites(fg, count);
      if (!st.ok()) return fail(st);
      return ok();
    }
    if (s[3] == "replication" && m == "GET") {
      auto info = emulator->Replication(fg);
      if (!info.ok()) return fail(info.status());
      return ok({{"failoverGroup", info->failover_group},
                 {"primary", info->primary},
                 {"secondary", info->secondary},
                 {"writesTotal", info->writes_total},
                 {"writesReplicated", info->writes_replicated},
                 {"writesPending", info->writes_pending},
                 {"writesLost", info->writes_lost},
                 {"replicationLagSeconds", info->lag_seconds},
                 {"configuredLagSeconds", info->configured_lag_seconds}});
    }
    if (s[3] == "lag" && (m == "PUT" || m == "POST")) {
      if (!body.contains("seconds") || !body["seconds"].is_number()) {
        return fail(absl::InvalidArgumentError("seconds: number"));
      }
      auto st = emulator->SetReplicationLag(fg, absl::Seconds(body["seconds"].get<double>()));
      if (!st.ok()) return fail(st);
      return ok();
    }
  }
  if (n == 2 && s[1] == "config" && (m == "PUT" || m == "POST")) {
    if (auto v = body.find("operationDurationMs"); v != body.end() && v->is_number()) {
      emulator->SetOperationDuration(absl::Milliseconds(v->get<double>()));
    }
    if (auto v = body.find("retryAfterSeconds"); v != body.end()) {
      emulator->SetRetryAfter(v->is_number() ? std::optional(absl::Seconds(v->get<double>()))
                                             : std::nullopt);
    }
    if (auto v = body.find("throttling"); v != body.end() && v->is_boolean()) {
      throttling = v->get<bool>();
    }
    if (auto v = body.find("strictAuth"); v != body.end() && v->is_boolean()) {
      strict_auth = v->get<bool>();
    }
    return ok();
  }
  if (n == 2 && s[1] == "requests" && m == "GET") {
    std::string route = req.get_param_value("route");
    absl::MutexLock lock(&mu);
    json out = json::array();
    for (const auto& r : log) {
      if (route.empty() || r.route == route) out.push_back(r.ToJson());
    }
    return ok(out);
  }
  if (n == 2 && s[1] == "counters" && m == "GET") {
    absl::MutexLock lock(&mu);
    return ok({{"acceptedFailovers", accepted_failovers},
               {"acceptedFailoversByGroup", accepted_by_group},
               {"requestsLogged", log.size()}});
  }
  if (n == 2 && s[1] == "endpoints" && m == "GET") {
    json out = json::object();
    if (data_plane) {
      for (const auto& [name, p] : data_plane->Ports()) out[name] = absl::StrCat("127.0.0.1:", p);
    }
    return ok(out);
  }
  if (n == 2 && s[1] == "token" && m == "POST") return ok({{"access_token", IssueToken()}});
  SendJson(res, 404, {{"error", {{"code", "NotFound"}, {"message", "unknown admin route"}}}});
}

void ArmSimServer::Impl::Handle(const httplib::Request& req, httplib::Response& res) {
  RequestRecord rec;
  rec.time = Now();
  rec.method = req.method;
  rec.path = req.path;
  rec.request_id = NewUuid();
  rec.client_request_id = req.get_header_value("x-ms-client-request-id");
  std::string correlation = req.get_header_value("x-ms-correlation-request-id");
  if (correlation.empty()) correlation = NewUuid();
  bool drop = false;

  std::vector<std::string> segs;
  for (absl::string_view p : absl::StrSplit(req.path, '/', absl::SkipEmpty())) {
    segs.emplace_back(p);
  }
  if (!segs.empty() && segs[0] == "admin") {
    rec.route = "admin";
    HandleAdmin(req, res, segs);
  } else if (segs.size() == 4 && segs[0] == "metadata" && segs[1] == "identity" &&
             segs[3] == "token" && req.method == "GET") {
    rec.route = "imds";
    if (auto f = MatchFault("imds", req, "", "")) {
      rec.fault = FaultKindName(f->kind);
      SendJson(res, f->kind == FaultSpec::Kind::kHttp429 ? 429 : 500,
               {{"error", "temporarily_unavailable"}, {"error_description", "injected fault"}});
    } else {
      HandleImds(req, res);
    }
  } else if ((segs.size() == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "token") ||
             (segs.size() == 3 && segs[1] == "oauth2" && segs[2] == "token")) {
    rec.route = "token";
    if (req.method != "POST") {
      SendJson(res, 405, {{"error", "invalid_request"}, {"error_description", "use POST"}});
    } else if (auto f = MatchFault("token", req, "", "")) {
      rec.fault = FaultKindName(f->kind);
      SendJson(res, f->kind == FaultSpec::Kind::kHttp429 ? 429 : 500,
               {{"error", "temporarily_unavailable"}, {"error_description", "injected fault"}});
    } else {
      HandleToken(req, res, segs[0]);
    }
  } else if (segs.size() == 4 && segs[1] == "v2.0" && segs[2] == ".well-known" &&
             segs[3] == "openid-configuration") {
    rec.route = "token";
    std::string host = req.get_header_value("Host");
    std::string base = absl::StrCat(options.tls ? "https://" : "http://", host, "/", segs[0]);
    SendJson(res, 200,
             {{"token_endpoint", base + "/oauth2/v2.0/token"},
              {"authorization_endpoint", base + "/oauth2/v2.0/authorize"},
              {"issuer", absl::StrCat("https://login.microsoftonline.com/", segs[0], "/v2.0")},
              {"token_endpoint_auth_methods_supported",
               json::array({"client_secret_post", "private_key_jwt"})}});
  } else if (segs.size() == 4 && segs[0] == "sql" && segs[1] == "servers" &&
             segs[3] == "replicationLinks" && req.method == "GET") {
    rec.route = "sql";
    rec.server = segs[2];
    std::string region = emulator->ServerRegion(segs[2]);
    auto down = emulator->RegionDown(region);
    if (down && down->data_plane) {
      if (down->mode == OutageMode::kBlackhole) {
        WaitBlackhole(region);
        drop = true;
      } else {
        SendJson(res, 503,
                 {{"error",
                   {{"code", "DatabaseUnavailable"}, {"message", "The server is unreachable."}}}});
      }
    } else {
      auto links = emulator->ReplicationLinks(segs[2]);
      if (!links.ok()) {
        SendJson(
            res, 404,
            {{"error",
              {{"code", "ServerNotFound"}, {"message", std::string(links.status().message())}}}});
      } else {
        SendJson(res, 200, {{"value", *links}});
      }
    }
  } else if (!segs.empty() && absl::EqualsIgnoreCase(segs[0], "subscriptions") &&
             segs.size() >= 2) {
    HandleArm(req, res, rec, segs, &drop);
  } else {
    rec.route = "unknown";
    SendArm(res, ArmError(404, "NotFound",
                          absl::StrCat("No route matches ", req.method, " ", req.path, ".")));
  }
  res.set_header("x-ms-request-id", rec.request_id);
  res.set_header("x-ms-correlation-request-id", correlation);
  if (!rec.client_request_id.empty()) {
    res.set_header("x-ms-client-request-id", rec.client_request_id);
  }
  rec.status = drop ? 0 : res.status;
  Log(std::move(rec));
  if (drop) {
    res.set_header("Connection", "close");
    DropConnection(req);
  }
}

absl::StatusOr<std::unique_ptr<ArmSimServer>> ArmSimServer::Start(ArmSimOptions options) {
  // A peer that vanishes mid-write must not kill the process (httplib writes without
  // MSG_NOSIGNAL, and the reset faults drop connections on purpose).
  std::signal(SIGPIPE, SIG_IGN);
  Topology topology;
  if (!options.topology_json.empty()) {
    auto t = ParseTopology(options.topology_json);
    if (!t.ok()) return t.status();
    topology = *std::move(t);
  } else if (!options.topology_path.empty()) {
    auto t = LoadTopologyFile(options.topology_path);
    if (!t.ok()) return t.status();
    topology = *std::move(t);
  }
  if (options.page_size < 1) return absl::InvalidArgumentError("page_size must be >= 1");
  if (options.threads < 2) return absl::InvalidArgumentError("threads must be >= 2");
  auto impl = std::make_unique<Impl>(options);
  Impl* p = impl.get();
  p->clock = options.clock != nullptr ? options.clock : &p->real_clock;
  p->clients = topology.clients;
  p->strict_auth = options.strict_auth;
  p->throttling = options.throttling;
  EmulatorOptions eo;
  eo.operation_duration = options.operation_duration;
  eo.retry_after = options.retry_after;
  eo.page_size = options.page_size;
  eo.clock = p->clock;
  p->emulator = std::make_unique<Emulator>(std::move(topology), eo);
  if (!options.request_log_path.empty()) {
    p->log_file.open(options.request_log_path, std::ios::app);
    if (!p->log_file) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot open request log '", options.request_log_path, "'"));
    }
  }
  if (options.tls) {
    std::string cert = options.cert_file, key = options.key_file;
    if (cert.empty()) {
      if (options.cert_dir.empty()) {
        return absl::InvalidArgumentError("tls needs cert_dir or cert_file/key_file");
      }
      auto paths = GenerateCertificates(options.cert_dir);
      if (!paths.ok()) return paths.status();
      cert = paths->cert;
      key = paths->key;
      p->ca_path = paths->ca_cert;
    } else {
      p->ca_path = options.ca_file.empty() ? cert : options.ca_file;
    }
    auto ssl = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
    if (!ssl->is_valid()) return absl::InvalidArgumentError("cannot load TLS certificate/key");
    p->http = std::move(ssl);
  } else {
    p->http = std::make_unique<httplib::Server>();
  }
  httplib::Server& http = *p->http;
  int threads = options.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Debian's cpp-httplib leaves TCP_NODELAY off; accepted sockets inherit the listener's option,
  // and without it delayed ACKs cap a keep-alive client at ~25 requests/s.
  // The listening socket (the only one this callback sees), to raise its backlog below.
  auto listen_fd = std::make_shared<int>(-1);
  http.set_socket_options([listen_fd](int sock) {
    int one = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *listen_fd = sock;
  });
  http.set_payload_max_length(options.max_body_bytes);
  http.set_keep_alive_max_count(100000);
  http.set_keep_alive_timeout(5);
  http.set_read_timeout(30);
  auto handler = [p](const httplib::Request& req, httplib::Response& res) { p->Handle(req, res); };
  http.Get(".*", handler);
  http.Post(".*", handler);
  http.Put(".*", handler);
  http.Patch(".*", handler);
  http.Delete(".*", handler);
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        SendArm(res, ArmError(500, "InternalServerError", "The emulator hit an internal error."));
      });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 400 && !req.has_header("Content-Length") &&
        !req.has_header("Transfer-Encoding")) {
      SendArm(res, ArmError(411, "LengthRequired",
                            "The request needs a Content-Length header (use 0 for no body)."));
    } else if (res.status == 413) {
      SendArm(res, ArmError(400, "InvalidRequestContent",
                            "The request content was invalid: the body is too large."));
    } else if (res.status == 404 || res.status == 405) {
      SendArm(res, ArmError(res.status, "NotFound", "No route matches the request."));
    } else {
      SendArm(res, ArmError(res.status, "BadRequest", "The request could not be read."));
    }
  });
  if (options.port == 0) {
    p->port = http.bind_to_any_port(options.host);
  } else {
    p->port = http.bind_to_port(options.host, options.port) ? options.port : -1;
  }
  if (p->port <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot bind ", options.host, ":", options.port));
  }
  // cpp-httplib listens with a backlog of 5: a burst of new connections (hundreds of groups
  // failing over at once, each POST on a fresh connection) overflows it and the kernel drops
  // SYNs, which clients retry after a second. ARM's front end has no such limit; listen() again
  // raises the backlog of the listening socket.
  if (*listen_fd >= 0) ::listen(*listen_fd, 4096);
  if (options.data_plane) {
    auto dp = DataPlane::Start(p->emulator.get());
    if (!dp.ok()) return dp.status();
    p->data_plane = *std::move(dp);
    DataPlane* dpp = p->data_plane.get();
    p->emulator->SetOnChange([dpp] { dpp->Reconcile(); });
  }
  p->thread = std::thread([p] { p->http->listen_after_bind(); });
  // stop() is a no-op until the loop runs, so wait for it (bounded) to make Shutdown reliable.
  for (int i = 0; i < 5000 && !p->http->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::unique_ptr<ArmSimServer>(new ArmSimServer(std::move(impl)));
}

ArmSimServer::ArmSimServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ArmSimServer::~ArmSimServer() { Shutdown(); }

void ArmSimServer::Shutdown() {
  {
    absl::MutexLock lock(&impl_->mu);
    if (impl_->shutdown) return;
    impl_->shutdown = true;
  }
  if (impl_->http) impl_->http->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->data_plane) {
    impl_->emulator->SetOnChange(nullptr);
    impl_->data_plane->Shutdown();
  }
}

std::string ArmSimServer::base_url() const {
  return absl::StrCat(impl_->options.tls ? "https://" : "http://", impl_->options.host, ":",
                      impl_->port);
}
int ArmSimServer::port() const { return impl_->port; }
std::string ArmSimServer::ca_cert_path() const { return impl_->ca_path; }

void ArmSimServer::SetRegionDown(const std::string& region, RegionOutage outage) {
  impl_->emulator->SetRegionDown(region, outage);
  impl_->RegionChanged();
  if (impl_->data_plane) impl_->data_plane->ReconcileNow();
}

void ArmSimServer::SetRegionUp(const std::string& region) {
  impl_->emulator->SetRegionUp(region);
  impl_->RegionChanged();
  if (impl_->data_plane) impl_->data_plane->ReconcileNow();
}

int ArmSimServer::AddFault(FaultSpec fault) {
  absl::MutexLock lock(&impl_->mu);
  int id = impl_->next_fault_id++;
  impl_->faults.push_back({id, fault, std::mt19937_64(fault.seed), 0});
  return id;
}

void ArmSimServer::RemoveFault(int id) {
  absl::MutexLock lock(&impl_->mu);
  auto& f = impl_->faults;
  f.erase(std::remove_if(f.begin(), f.end(), [id](const ActiveFault& a) { return a.id == id; }),
          f.end());
}

void ArmSimServer::ClearFaults() {
  absl::MutexLock lock(&impl_->mu);
  impl_->faults.clear();
}

absl::Status ArmSimServer::FailOperation(const std::string& operation_id, const std::string& code,
                                         const std::string& message, bool canceled) {
  return impl_->emulator->FailOperation(operation_id, code, message, canceled);
}

void ArmSimServer::SetOperationDuration(absl::Duration d) {
  impl_->emulator->SetOperationDuration(d);
}
void ArmSimServer::SetRetryAfter(std::optional<absl::Duration> d) {
  impl_->emulator->SetRetryAfter(d);
}

int64_t ArmSimServer::AcceptedFailovers() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->accepted_failovers;
}

int64_t ArmSimServer::AcceptedFailovers(const std::string& fg) const {
  absl::MutexLock lock(&impl_->mu);
  auto it = impl_->accepted_by_group.find(fg);
  return it == impl_->accepted_by_group.end() ? 0 : it->second;
}

std::vector<RequestRecord> ArmSimServer::RequestLog() const {
  absl::MutexLock lock(&impl_->mu);
  return {impl_->log.begin(), impl_->log.end()};
}

namespace {
std::string Endpoint(DataPlane* dp, const std::string& name) {
  if (dp == nullptr) return "";
  int port = dp->Port(name);
  return port <= 0 ? "" : absl::StrCat("127.0.0.1:", port);
}
}  // namespace

std::string ArmSimServer::ServerEndpoint(const std::string& server) const {
  return Endpoint(impl_->data_plane.get(), "server:" + server);
}
std::string ArmSimServer::ReadWriteListener(const std::string& fg) const {
  return Endpoint(impl_->data_plane.get(), "fg:" + fg + ":rw");
}
std::string ArmSimServer::ReadOnlyListener(const std::string& fg) const {
  return Endpoint(impl_->data_plane.get(), "fg:" + fg + ":ro");
}

absl::Status ArmSimServer::RecordWrites(const std::string& fg, int64_t count) {
  return impl_->emulator->RecordWrites(fg, count);
}
absl::StatusOr<ReplicationInfo> ArmSimServer::Replication(const std::string& fg) {
  return impl_->emulator->Replication(fg);
}
absl::Status ArmSimServer::SetReplicationLag(const std::string& fg, absl::Duration lag) {
  return impl_->emulator->SetReplicationLag(fg, lag);
}
nlohmann::json ArmSimServer::State() { return impl_->emulator->StateJson(); }
std::string ArmSimServer::IssueToken() { return impl_->IssueToken(); }
Emulator& ArmSimServer::emulator() { return *impl_->emulator; }

}  // namespace foghorn::armsim
