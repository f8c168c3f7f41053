"""foghornd end to end against foghorn-armsim: the scenarios of the agent issue.

Each test runs the real binaries on loopback with second-scale graces, so a test takes seconds.
Only what needs the real processes is here (the CLI against foghornd, the shipped runbook's hooks,
signals, --check, /metrics). Scenarios of the agent's own logic run in process on a fake clock
(issue 14): flapping, a dead secondary, observe-only and waiting for approval in
tests/orchestrator/agent/agent_scenarios_test.cc; the region outage (planned, then forced after
the data-loss grace, against the emulator) is the fault-free run of arm_faults_e2e_test.py.
"""
import os
import re
import shutil
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402


class AgentEndToEnd(unittest.TestCase):
    def setUp(self):
        self.dir = harness.workdir()
        # 300 ms operations and a 1 s planned grace (below): no scenario here depends on how long
        # they are, and each failover scenario waits for both (issue 14).
        self.sim = harness.ArmSim(self.dir, operation_ms=300)
        self.agent = None

    def tearDown(self):
        if self.agent:
            self.agent.stop()
        self.sim.stop()
        if not self._outcome.result.failures and not self._outcome.result.errors:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print(f"\nkept {self.dir} for inspection", file=sys.stderr)

    def start_agent(self, runbook, **kw):
        # Ready means serving, not done starting: scenarios begin once the agent has read ARM,
        # heard from its probes and journaled its first decision.
        self.agent = harness.Agent(self.dir, self.sim, runbook, **kw).start().wait_settled()
        return self.agent

    def test_partial_outage_with_a_reachable_primary_fails_over_planned_losing_nothing(self):
        probe_target = harness.Listener()
        self.start_agent(harness.runbook_yaml(self.sim, primary_probe_addr=probe_target.address,
                                              planned_grace="1s"))
        self.sim.record_writes(25)
        probe_target.down()  # the agent loses sight of the primary; Azure still reaches it
        wait_until(lambda: self.sim.primary() == "sql-west", 30, "sql-west to become primary")
        wait_until(lambda: any(o[1] == "succeeded" for o in self.agent.operations()), 20,
                   "the operation to be journaled as succeeded")
        self.assertEqual([(o[0], o[1]) for o in self.agent.operations()], [("planned", "succeeded")])
        self.assertEqual([p[0] for p in harness.failover_posts(self.sim)], ["failover"])
        self.assertEqual(self.sim.replication()["writesLost"], 0)

    def test_approval_mode_waits_then_proceeds_when_approved_through_the_cli(self):
        probe_target = harness.Listener()
        self.start_agent(harness.runbook_yaml(self.sim, primary_probe_addr=probe_target.address,
                                              approval_mode="approve_all", planned_grace="1s"))
        probe_target.down()
        wait_until(lambda: any(d[0] == "WAIT_APPROVAL" for d in self.agent.decisions()), 20,
                   "a WAIT_APPROVAL decision")
        # Nothing happens without a human (that it keeps waiting, however long, is
        # AgentScenariosTest.ApprovalModeWaitsWithoutCallingArmUntilApproved, on a fake clock).
        self.assertEqual(harness.mutating_arm_requests(self.sim), [])
        out = self.agent.cli("approve", harness.GROUP, "--reason", "e2e: region confirmed lost")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        wait_until(lambda: self.sim.primary() == "sql-west", 30, "sql-west to become primary")
        self.assertEqual([p[0] for p in harness.failover_posts(self.sim)], ["failover"])
        with self.agent.db() as c:
            actors = [r[0] for r in c.execute("SELECT actor FROM audit WHERE action = 'Approve'")]
        self.assertEqual(actors, ["local"])

    def test_the_shipped_approval_gated_runbook_fails_over_once_a_person_approves(self):
        probe_target = harness.Listener()
        self.agent = harness.Agent(self.dir, self.sim,
                                   _shipped_approval_gated(self.sim, probe_target.address)).start()
        wait_until(lambda: any(d[0] == "HEALTHY" for d in self.agent.decisions()), 30,
                   "the first HEALTHY decision")
        probe_target.down()  # the agent loses sight of the primary; Azure still reaches it
        # approve_forced: the planned failover starts on its own, runs the veto hook, then waits
        # at the runbook's approval step.
        gate = "pre:confirm-with-payments-lead"
        wait_until(lambda: ("intent", gate) in _steps(self.agent), 30, f"{gate} to wait")
        # Nothing happens without a human (that it keeps waiting, however long, is
        # AgentScenariosTest.AnOperationWaitingAtAnApprovalStepStaysRunningAndNeverCallsArm).
        self.assertEqual(harness.mutating_arm_requests(self.sim), [])
        self.assertEqual([(o[0], o[1]) for o in self.agent.operations()], [("planned", "running")])
        out = self.agent.cli("approve", harness.GROUP, "--reason", "e2e: settlement batch paused")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        wait_until(lambda: self.sim.primary() == "sql-west", 30, "sql-west to become primary")
        wait_until(lambda: any(o[1] == "succeeded" for o in self.agent.operations()), 60,
                   "the operation to be journaled as succeeded")
        self.assertEqual([p[0] for p in harness.failover_posts(self.sim)], ["failover"])
        states = dict((name, state) for state, name in _steps(self.agent))
        for step in ("pre:veto-if-batch-running", gate, "arm:failover", "verify:roles",
                     "post:verify-new-primary"):
            self.assertEqual(states.get(step), "done", f"{step}: {states}")
        with self.agent.db() as c:
            actors = [r[0] for r in c.execute(
                "SELECT actor FROM audit WHERE action = 'ApproveStep'")]
        self.assertEqual(actors, ["local"])

    def test_check_refuses_an_approval_gate_that_would_let_a_rejection_through(self):
        steps = ("pre_steps:\n  - name: gate\n    on_failure: continue\n"
                 "    approval: {message: confirm}\n")
        agent = harness.Agent(self.dir, self.sim, harness.runbook_yaml(self.sim, steps=steps))
        out = harness.run_foghornd([f"--config={agent.config}", "--check"])
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertIn("pre_steps[0] (gate)", out.stderr)
        self.assertIn("on_failure: continue", out.stderr)

    def test_sighup_reload_keeps_the_running_set_when_the_new_one_is_bad(self):
        self.start_agent(harness.runbook_yaml(self.sim))
        with open(f"{self.dir}/runbook.yaml", "a") as f:
            f.write("\nnot_a_field: 1\n")
        self.agent.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload rejected" in self.agent.log_text(), 10,
                   "the reload to be rejected")
        self.assertIn("not_a_field", self.agent.log_text())
        self.assertTrue(self.agent.alive())
        out = self.agent.cli("groups")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(harness.GROUP, out.stdout)

    def test_sigterm_during_a_failover_finishes_the_operation_before_exiting(self):
        self.sim.stop()
        # A slow failover: long enough for the SIGTERM to land while ARM runs it (it is sent as
        # soon as the POST is seen).
        self.sim = harness.ArmSim(self.dir, operation_ms=1500)
        probe_target = harness.Listener()
        self.start_agent(harness.runbook_yaml(self.sim, primary_probe_addr=probe_target.address,
                                              planned_grace="1s"))
        probe_target.down()
        wait_until(lambda: harness.failover_posts(self.sim), 30, "the failover POST")
        self.assertEqual(self.agent.stop(), 0)  # SIGTERM while ARM runs the operation
        self.assertEqual([(o[0], o[1]) for o in self.agent.operations()], [("planned", "succeeded")])
        self.assertEqual(self.sim.primary(), "sql-west")
        self.assertEqual(len(harness.failover_posts(self.sim)), 1)

    def test_sigterm_stops_cleanly_and_metrics_are_served(self):
        # A slow first ARM GET, as on a loaded machine: the agent serves (and decides HEALTHY on
        # its probes) before it has read the roles.
        self.sim.add_fault({"kind": "latency", "route": "get", "latencyMs": 1000, "count": 1})
        self.agent = harness.Agent(self.dir, self.sim, harness.runbook_yaml(self.sim)).start()
        # Counters move as the agent works: wait for each to count, never read them once right
        # after start.
        self.agent.wait_for_metric("foghorn_groups")
        self.agent.wait_for_metric("foghorn_decisions_total")
        self.agent.wait_for_metric("foghorn_http_requests_total", method="GET", status="200",
                                   target="arm")
        self.agent.wait_for_metric("foghorn_probe_results_total", outcome="success",
                                   probe=re.compile(r".+/east-tcp"))
        self.assertIn("foghorn_groups 1", self.agent.metrics())
        self.assertEqual(self.agent.stop(), 0)


