// RETURN_IF_ERROR and ASSIGN_OR_RETURN: Debian's abseil 20220623 ships no status macros.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_STATUS_MACROS_H_
#define FOGHORN_ORCHESTRATOR_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FOGHORN_CONCAT_INNER_(a, b) a##b
#define FOGHORN_CONCAT_(a, b) FOGHORN_CONCAT_INNER_(a, b)

// Returns the status of `expr` (an absl::Status or absl::StatusOr) from the enclosing function
// when it is not OK.
#define RETURN_IF_ERROR(expr)                                                 \
  do {                                                                        \
    if (auto foghorn_status_ = ::foghorn::common::internal::AsStatus((expr)); \
        !foghorn_status_.ok()) {                                              \
      return foghorn_status_;                                                 \
    }                                                                         \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, otherwise moves the value
// into `lhs`, which may be a declaration: ASSIGN_OR_RETURN(auto x, Parse(text));
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  FOGHORN_ASSIGN_OR_RETURN_IMPL_(FOGHORN_CONCAT_(foghorn_statusor_, __LINE__), lhs, rexpr)

#define FOGHORN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = std::move(statusor).value()

namespace foghorn::common::internal {
inline const absl::Status& AsStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace foghorn::common::internal

#endif  // FOGHORN_ORCHESTRATOR_COMMON_STATUS_MACROS_H_
