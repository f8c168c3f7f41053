"""Coordinated agents end to end (issue 15): a 3-member etcd cluster, foghorn-armsim with one
vantage per agent, and 3 foghornd on loopback (tests/e2e/coord_harness.py). The scenarios: a
region lost for every vantage, one vantage partitioned, the leader killed or frozen mid-failover,
pause and approval given to another agent than the leader, one etcd member down, and the etcd
quorum lost.

Every count comes from the emulator's request log (what ARM accepted) and each agent's own
journal; leadership is read from etcd's leader key. Skipped (exit code 77) without /usr/bin/etcd.
"""
import os
import re
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coord_harness as ch  # noqa: E402
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

FORCED = "forceFailoverAllowDataLoss"
TTL_S = 3  # the agents' session_ttl


def setUpModule():
    if not ch.etcd_available():
        raise unittest.SkipTest(f"{ch.ETCD} is not installed (Debian etcd-server)")


class CoordEndToEnd(unittest.TestCase):
    def setUp(self):
        self.setup = None

    def tearDown(self):
        if self.setup:
            self.setup.stop()
            if not self._outcome.result.failures and not self._outcome.result.errors:
                shutil.rmtree(self.setup.dir, ignore_errors=True)
            else:
                print(f"\nkept {self.setup.dir} for inspection", file=sys.stderr)

    def start(self, operation_ms=800, **runbook_kw):
        self.setup = ch.CoordSetup(
            operation_ms=operation_ms, session_ttl=f"{TTL_S}s",
            runbook=lambda sim, vantage: ch.vantage_runbook(sim, vantage, **runbook_kw))
        self.sim = self.setup.sim
        return self.setup

    # What every scenario that fails over checks in the end: one operation, run by one agent,
    # and the emulator saw at most one planned and one forced POST accepted.
    def assert_one_failover_by(self, agent, forced=True):
        posts = harness.failover_posts(self.sim)
        routes = [p[0] for p in posts]
        self.assertEqual(routes.count(FORCED), 1 if forced else 0, posts)
        self.assertLessEqual(routes.count("failover"), 1, posts)
        self.assertEqual(self.sim.accepted_failovers(), len(posts))
        self.assertEqual(self.sim.role_changes(), 1)
        self.assertEqual(self.setup.agents_with_operations(), [agent.name])
        self.assertEqual(len([o for o in agent.operations() if o[1] == "succeeded"]), 1,
                         agent.operations())

    def test_region_lost_for_every_vantage_fails_over_once_by_the_leader(self):
        s = self.start(data_loss_grace="6s")
        leader = s.wait_leader()
        self.sim.record_writes(20)
        self.sim.region_down(ch.PRIMARY_REGION)
        wait_until(lambda: self.sim.primary() == "sql-west", 60, "sql-west to become primary")
        wait_until(lambda: _succeeded(leader), 20, "the leader to journal its operation succeeded")
        _pause(3)  # the followers had every reason to act too: they must not
        self.assert_one_failover_by(leader)
        self.assertEqual(s.leader_name(), leader.name)
        # The decision lists which vantages said what.
        journaled = " ".join(d[2] for d in leader.decisions())
        for v in ch.VANTAGES:
            self.assertRegex(journaled, rf"\b{v}=down", journaled)

    def test_one_vantage_partitioned_from_the_primary_does_not_fail_over(self):
        s = self.start()
        leader = s.wait_leader()
        # The leader's own vantage loses the primary's region: the worst place for the partition.
        self.sim.partition(leader.vantage, ch.PRIMARY_REGION, mode="refuse")
        wait_until(lambda: (leader.group() or {}).get("primary", {}).get("verdict")
                   == "VERDICT_UNHEALTHY", 20, "the leader to see the primary unhealthy")
        dissenters = [v for v in ch.VANTAGES if v != leader.vantage]

        def names_every_vote():
            text = leader.decision_text()
            return (re.search(rf"\b{leader.vantage}=down", text)
                    and all(re.search(rf"\b{v}=up", text) for v in dissenters)) and text
        text = wait_until(names_every_vote, 20, "the decision to name each vantage's vote")
        _pause(5)  # past confirm_after (1s) and planned_grace (2s): still nothing may happen
        self.assertEqual(harness.mutating_arm_requests(self.sim), [])
        self.assertEqual(s.agents_with_operations(), [])
        self.assertEqual(self.sim.primary(), "sql-east")
        d = leader.decision()
        self.assertNotIn(d.get("stage"), ("DECISION_STAGE_PLANNED", "DECISION_STAGE_FORCED",
                                           "DECISION_STAGE_TRY_PLANNED_BEFORE_FORCED"), text)
        self.assertIn(d.get("action", "FAILOVER_KIND_UNSPECIFIED"),
                      ("FAILOVER_KIND_UNSPECIFIED",), d)

    def test_leader_killed_after_its_forced_post_another_agent_resumes_the_same_operation(self):
        s = self.start(operation_ms=4000, data_loss_grace="4s")  # ARM runs the failover for 4s
        old = s.wait_leader()
        self.sim.region_down(ch.PRIMARY_REGION)
        wait_until(lambda: FORCED in [p[0] for p in harness.failover_posts(self.sim)], 60,
                   "the leader's forced POST to be accepted")
        old.kill9()
        killed_at = time.monotonic()
        forced_before = [o for o in old.operations_full() if o[2] == "forced"]
        self.assertEqual(len(forced_before), 1, old.operations_full())
        new = s.wait_leader(other_than=old.name, timeout=TTL_S + 15)
        print(f"\nleader takeover {time.monotonic() - killed_at:.2f}s after SIGKILL "
              f"(session_ttl {TTL_S}s)", file=sys.stderr)
        wait_until(lambda: self.sim.primary() == "sql-west", 30, "sql-west to become primary")
        wait_until(lambda: _succeeded(new), 30, "the new leader to finish the operation")
        _pause(2)
        posts = harness.failover_posts(self.sim)
        self.assertEqual([p[0] for p in posts].count(FORCED), 1, posts)
        self.assertEqual(self.sim.role_changes(), 1)
        # The same operation: the new leader resumed the old one's request id and target.
        resumed = [o for o in new.operations_full() if o[3] == "succeeded"]
        self.assertEqual(len(resumed), 1, new.operations_full())
        self.assertEqual((resumed[0][1], resumed[0][4]), (forced_before[0][1], forced_before[0][4]))
        third = [a for a in s.agents if a not in (old, new)][0]
        self.assertEqual(third.safe_operations(), [])

    def test_leader_frozen_past_its_lease_in_pre_steps_is_replaced_and_sends_nothing(self):
        steps = "pre_steps:\n  - name: settle\n    wait: {duration: 6s}\n"
        s = self.start(steps=steps)
        old = s.wait_leader()
        # Every vantage loses the primary's data plane; ARM still reaches it: a planned failover.
        for v in ch.VANTAGES:
            self.sim.partition(v, ch.PRIMARY_REGION)
        wait_until(lambda: "pre:settle" in [st[0] for st in old.steps("planned")], 30,
                   "the leader to start its pre step")
        old.sigstop()
        stopped_at = time.monotonic()
        try:
            self.assertEqual(harness.mutating_arm_requests(self.sim), [])
            new = s.wait_leader(other_than=old.name, timeout=TTL_S + 15)
            print(f"\nleader takeover {time.monotonic() - stopped_at:.2f}s after SIGSTOP",
                  file=sys.stderr)
            wait_until(lambda: self.sim.primary() == "sql-west", 40, "sql-west to become primary")
            wait_until(lambda: _succeeded(new), 30, "the new leader to finish the operation")
            sent = harness.mutating_arm_requests(self.sim)
        finally:
            old.sigcont()
        # The old leader wakes up with its pre step long over: its next side effect is the
        # failover POST, which its lost lease must stop. It gets time to try.
        _pause(5)
        self.assertTrue(old.alive(), "the old leader must survive losing its lease")
        self.assertEqual(harness.mutating_arm_requests(self.sim), sent)
        posts = harness.failover_posts(self.sim)
        self.assertEqual([p[0] for p in posts], ["failover"], posts)
        self.assertEqual(self.sim.role_changes(), 1)
        # The old leader's own operation ended at its fence, never reaching ARM. (It may lead the
        # group again afterwards under a new term: the placement rule prefers it.)
        wait_until(lambda: any(o[2] == "planned" and o[3] == "aborted"
                               for o in old.operations_full()), 20,
                   "the old leader's operation to end at its fence")
        ended = [o for o in old.operations_full() if o[2] == "planned"]
        self.assertEqual(len(ended), 1, ended)
        self.assertIn("not sent to ARM", ended[0][5])

    def test_pause_through_one_agent_holds_the_leader(self):
        s = self.start(data_loss_grace="4s")
        leader = s.wait_leader()
        other = s.followers(leader)[0]
        out = other.cli("pause", harness.GROUP, "--reason", "e2e: change freeze")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        wait_until(lambda: (leader.group() or {}).get("pause", {}).get("paused"), 15,
                   f"the pause given to {other.name} to reach the leader {leader.name}")
        self.sim.region_down(ch.PRIMARY_REGION)
        wait_until(lambda: "PAUSED" in leader.reason_codes(), 30,
                   "the leader to hold for the pause")
        _pause(6)  # past every grace: the pause holds
        self.assertEqual(harness.mutating_arm_requests(self.sim), [])
        self.assertEqual(s.agents_with_operations(), [])
        out = other.cli("resume", harness.GROUP)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        wait_until(lambda: self.sim.primary() == "sql-west", 60, "sql-west to become primary")
        wait_until(lambda: _succeeded(leader), 20, "the leader to finish the operation")
        self.assert_one_failover_by(leader)

    def test_approval_through_one_agent_lets_the_leaders_forced_failover_go(self):
        s = self.start(approval_mode="approve_forced", data_loss_grace="4s")
        leader = s.wait_leader()
        other = s.followers(leader)[0]
        self.sim.region_down(ch.PRIMARY_REGION)
        wait_until(lambda: leader.decision().get("stage") == "DECISION_STAGE_WAIT_APPROVAL", 60,
                   "the leader to wait for approval of the forced failover")
        _pause(3)  # waiting means waiting
        self.assertNotIn(FORCED, [p[0] for p in harness.failover_posts(self.sim)])
        out = other.cli("approve", harness.GROUP, "--reason", "e2e: region confirmed lost")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        wait_until(lambda: self.sim.primary() == "sql-west", 60, "sql-west to become primary")
        wait_until(lambda: _succeeded(leader), 20, "the leader to finish the operation")
        self.assert_one_failover_by(leader)
        with other.db() as c:
            actors = [r[0] for r in c.execute("SELECT actor FROM audit WHERE action = 'Approve'")]
        self.assertEqual(actors, ["local"])

    def test_one_etcd_member_down_changes_nothing(self):
        s = self.start(data_loss_grace="4s")
        s.wait_leader()
        s.etcd.stop_member(0)  # the first endpoint of every agent
        s.etcd.wait_healthy(s.etcd.members[1:])
        leader = s.wait_leader()
        self.sim.region_down(ch.PRIMARY_REGION)
        wait_until(lambda: self.sim.primary() == "sql-west", 60, "sql-west to become primary")
        wait_until(lambda: _succeeded(leader), 20, "the leader to finish the operation")
        _pause(2)
        self.assert_one_failover_by(leader)
        for a in s.agents:
            self.assertEqual(a.metric("foghorn_coordination_lost"), 0, a.name)
            self.assertNotIn("COORDINATION_LOST", a.journaled_reason_codes(), a.name)

    def test_etcd_quorum_lost_holds_everything_and_recovers_when_it_returns(self):
        s = self.start(data_loss_grace="4s")
        leader = s.wait_leader()
        s.etcd.lose_quorum()
        for a in s.agents:
            a.wait_for_metric("foghorn_coordination_lost", timeout=TTL_S + 20)
        wait_until(lambda: "COORDINATION_LOST" in leader.reason_codes(), 20,
                   "COORDINATION_LOST in the leader's decision")
        self.sim.region_down(ch.PRIMARY_REGION)
        wait_until(lambda: all((a.group() or {}).get("primary", {}).get("verdict")
                               == "VERDICT_UNHEALTHY" for a in s.agents), 20,
                   "every agent to see the primary unhealthy")
        _pause(8)  # past confirm_after + planned_grace + data_loss_grace: still nothing
        self.assertEqual(harness.mutating_arm_requests(self.sim), [])
        self.assertEqual(s.agents_with_operations(), [])
        for a in s.agents:
            self.assertGreaterEqual(a.metric("foghorn_coordination_lost"), 1, a.name)
        self.assertIn("COORDINATION_LOST", leader.reason_codes())
        s.etcd.restore_quorum()
        for a in s.agents:
            wait_until(lambda a=a: a.metric("foghorn_coordination_lost") == 0, TTL_S + 20,
                       f"{a.name} to clear COORDINATION_LOST")
        leader = s.wait_leader(timeout=TTL_S + 20)
        wait_until(lambda: self.sim.primary() == "sql-west", 60, "sql-west to become primary")
        wait_until(lambda: _succeeded(leader), 20, "the leader to finish the operation")
        _pause(2)
        self.assert_one_failover_by(leader)


