// Test doubles for the ARM client: a scripted http::HttpTransport (each expected request is matched
// in order by method and URL fragment and answered with a canned response or transport error; once
// the script is used up, an optional fallback handler answers, e.g. a small model of ARM driven by
// the FakeClock). The common::Sleeper that advances a FakeClock is tests/testing/fake_sleeper.h.
#ifndef FOGHORN_TESTS_ORCHESTRATOR_ARM_FAKE_HTTP_TRANSPORT_H_
#define FOGHORN_TESTS_ORCHESTRATOR_ARM_FAKE_HTTP_TRANSPORT_H_

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "orchestrator/http/http_transport.h"

namespace foghorn::arm::testing {

class FakeHttpTransport final : public http::HttpTransport {
 public:
  using Handler = std::function<absl::StatusOr<http::HttpResponse>(const http::HttpRequest&)>;

  // The next request must have `method` and a URL containing `url_part`; it gets `answer`.
  FakeHttpTransport& Expect(std::string method, std::string url_part,
                            absl::StatusOr<http::HttpResponse> answer) {
    return ExpectHandler(std::move(method), std::move(url_part),
                         [answer](const http::HttpRequest&) { return answer; });
  }
  FakeHttpTransport& ExpectHandler(std::string method, std::string url_part, Handler handler) {
    absl::MutexLock lock(&mu_);
    script_.push_back({std::move(method), std::move(url_part), std::move(handler)});
    return *this;
  }

  // Answers every request that arrives after the script is used up.
  FakeHttpTransport& Otherwise(Handler handler) {
    absl::MutexLock lock(&mu_);
    otherwise_ = std::move(handler);
    return *this;
  }

  absl::StatusOr<http::HttpResponse> Send(const http::HttpRequest& request) override {
    Step step;
    Handler otherwise;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      if (!script_.empty()) {
        step = std::move(script_.front());
        script_.pop_front();
      } else if (otherwise_) {
        otherwise = otherwise_;  // called without the lock: it may read requests()
      } else {
        ADD_FAILURE() << "unexpected request " << request.method << " " << request.url;
        return absl::InternalError("unexpected request");
      }
    }
    if (otherwise) return otherwise(request);
    EXPECT_EQ(request.method, step.method) << "for " << request.url;
    EXPECT_TRUE(absl::StrContains(request.url, step.url_part))
        << request.url << " does not contain " << step.url_part;
    return step.handler(request);
  }

  std::vector<http::HttpRequest> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  size_t remaining() const {
    absl::MutexLock lock(&mu_);
    return script_.size();
  }
  int CountRequests(std::string_view method, std::string_view url_part) const {
    absl::MutexLock lock(&mu_);
    int n = 0;
    for (const auto& r : requests_) {
      if (r.method == method &&
          absl::StrContains(r.url, absl::string_view(url_part.data(), url_part.size()))) {
        ++n;
      }
    }
    return n;
  }

 private:
  struct Step {
    std::string method;
    std::string url_part;
    Handler handler;
  };
  mutable absl::Mutex mu_;
  std::deque<Step> script_;
  Handler otherwise_;
  std::vector<http::HttpRequest> requests_;
};

inline http::HttpResponse Response(int status, std::string body = "",
                                   http::HttpHeaders headers = {}) {
  http::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

inline std::string ArmErrorBody(std::string_view code, std::string_view message) {
  return std::string("{\"error\":{\"code\":\"") + std::string(code) + "\",\"message\":\"" +
         std::string(message) + "\"}}";
}

}  // namespace foghorn::arm::testing

#endif  // FOGHORN_TESTS_ORCHESTRATOR_ARM_FAKE_HTTP_TRANSPORT_H_
