#include "orchestrator/arm/resource_id.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::arm {
namespace {

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status Invalid(std::string_view id, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "malformed arm resource id '", AbslView(id.substr(0, 512)), "': ", AbslView(why)));
}

// Splits "/a/b/c" into {"a","b","c"}; empty segments are kept so "//" is caught.
absl::StatusOr<std::vector<std::string>> Segments(std::string_view id) {
  if (id.empty() || id.front() != '/') return Invalid(id, "must start with '/'");
  if (id.find_first_of("?# \t\r\n") != std::string_view::npos) {
    return Invalid(id, "contains a query, fragment or whitespace");
  }
  std::string_view rest = id.substr(1);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::vector<std::string> parts = absl::StrSplit(AbslView(rest), '/');
  return parts;
}

absl::Status Expect(std::string_view id, const std::string& got, std::string_view want) {
  if (!absl::EqualsIgnoreCase(got, AbslView(want))) {
    return Invalid(id, absl::StrCat("expected segment '", AbslView(want), "', got '", got, "'"));
  }
  return absl::OkStatus();
}

absl::Status CheckName(std::string_view id, const std::string& name, std::string_view what) {
  if (!IsValidNameSegment(name)) {
    return Invalid(id, absl::StrCat("bad ", AbslView(what), " name '", name.substr(0, 128), "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ServerId> ParseServerSegments(std::string_view id,
                                             const std::vector<std::string>& p) {
  RETURN_IF_ERROR(Expect(id, p[0], "subscriptions"));
  RETURN_IF_ERROR(Expect(id, p[2], "resourceGroups"));
  RETURN_IF_ERROR(Expect(id, p[4], "providers"));
  RETURN_IF_ERROR(Expect(id, p[5], "Microsoft.Sql"));
  RETURN_IF_ERROR(Expect(id, p[6], "servers"));
  ServerId s{p[1], p[3], p[7]};
  RETURN_IF_ERROR(CheckName(id, s.subscription, "subscription"));
  RETURN_IF_ERROR(CheckName(id, s.resource_group, "resource group"));
  RETURN_IF_ERROR(CheckName(id, s.server, "server"));
  return s;
}

}  // namespace

bool IsValidNameSegment(std::string_view name) {
  if (name.empty() || name.size() > 260) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '(' || c == ')';
    if (!ok) return false;
  }
  return name != "." && name != "..";
}

absl::StatusOr<ServerId> ServerId::Parse(std::string_view id) {
  ASSIGN_OR_RETURN(auto p, Segments(id));
  if (p.size() != 8) return Invalid(id, "not a Microsoft.Sql server id");
  return ParseServerSegments(id, p);
}

std::string ServerId::Path() const {
  return absl::StrCat("/subscriptions/", subscription, "/resourceGroups/", resource_group,
                      "/providers/Microsoft.Sql/servers/", server);
}

absl::StatusOr<FailoverGroupId> FailoverGroupId::Parse(std::string_view id) {
  ASSIGN_OR_RETURN(auto p, Segments(id));
  if (p.size() != 10) return Invalid(id, "not a Microsoft.Sql failover group id");
  ASSIGN_OR_RETURN(ServerId s, ParseServerSegments(id, p));
  RETURN_IF_ERROR(Expect(id, p[8], "failoverGroups"));
  RETURN_IF_ERROR(CheckName(id, p[9], "failover group"));
  return FailoverGroupId{s.subscription, s.resource_group, s.server, p[9]};
}

absl::Status FailoverGroupId::Validate() const {
  for (const auto& [value, what] :
       {std::pair{&subscription, "subscription"}, std::pair{&resource_group, "resource group"},
        std::pair{&server, "server"}, std::pair{&name, "failover group"}}) {
    if (!IsValidNameSegment(*value)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid failover group id: bad ", what,
                                                     " name '", value->substr(0, 128), "'"));
    }
  }
  return absl::OkStatus();
}

std::string FailoverGroupId::Path() const {
  return absl::StrCat(Server().Path(), "/failoverGroups/", name);
}

}  // namespace foghorn::arm