def _steps(agent):
    """(state, name) of every journaled step, in order."""
    with agent.db() as c:
        return c.execute("SELECT state, name FROM steps ORDER BY operation_id, seq").fetchall()


def _shipped_approval_gated(sim, primary_probe_addr):
    """runbooks/examples/approval-gated.yaml as shipped, with only what ties it to a real
    environment replaced: the group, the probes' addresses (and second-scale probe timings), the
    lag command, the veto hook, the webhook URL, second-scale graces, and the Sunday maintenance
    window (a run on a Sunday night must not hold). Each replacement must apply exactly once, so a
    change to the example fails here instead of silently testing something else."""
    with open(os.path.join(harness.REPO, "runbooks", "examples", "approval-gated.yaml")) as f:
        text = f.read()
    fast = ("    interval: 300ms\n    timeout: 200ms\n    unhealthy_threshold: 3\n"
            "    healthy_threshold: 2\n")
    west = sim.endpoints["server:sql-west"]
    host, port = primary_probe_addr.rsplit(":", 1)
    for old, new in [
        ("subscription_id: 00000000-0000-0000-0000-000000000001", f"subscription_id: {harness.SUB}"),
        ("resource_group: rg-payments", f"resource_group: {harness.RG}"),
        ("  name: fog-payments\n", f"  name: {harness.GROUP}\n"),
        ("primary_server: sql-payments-eus", "primary_server: sql-east"),
        ("secondary_server: sql-payments-wus", "secondary_server: sql-west"),
        ("  - name: primary-sql\n    target: primary\n    tcp: {}\n",
         f"  - name: primary-sql\n    target: primary\n{fast}"
         f"    tcp: {{address: \"{primary_probe_addr}\"}}\n"),
        ("  - name: secondary-sql\n    target: secondary\n    tcp: {}\n",
         f"  - name: secondary-sql\n    target: secondary\n{fast}"
         f"    tcp: {{address: \"{west}\"}}\n"),
        ("name: fog-payments.database.windows.net", "name: localhost"),
        # The lag probe targets the primary, so it votes in the primary's default rule: like
        # the real one it must fail when the primary cannot be reached.
        ("  - name: lag\n    target: primary\n", f"  - name: lag\n    target: primary\n{fast}"),
        ("argv: [/opt/foghorn/bin/lag-probe, fog-payments]",
         f"argv: [{sys.executable}, -c, \"import socket; socket.create_connection(('{host}', "
         f"{port}), 0.2); print(0)\"]"),
        ("  planned_grace: 1m\n", "  confirm_after: 1s\n  planned_grace: 1s\n"),
        ('  maintenance_windows:\n    - days: [sun]\n      start: "02:00"\n      duration: 2h\n', ""),
        ("argv: [/opt/payments/bin/check-no-settlement-batch]", 'argv: ["true"]'),
        ("url: https://hooks.example/payments", f"url: http://127.0.0.1:{harness._free_port()}/hook"),
    ]:
        if text.count(old) != 1:
            raise AssertionError(f"approval-gated.yaml changed: {old!r} is not there once")
        text = text.replace(old, new)
    return text


if __name__ == "__main__":
    harness.main()
