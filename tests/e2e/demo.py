"""The README's main job: watch foghornd fail a group over when its primary's region goes dark."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402


def say(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main():
    workdir = harness.workdir()
    sim = harness.ArmSim(workdir, operation_ms=1500)
    say(f"foghorn-armsim serving ARM at {sim.base} (TLS, CA {sim.ca})")
    runbook = harness.runbook_yaml(sim, data_loss_grace="10s")
    agent = harness.Agent(workdir, sim, runbook).start()
    say(f"foghornd started (config {agent.config}, metrics on port {agent.ready['metrics_port']})")
    try:
        agent.wait_settled()
        say(f"group {harness.GROUP}: primary {sim.primary()}, decision HEALTHY")
        sim.record_writes(100)
        say("100 writes recorded on the primary (replication lag 2 s)")
        say("taking region eastus (the primary's) down: control and data plane")
        sim.region_down("eastus")
        seen = set()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            for state, action, summary in agent.decisions():
                key = (state, summary)
                if key not in seen:
                    seen.add(key)
                    say(f"decision {state:<26} action={action:<28} {summary}")
            for kind, state, target, outcome in agent.operations():
                key = ("op", kind, state)
                if key not in seen:
                    seen.add(key)
                    say(f"operation {kind} -> {target}: {state} {outcome}")
            if any(o[1] == "succeeded" for o in agent.operations()):
                break
            time.sleep(0.2)
        else:
            raise SystemExit("no failover within 90 s; see " + agent.log_path)
        repl = sim.replication()
        say(f"new primary: {sim.primary()}; accepted failover POSTs: {sim.accepted_failovers()}; "
            f"writes lost by the forced failover: {repl.get('writesLost')}")
        print(json.dumps({"primary": sim.primary(), "operations": agent.operations()}, indent=2))
        say(f"logs and journal kept in {workdir}")
    finally:
        agent.stop()
        sim.stop()


if __name__ == "__main__":
    main()
