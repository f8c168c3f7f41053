"""Crash-and-resume: foghornd is killed (SIGKILL) right after each journal write of a failover,
restarted, and every run must end with exactly one role change and one accepted failover POST
(read from the emulator's request log). Repeated with an injected connection reset after the
emulator applied the failover POST. And a drill killed during its hold (after its failover) is
resumed by the restarted agent: failed back exactly once, and journaled as interrupted.

Every scenario has its own work directory, emulator, ports and agent, so they are independent:
they run side by side (FOGHORN_E2E_JOBS at a time, 8 by default), started together when the
module is set up, and each test method then checks its own scenarios' results. The planned
grace is short here (500 ms instead of 2 s: what is tested is the resume, not the grace, which
the decision engine's unit tests and the agent scenarios cover); the journal writes of the flow
are the same (HEALTHY, SUSPECT, CONFIRMED_DOWN and PLANNED decisions, operation, audit, steps).
"""
import concurrent.futures
import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

# Journal writes of a clean partial-outage failover: decisions, operation, audit, steps, outcome.
MAX_WRITE = int(os.environ.get("FOGHORN_CRASH_MAX_WRITE", "16"))
JOBS = max(1, int(os.environ.get("FOGHORN_E2E_JOBS", "8")))

# (name, crash_after, fault) of every crash-and-resume run; 10_000 means no crash.
RESET_AFTER_APPLIED = {"kind": "reset_after", "route": "failover", "count": 1}
SCENARIOS = (
    [(f"write-{n}", n, None) for n in range(1, MAX_WRITE + 1)]
    # The emulator applies the POST, then drops the connection: the client re-reads at once and
    # may post again to the same target, which ARM refuses (409 busy while the operation runs,
    # 400 once the target is primary): still one accepted POST; combined with crashes around the
    # ARM step.
    + [(f"reset-{n}", n if n else 10_000, RESET_AFTER_APPLIED) for n in (0, 9, 10, 11)]
    # 503, and 500 OperationTimedOut, answered before the POST is applied: an ambiguous outcome,
    # so the client re-reads the group at once and, the target still secondary, posts again after
    # a short backoff; once with a crash right after the ARM step's intent.
    + [(f"{kind}-{n}", n if n else 10_000, {"kind": kind, "route": "failover", "count": 1})
       for kind, n in (("503", 0), ("500", 9))])

_check = unittest.TestCase()  # assertion helpers for the worker threads
_pool = None
_results = {}


def setUpModule():
    global _pool
    _pool = concurrent.futures.ThreadPoolExecutor(max_workers=JOBS)
    # The drill first: it is the longest single scenario.
    _results["drill"] = _pool.submit(_drill_killed_during_hold)
    for name, crash_after, fault in SCENARIOS:
        _results[name] = _pool.submit(_run_once, crash_after, fault)


def tearDownModule():
    _pool.shutdown(wait=True, cancel_futures=True)


def _result(name):
    """Re-raises, on the test's thread, whatever the scenario raised."""
    _results[name].result(timeout=600)


def _run_once(crash_after, fault=None):
    workdir = harness.workdir()
    sim = harness.ArmSim(workdir, operation_ms=600)
    agent = None
    try:
        if fault:
            sim.add_fault(fault)
        probe_target = harness.Listener()
        agent = harness.Agent(workdir, sim, harness.runbook_yaml(
            sim, primary_probe_addr=probe_target.address, planned_grace="500ms"))
        # The crash may come before the agent is ready (its first decision is a write).
        agent.start({"FOGHORN_JOURNAL_CRASH_AFTER_WRITE": str(crash_after)}, allow_death=True)
        probe_target.down()
        # Either the agent dies at its crash point or the failover completes first.
        wait_until(lambda: not agent.alive() or _succeeded(agent), 60,
                   f"crash after write {crash_after} or a finished failover")
        if not agent.alive():
            _check.assertEqual(agent.proc.returncode, -9, "killed by SIGKILL at the crash point")
            agent.log.close()
            agent.start()  # no crash this time
        wait_until(lambda: _succeeded(agent), 60, "the failover to be journaled as succeeded")
        _check.assertEqual(sim.primary(), "sql-west")
        posts = harness.failover_posts(sim)
        _check.assertEqual(len(posts), 1, f"accepted failover POSTs: {posts}")
        _check.assertEqual(sim.accepted_failovers(), 1)
        _check.assertEqual(len([o for o in agent.operations() if o[1] == "succeeded"]), 1)
        shutil.rmtree(workdir, ignore_errors=True)
    except Exception as e:
        raise AssertionError(f"crash_after={crash_after} fault={fault}: kept {workdir}: {e}") from e
    finally:
        if agent:
            agent.stop()
        sim.stop()


