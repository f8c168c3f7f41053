"""DR drills end to end: the real foghornd and foghorn CLI against foghorn-armsim.

A full drill through `foghorn drill fog-orders --hold 1s --wait` passes and fails back, and the
report's figures (failover POSTs, writes lost, final primary) are checked against the emulator's
own request log and replication model. A drill whose check hook fails after the first failover is
aborted and leaves the group on its original primary.
"""
import datetime
import json
import os
import re
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402


def drill_runbook(sim, check_hook=None):
    base = harness.runbook_yaml(sim)
    rw = sim.endpoints[f"fg:{harness.GROUP}:rw"]
    base = base.replace("probes:\n", "probes:\n"
                        f"  - {{name: rw-listener, target: listener_read_write, interval: 300ms, "
                        f"timeout: 200ms, tcp: {{address: \"{rw}\"}}}}\n", 1)
    hook = ""
    if check_hook:
        hook = "  check_hook:\n    argv: [/bin/sh, -c, '" + check_hook + "']\n"
    return base + f"""drill:
  hold: 10m
  verify_timeout: 30s
  verify_probes: [rw-listener]
{hook}"""


class DrillEndToEnd(unittest.TestCase):
    def setUp(self):
        self.dir = harness.workdir()
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

    def start_agent(self, runbook, config_extra=""):
        self.agent = harness.Agent(self.dir, self.sim, runbook)
        with open(self.agent.config, "a") as f:
            f.write(config_extra)
        self.agent.start().wait_settled()
        # The rw listener probe must have results before the drill verifies it.
        wait_until(lambda: self.agent.cli("readiness", harness.GROUP).returncode == 0, 20,
                   "the group to be ready")

    def report(self, drill_id):
        r = self.agent.cli("report", drill_id, "-o", "json")
        rep = json.loads(r.stdout)
        # Exit 0 for a passed drill, 1 for a failed or aborted one.
        passed = rep["outcome"] == "DRILL_OUTCOME_PASSED"
        self.assertEqual(r.returncode, 0 if passed else 1, r.stderr)
        return rep

    def drill_id(self, out):
        for word in out.split():
            if word.startswith("drill-"):
                return word.rstrip(":")
        self.fail(f"no drill id in {out}")

    def test_a_full_drill_passes_fails_back_and_its_figures_match_the_emulator(self):
        self.start_agent(drill_runbook(self.sim))
        self.sim.record_writes(50)
        r = self.agent.cli("drill", harness.GROUP, "--hold", "1s", "--wait")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("drill verify_failback done", r.stdout)
        self.assertIn("data lost: 0 writes", r.stdout)
        drill_id = self.drill_id(r.stdout)

        rep = self.report(drill_id)
        self.assertEqual(rep["outcome"], "DRILL_OUTCOME_PASSED")
        self.assertEqual(rep["original_primary"], "sql-east")
        self.assertEqual(rep["final_primary"], "sql-east")
        self.assertEqual(self.sim.primary(), "sql-east")
        # The report's failover POSTs are the emulator's: one each way, in that order.
        posts = [r for r in self.sim.requests("failover") if r.get("acceptedOperation")]
        self.assertEqual([p["server"] for p in posts], ["sql-west", "sql-east"])
        self.assertEqual(harness.failover_posts(self.sim), [("failover", p["tsUnixMs"]) for p in posts])
        dirs = {d["name"]: d for d in rep["directions"]}
        self.assertEqual(sum(d["posts_accepted"] for d in dirs.values()), len(posts))
        self.assertEqual(dirs["failover"]["to_server"], "sql-west")
        self.assertEqual(dirs["failback"]["to_server"], "sql-east")
        replication = self.sim.replication()
        self.assertEqual(replication["writesLost"], 0)
        for d in dirs.values():
            self.assertTrue(d["completed"])
            self.assertEqual(d["data_lost_writes"], replication["writesLost"])
            self.assertRegex(d.get("rto", ""), r"^[0-9.]+s$", d)
        # Stored under the state dir (JSON and HTML), listed through the API.
        html = os.path.join(self.dir, "state", "reports", drill_id + ".html")
        self.assertTrue(os.path.exists(html))
        listed = self.agent.cli("reports", harness.GROUP)
        self.assertIn(drill_id, listed.stdout)
        # The journal holds one drill operation, succeeded; the agent's automation is back on.
        ops = self.agent.operations()
        self.assertEqual([(o[0], o[1]) for o in ops], [("drill", "succeeded")])
        group = json.loads(self.agent.cli("group", harness.GROUP, "--history", "0", "-o", "json").stdout)
        self.assertFalse(group["group"].get("pause", {}).get("paused", False))

    def test_a_drill_whose_check_fails_after_the_failover_ends_on_the_original_primary(self):
        self.start_agent(drill_runbook(self.sim, check_hook='test "$FOGHORN_DRILL_PHASE" != failover'))
        r = self.agent.cli("drill", harness.GROUP, "--hold", "1s", "--wait")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        drill_id = self.drill_id(r.stdout)
        rep = self.report(drill_id)
        self.assertEqual(rep["outcome"], "DRILL_OUTCOME_FAILED")
        steps = [s["name"] for s in rep["steps"]]
        self.assertIn("abort_failback", steps)
        self.assertNotIn("hold", steps)
        self.assertEqual(rep["final_primary"], "sql-east")
        self.assertEqual(self.sim.primary(), "sql-east")
        posts = [r for r in self.sim.requests("failover") if r.get("acceptedOperation")]
        self.assertEqual([p["server"] for p in posts], ["sql-west", "sql-east"])
        self.assertEqual(self.sim.replication()["writesLost"], 0)

    def test_a_scheduled_drill_runs_at_its_first_slot(self):
        # The first slot is a wall-clock time written before the agent starts; an agent that takes
        # longer than that to start (a loaded machine) arms the next slot, a day later. So check
        # what it armed, and try again with more headroom when it missed the slot.
        # foghornd is serving and settled well within a second on an idle machine (issue 14
        # measured 0.3 s); the slot is written to the second (up to 1 s less than the headroom)
        # and the suite runs e2e scenarios side by side, so the first try gives it 3 s, the next
        # 8 s.
        for headroom in (3, 8, 45):
            first_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + headroom))
            self.start_agent(drill_runbook(self.sim), config_extra=f"""drills:
  - {{group: {harness.GROUP}, interval: 24h, first_at: "{first_at}", hold: 1s}}
""")
            armed = wait_until(lambda: re.findall(r'next scheduled drill.*?"at":\s*"([^"]+)"',
                                                  self.agent.log_text()), 20,
                               "the first scheduled drill to be armed")
            if _same_instant(armed[0], first_at):
                break
            self.agent.stop()
        else:
            self.fail("the agent never started before its first drill slot")
        reports = os.path.join(self.dir, "state", "reports")
        wait_until(lambda: [f for f in os.listdir(reports) if f.endswith(".json")]
                   if os.path.isdir(reports) else None, 60, "the scheduled drill's report")
        name = [f for f in os.listdir(reports) if f.endswith(".json")][0]
        rep = self.report(name[:-len(".json")])
        self.assertEqual(rep["outcome"], "DRILL_OUTCOME_PASSED")
        self.assertEqual(self.sim.primary(), "sql-east")
        self.assertIn("scheduled drill started", self.agent.log_text())

    def test_a_dry_run_prints_the_plan_and_sends_no_mutation(self):
        self.start_agent(drill_runbook(self.sim))
        r = self.agent.cli("drill", harness.GROUP, "--dry-run")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("dry run: would fail fog-orders over from sql-east to sql-west", r.stdout)
        self.assertEqual(harness.mutating_arm_requests(self.sim), [])


def _same_instant(a, b):
    parse = lambda t: datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
    return parse(a) == parse(b)


if __name__ == "__main__":
    harness.main()
