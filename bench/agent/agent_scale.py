"""foghornd CPU and RSS with many failover groups, against foghorn-armsim over HTTPS.

Generates a topology with N groups (each with its own database, servers in two regions), one
runbook per group (TCP probes of both servers every 5 s, an ARM-state probe every 30 s), runs the
real agent for a while and reports its CPU (share of one core, measured after start-up) and peak
RSS (VmHWM).  Usage: python3 bench/agent/agent_scale.py [groups=1000] [seconds=60]
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
import harness  # noqa: E402


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return 0


def main():
    groups = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    work = harness.workdir()
    dbs = [f"db{i}" for i in range(groups)]
    topo = {
        "subscriptions": [{"id": harness.SUB, "resourceGroups": [{"name": harness.RG, "servers": [
            {"name": "sql-east", "location": "East US", "databases": dbs},
            {"name": "sql-west", "location": "West US", "databases": []}]}]}],
        "failoverGroups": [{"name": f"fog-{i}", "primaryServer": "sql-east",
                            "partnerServer": "sql-west", "databases": [f"db{i}"],
                            "readWriteEndpoint": {"failoverPolicy": "Manual"}}
                           for i in range(groups)],
    }
    topo_path = os.path.join(work, "topology.json")
    with open(topo_path, "w") as f:
        json.dump(topo, f)
    harness.TOPOLOGY = topo_path
    sim = harness.ArmSim(work, extra=("--threads=32",))
    east, west = sim.endpoints["server:sql-east"], sim.endpoints["server:sql-west"]
    rb_dir = os.path.join(work, "runbooks")
    os.makedirs(rb_dir)
    for i in range(groups):
        with open(os.path.join(rb_dir, f"fog-{i}.yaml"), "w") as f:
            f.write(f"""
group: {{subscription_id: {harness.SUB}, resource_group: {harness.RG}, name: fog-{i},
        primary_server: sql-east, secondary_server: sql-west}}
probes:
  - {{name: east, target: primary, interval: 5s, timeout: 2s, jitter: 1s, initial_delay: {i * 5000 // groups}ms, tcp: {{address: "{east}"}}}}
  - {{name: west, target: secondary, interval: 5s, timeout: 2s, jitter: 1s, initial_delay: {i * 5000 // groups}ms, tcp: {{address: "{west}"}}}}
  - {{name: arm, target: primary, interval: 30s, timeout: 10s, jitter: 5s, arm_state: {{expect_role: primary}}}}
health_rules:
  - {{target: primary, probes: [east, arm]}}
  - {{target: secondary, probes: [west]}}
policy: {{approval_mode: automatic}}
""")
    agent = harness.Agent(work, sim, "")
    with open(agent.config) as f:
        cfg = f.read().replace("runbooks: [runbook.yaml]", "runbooks: [runbooks]")
        cfg = cfg.replace("log: {level: debug}", "log: {level: warn}")
    with open(agent.config, "w") as f:
        f.write(cfg)
    t0 = time.monotonic()
    agent.start()
    started = time.monotonic() - t0
    try:
        pid = agent.proc.pid
        time.sleep(10)  # past start-up: roles read, first probes spread over one interval
        cpu0, w0 = proc_cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        cpu1, w1 = proc_cpu_seconds(pid), time.monotonic()
        share = (cpu1 - cpu0) / (w1 - w0)
        hwm = proc_status(pid, "VmHWM") / 1024
        rss = proc_status(pid, "VmRSS") / 1024
        with agent.db() as c:
            decisions = c.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
        print(f"groups={groups} probes={groups * 3} start-up={started:.1f}s "
              f"cpu={share * 100:.1f}% of one core over {w1 - w0:.0f}s "
              f"rss={rss:.0f}MB peak_rss={hwm:.0f}MB decisions_journaled={decisions} "
              f"failover_posts={len(harness.failover_posts(sim))}")
    finally:
        agent.stop()
        sim.stop()


if __name__ == "__main__":
    main()
