// EtcdCluster: a real N-member etcd cluster on 127.0.0.1 for tests (Debian's etcd-server,
// /usr/bin/etcd), each member on free ports, its data and log in a temp dir. Start() waits until
// every member reports healthy (polling /health, with a deadline), so a test starts against a
// cluster with a leader. Members can be stopped, killed and restarted one by one. Children die
// with the test process (PR_SET_PDEATHSIG). Tests call EtcdCluster::SkipIfUnavailable() first:
// GTEST_SKIP when etcd is not installed.
#ifndef FOGHORN_TESTS_TESTING_ETCD_CLUSTER_H_
#define FOGHORN_TESTS_TESTING_ETCD_CLUSTER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::testing {

class EtcdCluster {
 public:
  static constexpr const char* kEtcdBinary = "/usr/bin/etcd";
  static bool Available();

  struct Options {
    int members = 3;
    // Raft timing: fast enough that a test sees an election in well under a second.
    int heartbeat_ms = 50;
    int election_ms = 500;
    // etcd's --auth-token-ttl for simple tokens (seconds).
    int auth_token_ttl_s = 300;
  };

  explicit EtcdCluster(Options options);
  EtcdCluster() : EtcdCluster(Options()) {}
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // Starts every member and waits (up to `timeout`) until each answers /health with true.
  absl::Status Start(absl::Duration timeout = absl::Seconds(15));

  int size() const { return static_cast<int>(members_.size()); }
  // "127.0.0.1:<client port>" of member i, and of all of them.
  std::string Endpoint(int i) const;
  std::vector<std::string> Endpoints() const;

  // SIGTERM and wait for member i to exit.
  void Stop(int i);
  // SIGKILL and reap member i.
  void Kill(int i);
  // Starts member i again on the same ports and data dir (it rejoins the cluster).
  absl::Status Restart(int i);
  // Stops every running member.
  void StopAll();
  bool Running(int i) const { return members_[static_cast<size_t>(i)].pid > 0; }

  // Waits until member i answers /health with true (a leader, a working store).
  absl::Status WaitHealthy(int i, absl::Duration timeout);
  // The member's health right now (a GET /health).
  bool Healthy(int i) const;

  const std::string& dir() const { return dir_.path(); }
  // The last `bytes` of member i's log (for failure messages).
  std::string LogTail(int i, size_t bytes = 4000) const;

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string data_dir;
    std::string log_file;
    pid_t pid = -1;
  };
  absl::Status Spawn(int i, bool initial);

  Options options_;
  TempDir dir_;
  std::vector<Member> members_;
  std::string initial_cluster_;
};

// Polls `cond` until it holds or `timeout` passes (a condition wait with a deadline: etcd's
// leases and watches run on real time).
template <typename Cond>
bool Eventually(Cond cond, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (cond()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return cond();
}

}  // namespace foghorn::testing

// Skips the test where /usr/bin/etcd is not installed.
#define SKIP_WITHOUT_ETCD()                                                       \
  do {                                                                            \
    if (!::foghorn::testing::EtcdCluster::Available()) {                          \
      GTEST_SKIP() << ::foghorn::testing::EtcdCluster::kEtcdBinary << " missing"; \
    }                                                                             \
  } while (false)

#endif  // FOGHORN_TESTS_TESTING_ETCD_CLUSTER_H_