class CrashResume(unittest.TestCase):
    def test_every_journal_write(self):
        for n in range(1, MAX_WRITE + 1):
            with self.subTest(crash_after_write=n):
                _result(f"write-{n}")

    def test_reset_after_the_failover_was_applied(self):
        for n in (0, 9, 10, 11):
            with self.subTest(crash_after_write=n):
                _result(f"reset-{n}")

    def test_server_errors_and_busy_answers_on_the_failover_post(self):
        for kind, n in (("503", 0), ("500", 9)):
            with self.subTest(fault=kind, crash_after_write=n):
                _result(f"{kind}-{n}")


class CrashDuringDrill(unittest.TestCase):
    def test_a_drill_killed_during_its_hold_fails_back_once_after_the_restart(self):
        _result("drill")


def _drill_killed_during_hold():
    workdir = harness.workdir()
    sim = harness.ArmSim(workdir, operation_ms=300)
    agent = None
    check = _check
    try:
        agent = harness.Agent(workdir, sim, harness.drill_runbook(sim, hold="10m"))
        agent.start().wait_settled()
        wait_until(lambda: agent.cli("readiness", harness.GROUP).returncode == 0, 20,
                   "the group to be ready")
        r = agent.cli("drill", harness.GROUP)
        check.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        drill_id = [w for w in r.stdout.split() if w.startswith("drill-")][0]
        # The hold has begun: the failover was carried out and verified.
        wait_until(lambda: ("hold", "intent") in [s[:2] for s in agent.steps("drill")], 60,
                   "the drill's hold")
        check.assertEqual(sim.primary(), "sql-west")
        agent.proc.kill()
        agent.proc.wait(10)
        check.assertEqual(agent.proc.returncode, -9)
        agent.log.close()

        agent.start()
        wait_until(lambda: [o for o in agent.operations()
                            if o[0] == "drill" and o[1] != "running"], 60,
                   "the interrupted drill to be finished by the restarted agent")
        # Exactly one drill failover POST and one fail-back POST reached ARM, in that order,
        # and the roles end as they started.
        posts = [p for p in sim.requests("failover") if p.get("acceptedOperation")]
        check.assertEqual([p["server"] for p in posts], ["sql-west", "sql-east"], posts)
        check.assertEqual(len(harness.failover_posts(sim)), 2)
        check.assertEqual(sim.primary(), "sql-east")
        # The journal: the drill finished, its interruption and recovery noted.
        ops = agent.operations()
        check.assertEqual(len(ops), 1, ops)
        kind, state, _, outcome = ops[0]
        check.assertEqual((kind, state), ("drill", "failed"))
        check.assertIn("interrupted by an agent restart during hold", outcome)
        check.assertIn("recovered: failed back to sql-east", outcome)
        steps = [s[:2] for s in agent.steps("drill")]
        check.assertEqual(steps, [("preflight", "done"), ("failover", "done"),
                                  ("verify_failover", "done"), ("hold", "failed"),
                                  ("abort_failback", "done"), ("verify_failback", "done")])
        # Its report is kept under the id the drill was started as.
        report = harness._read_json(
            os.path.join(workdir, "state", "reports", drill_id + ".json"))
        check.assertIsNotNone(report, "the resumed drill's report")
        check.assertEqual(report["final_primary"], "sql-east")
        check.assertIn("interrupted", report["summary"])

        # The agent's automation is back on once the drill is over.
        def unpaused():
            group = json.loads(agent.cli("group", harness.GROUP, "--history", "0",
                                         "-o", "json").stdout)
            return not group["group"].get("pause", {}).get("paused", False)
        wait_until(unpaused, 20, "the drill's pause to end")
        shutil.rmtree(workdir, ignore_errors=True)
    except Exception as e:
        raise AssertionError(f"drill crash: kept {workdir}: {e}") from e
    finally:
        if agent:
            agent.stop()
        sim.stop()


def _succeeded(agent):
    try:
        return any(o[1] == "succeeded" for o in agent.operations())
    except Exception:  # the journal may not exist yet
        return False


if __name__ == "__main__":
    unittest.main(verbosity=2)
