#include "tools/armsim/token_store.h"

#include <openssl/rand.h>

#include <iterator>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"

namespace foghorn::armsim {
namespace {

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

}  // namespace

TokenStore::TokenStore(const common::Clock* clock, absl::Duration lifetime)
    : clock_(clock), lifetime_(lifetime) {}

std::string TokenStore::Issue(const std::string& identity) {
  std::string token = absl::StrCat("armsim.", RandomHex(24));
  absl::MutexLock lock(&mu_);
  absl::Time now = clock_->Now();
  for (auto it = expiry_.begin(); it != expiry_.end();) {
    it = it->second.expiry < now ? expiry_.erase(it) : std::next(it);
  }
  expiry_[token] = Issued{now + lifetime_, identity};
  return token;
}

TokenStore::Validity TokenStore::Check(const std::string& token) const {
  absl::MutexLock lock(&mu_);
  auto it = expiry_.find(token);
  if (it == expiry_.end()) return Validity::kUnknown;
  return it->second.expiry < clock_->Now() ? Validity::kExpired : Validity::kValid;
}

std::string TokenStore::IdentityOf(const std::string& token) const {
  absl::MutexLock lock(&mu_);
  auto it = expiry_.find(token);
  return it == expiry_.end() ? "" : it->second.identity;
}

}  // namespace foghorn::armsim
