"""Coordination figures (issue 15, docs/coordination.md): what running three coordinated agents
costs compared with one agent alone, how fast a group's leadership moves when its leader dies or
stops, and how much etcd traffic coordination makes.

Real processes on 127.0.0.1 only (free ports), through tests/e2e/coord_harness.py: a 3-member
etcd cluster (/usr/bin/etcd), foghorn-armsim with three vantages and foghornd agents. Every wait
has a deadline. Not a test and not in ctest: it measures, it asserts nothing about speed.

  python3 bench/coord/coord_bench.py [--runs N] [--only a,b,c]

  a  region loss -> first failover POST accepted by the emulator: 1 agent without etcd vs 3
     coordinated agents, the same runbook (median of N runs each)
  b  leader failover: SIGKILL of the leader -> another agent holds the group's leader key, and
     SIGTERM (clean stop, the lease is revoked) -> another agent holds it; session_ttl 3s and 10s
  c  etcd traffic: 1,000 groups on 3 coordinators (coordinator_test's scale figures, run with
     FOGHORN_COORD_SCALE=1), and 3 real foghornd with one group at steady state

Binaries come from FOGHORN_BIN_DIR (default build/bin; copy them elsewhere first if others relink
them) and FOGHORN_COORDINATOR_TEST (default build/tests/orchestrator/coord/coordinator_test).
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import coord_harness as ch  # noqa: E402
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

COORDINATOR_TEST = os.environ.get(
    "FOGHORN_COORDINATOR_TEST",
    os.path.join(REPO, "build", "tests", "orchestrator", "coord", "coordinator_test"))
# The runbook of (a), the same for both setups: harness.runbook_yaml's probes (TCP every 300 ms,
# 3 failures), confirm_after 1s, planned_grace 2s, data_loss_grace 8s.
RUNBOOK_KW = {}


def now_ms():
    return time.time() * 1000.0


def first_failover_post(sim, timeout=60):
    """(route, tsUnixMs) of the first failover POST the emulator accepted."""
    return wait_until(lambda: next(iter(harness.failover_posts(sim)), None), timeout,
                      "a failover POST to be accepted", interval=0.02)


def cleanup(path):
    shutil.rmtree(path, ignore_errors=True)


# --- (a) region loss -> failover POST -------------------------------------------------------------

def region_loss_alone():
    """One foghornd without an etcd block, probing through vantage v1's endpoints (the same
    runbook text as agent-v1's in the coordinated setup)."""
    work = harness.workdir()
    sim = agent = None
    try:
        sim = ch.VantageArmSim(work, operation_ms=800)
        os.makedirs(os.path.join(work, "agent"))
        agent = harness.Agent(os.path.join(work, "agent"), sim,
                              ch.vantage_runbook(sim, "v1", **RUNBOOK_KW))
        agent.start()
        agent.wait_settled()
        began = now_ms()
        sim.region_down(ch.PRIMARY_REGION)
        route, ts = first_failover_post(sim)
        return (ts - began) / 1000.0, route
    finally:
        if agent:
            agent.stop(timeout=20)
        if sim:
            sim.stop()
        cleanup(work)


def region_loss_coordinated():
    s = ch.CoordSetup(operation_ms=800, session_ttl="3s",
                      runbook=lambda sim, v: ch.vantage_runbook(sim, v, **RUNBOOK_KW))
    try:
        leader = s.wait_leader()
        # Every agent has published its verdict on the primary (verdicts/<group>/primary/<agent>).
        def published():
            keys = s.etcd.get_prefix(ch.KEY_PREFIX + "/verdicts/")
            return all(any(k.endswith(f"/primary/{a.name}") for k in keys) for a in s.agents)
        wait_until(published, 30, "every agent's verdict in etcd", interval=0.1)
        began = now_ms()
        s.sim.region_down(ch.PRIMARY_REGION)
        route, ts = first_failover_post(s.sim)
        who = [a.name for a in s.agents if a.safe_operations()]
        return (ts - began) / 1000.0, f"{route} by {','.join(who) or '?'} (leader {leader.name})"
    finally:
        s.stop()
        cleanup(s.dir)


def bench_region_loss(runs):
    print("\n(a) region loss -> first failover POST accepted (same runbook: probes every 300 ms, "
          "3 failures, confirm_after 1s, planned_grace 2s)", flush=True)
    results = {}
    for name, fn in (("1 agent, no etcd", region_loss_alone),
                     ("3 agents on etcd", region_loss_coordinated)):
        times = []
        for i in range(runs):
            t, what = fn()
            times.append(t)
            print(f"  {name} run {i + 1}: {t:.2f} s ({what})", flush=True)
        results[name] = statistics.median(times)
        print(f"  {name}: median {results[name]:.2f} s of {runs} "
              f"(min {min(times):.2f}, max {max(times):.2f})", flush=True)
    delta = results["3 agents on etcd"] - results["1 agent, no etcd"]
    print(f"  coordination overhead (median difference): {delta * 1000:+.0f} ms", flush=True)
    return results


# --- (b) leader failover ------------------------------------------------------------------------