class CoordHarnessSelfTest(unittest.TestCase):
    """The harness itself, with the agents running alone (no coordination needed): what the
    scenarios above rely on works, so their failures are foghornd's, not the harness's."""

    def test_etcd_survives_one_member_down_and_reports_a_lost_quorum(self):
        workdir = harness.workdir()
        etcd = ch.EtcdCluster(workdir)
        try:
            began = time.monotonic()
            etcd.start()
            print(f"\n3-member etcd healthy {time.monotonic() - began:.2f}s after start",
                  file=sys.stderr)
            etcd.put(ch.KEY_PREFIX + "/probe/a", "1")
            etcd.stop_member(0)
            etcd.wait_healthy(etcd.members[1:])
            etcd.put(ch.KEY_PREFIX + "/probe/b", "2")  # two of three: still a quorum
            etcd.start_member(0)
            etcd.lose_quorum()
            self.assertFalse(etcd.members[0].healthy())
            with self.assertRaises(AssertionError):
                etcd.put(ch.KEY_PREFIX + "/probe/c", "3")
            etcd.restore_quorum()
            got = etcd.get_prefix(ch.KEY_PREFIX + "/probe/")
            self.assertEqual(got.get(ch.KEY_PREFIX + "/probe/a"), "1")
            self.assertEqual(got.get(ch.KEY_PREFIX + "/probe/b"), "2")
            shutil.rmtree(workdir, ignore_errors=True)
        except Exception:
            print(f"\nkept {workdir}", file=sys.stderr)
            raise
        finally:
            etcd.stop()

    def test_each_agent_probes_through_its_own_vantage(self):
        # observe_only: an agent that runs alone must not fail over while its vantage is cut off.
        s = ch.CoordSetup(runbook=lambda sim, v: ch.vantage_runbook(sim, v,
                                                                     approval_mode="observe_only"))
        try:
            v1, v2, v3 = s.agents

            def verdict(a):
                return (a.group() or {}).get("primary", {}).get("verdict")
            s.sim.partition("v1", ch.PRIMARY_REGION, mode="refuse")
            wait_until(lambda: verdict(v1) == "VERDICT_UNHEALTHY", 20, "v1 to lose the primary")
            self.assertEqual([verdict(v2), verdict(v3)], ["VERDICT_HEALTHY"] * 2)
            s.sim.heal("v1")
            wait_until(lambda: verdict(v1) == "VERDICT_HEALTHY", 20, "v1 to see the primary again")
            # The signal helpers: a stopped agent does not answer, a continued one does.
            v2.sigstop()
            self.assertIsNone(_with_timeout(v2))
            v2.sigcont()
            wait_until(lambda: v2.group() is not None, 20, "v2 to answer after SIGCONT")
            v3.kill9()
            self.assertEqual(v3.proc.returncode, -9)
            self.assertEqual(harness.mutating_arm_requests(s.sim), [])
        finally:
            s.stop()
        shutil.rmtree(s.dir, ignore_errors=True)


def _with_timeout(agent):
    """GetGroup with a 1s deadline (a stopped agent accepts the connection, never answers)."""
    out = agent.cli("group", harness.GROUP, "--timeout", "1s", "-o", "json")
    return None if out.returncode != 0 else out.stdout


def _succeeded(agent):
    return any(o[1] == "succeeded" for o in agent.safe_operations())


def _pause(seconds):
    """Lets real time pass while the agents work (the scenario needs elapsed time itself: an
    observation window in which something must NOT happen)."""
    time.sleep(seconds)


if __name__ == "__main__":
    if not ch.etcd_available():
        print(f"SKIP: {ch.ETCD} is not installed", file=sys.stderr)
        sys.exit(77)  # ctest SKIP_RETURN_CODE
    unittest.main(verbosity=2)
