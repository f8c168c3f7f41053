// How foghorn-armsim's HTTP front holds a request to a region whose control plane is a black
// hole (or, for the SQL health route, whose data plane is a black hole or is cut off from the
// request's vantage): the request's worker thread waits, without answering, until the region or
// partition changes, the hold times out (then the route drops the connection), or the server
// shuts down. Region and partition changes and shutdown wake every held request at once.
#ifndef FOGHORN_TOOLS_ARMSIM_BLACKHOLE_H_
#define FOGHORN_TOOLS_ARMSIM_BLACKHOLE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tools/armsim/emulator.h"

namespace foghorn::armsim {

class BlackholeHold {
 public:
  // A region went down or came back, or a partition was cut or healed: held requests look at
  // their region again. Thread-safe.
  void RegionChanged();
  // Releases every held request, and later holds return at once. Thread-safe.
  void Stop();

  // Blocks while `region` is a control-plane black hole in `emulator`, for at most `timeout` of
  // real time (sockets wait in real time even under a fake clock). Returns at once if the
  // region is not a black hole. Thread-safe.
  void Hold(Emulator& emulator, const std::string& region, absl::Duration timeout);
  // Blocks while `dark()` is true, looking again after every RegionChanged(), for at most
  // `timeout` of real time. `dark` is called without any lock of this class held. Thread-safe.
  void Hold(const std::function<bool()>& dark, absl::Duration timeout);

 private:
  absl::Mutex mu_;
  int64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;  // bumped on every region change
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_BLACKHOLE_H_