def leader_handover(ttl_s, how):
    """Seconds from the leader's SIGKILL (or SIGTERM) to another agent holding the leader key,
    polled from etcd every 20 ms."""
    s = ch.CoordSetup(operation_ms=800, session_ttl=f"{ttl_s}s")
    try:
        old = s.wait_leader()
        began = time.monotonic()
        old.proc.send_signal(signal.SIGKILL if how == "SIGKILL" else signal.SIGTERM)

        def other():
            try:
                name = s.leader_name()
            except AssertionError:
                return None
            return name if name and name != old.name else None
        new = wait_until(other, ttl_s + 20, "another agent to hold the leader key",
                         interval=0.02)
        took = time.monotonic() - began
        old.proc.wait(30)
        return took, f"{old.name} -> {new}"
    finally:
        s.stop()
        cleanup(s.dir)


def bench_leader_failover(runs):
    print("\n(b) leader failover: signal to the leader -> another agent holds leader/<group>",
          flush=True)
    results = {}
    for ttl in (3, 10):
        for how in ("SIGKILL", "SIGTERM"):
            times = []
            for i in range(runs):
                t, what = leader_handover(ttl, how)
                times.append(t)
                print(f"  session_ttl {ttl}s, {how} run {i + 1}: {t:.2f} s ({what})", flush=True)
            results[(ttl, how)] = statistics.median(times)
            print(f"  session_ttl {ttl}s, {how}: median {results[(ttl, how)]:.2f} s of {runs} "
                  f"(min {min(times):.2f}, max {max(times):.2f})", flush=True)
    return results


# --- (c) etcd traffic ---------------------------------------------------------------------------

def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thousand_groups():
    if not os.access(COORDINATOR_TEST, os.X_OK):
        print(f"  {COORDINATOR_TEST} not built: skipped (cmake --build build --target "
              "coordinator_test)", flush=True)
        return None
    out = subprocess.run([COORDINATOR_TEST, "--gtest_filter=*ThousandGroupsOnThreeAgents*"],
                         env=dict(os.environ, FOGHORN_COORD_SCALE="1"), capture_output=True,
                         text=True, timeout=300)
    lines = [ln for ln in out.stdout.splitlines()
             if ln.startswith(("placement of", "6000 verdicts", "steady state", "Get() of"))]
    for ln in lines:
        print(f"  {ln}", flush=True)
    if out.returncode != 0 or len(lines) != 4:
        print(out.stdout[-3000:] + out.stderr[-2000:], flush=True)
        return None
    num = r"([0-9.]+)"
    place = re.search(rf"agents: {num}(ms|s), {num} writes", lines[0])
    secs = float(place.group(1)) / (1000.0 if place.group(2) == "ms" else 1.0)
    writes = float(place.group(3))
    steady = re.search(rf"{num} writes, {num} bytes, {num} keep-alives", lines[2])
    w_min, ka_min = float(steady.group(1)), float(steady.group(3))
    print(f"  -> during placement: {writes / secs:.0f} writes/s over {secs:.1f} s; steady state: "
          f"{w_min / 60:.1f} writes/s, {ka_min / 60:.2f} keep-alives/s "
          f"({(w_min + ka_min) / 60:.2f} requests/s, all three agents)", flush=True)
    return lines


def real_agents_steady(window_s=30):
    """Three foghornd with one group each, after settling: the etcd counters every agent exports
    over `window_s` seconds, and the agents' CPU."""
    s = ch.CoordSetup(operation_ms=800, session_ttl="10s")
    try:
        s.wait_leader()

        def sample():
            return {a.name: (a.metric("foghorn_etcd_writes_total"),
                             a.metric("foghorn_etcd_write_bytes_total"),
                             a.metric("foghorn_etcd_keepalives_total"),
                             proc_cpu_seconds(a.proc.pid)) for a in s.agents}
        before, began = sample(), time.monotonic()
        time.sleep(window_s)  # the measurement window itself, not a wait for a condition
        after, took = sample(), time.monotonic() - began
        total = [0.0, 0.0, 0.0, 0.0]
        for name in before:
            d = [after[name][i] - before[name][i] for i in range(4)]
            total = [t + x for t, x in zip(total, d)]
            print(f"  {name}: {d[0] / took * 60:.1f} writes/min, {d[1] / took * 60:.0f} B/min, "
                  f"{d[2] / took * 60:.1f} keep-alives/min, CPU {d[3] / took * 100:.1f} % of a "
                  f"core", flush=True)
        print(f"  3 foghornd, 1 group, session_ttl 10s, {took:.0f} s window: "
              f"{total[0] / took:.2f} writes/s, {total[2] / took:.2f} keep-alives/s", flush=True)
        return total
    finally:
        s.stop()
        cleanup(s.dir)


def bench_traffic():
    print("\n(c) etcd traffic", flush=True)
    print("  1,000 groups on 3 coordinators (one process, session_ttl 2s, reconcile 100 ms):",
          flush=True)
    thousand_groups()
    print("  3 real foghornd, one group, steady state:", flush=True)
    real_agents_steady()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--only", default="a,b,c")
    args = p.parse_args()
    if not ch.etcd_available():
        raise SystemExit(f"{ch.ETCD} not found: install etcd-server (scripts/setup.sh)")
    for tool in ("foghornd", "foghorn", "foghorn-armsim"):
        if not os.access(os.path.join(harness.BIN, tool), os.X_OK):
            raise SystemExit(f"{harness.BIN}/{tool} missing: build it or set FOGHORN_BIN_DIR")
    only = set(args.only.split(","))
    print(f"binaries: {harness.BIN}; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}",
          flush=True)
    if "a" in only:
        bench_region_loss(args.runs)
    if "b" in only:
        bench_leader_failover(args.runs)
    if "c" in only:
        bench_traffic()


if __name__ == "__main__":
    main()
