"""Start-up refuses before it acts, and a start-up that fails after it started unwinds in order.

A config foghornd must refuse (the control API on a non-loopback address without TLS or tokens)
is refused by `--check` and by a real start-up, 100 times (four at a time), each exiting 2 before
it asks ARM anything or creates its state dir. A start-up that can only fail once running (the control
API's port is taken, found when binding, after the journal, probes, agent and /metrics started)
shuts down in reverse order and exits 2: never a crash, never a hang.
"""
import collections
import os
import shutil
import socket
import sys
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ENV = {"FOGHORN_E2E_ARM_TOKEN": "e2e-token"}
# A refused start-up takes milliseconds; far more than that means it hangs.
RUN_TIMEOUT_S = 30
# Start-ups run this many at a time (issue 14: the 140 runs took 14 s one after another); each
# still starts a whole foghornd, and runs at once are if anything likelier to meet a race.
PARALLEL = 4


class StartUp(unittest.TestCase):
    def setUp(self):
        self.dir = harness.workdir()
        self.sim = harness.ArmSim(self.dir)

    def tearDown(self):
        self.sim.stop()
        if not self._outcome.result.failures and not self._outcome.result.errors:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print(f"\nkept {self.dir} for inspection", file=sys.stderr)

    def config_with_api_listen(self, listen, workdir=None):
        """The e2e agent's config (harness.Agent) with the control API on `listen`, written into
        `workdir` (default: the test's dir)."""
        workdir = workdir or self.dir
        config = harness.Agent(workdir, self.sim, harness.runbook_yaml(self.sim)).config
        with open(config) as f:
            text = f.read()
        api_line = '  listen: "127.0.0.1:0"\n'
        self.assertIn(api_line, text)
        with open(config, "w") as f:
            f.write(text.replace(api_line, f'  listen: "{listen}"\n', 1))
        return config

    def run_many(self, configs, times):
        """Runs foghornd `times` times, PARALLEL runs at once, run i with configs[i % len]; returns
        (Counter of exit codes, "hung" or "signal N"), the last run). Runs at once share nothing
        but what their configs share: a config that creates state gets one per worker."""
        outcomes = collections.Counter()
        last = None

        def one(i):
            return harness.run_foghornd([f"--config={configs[i % len(configs)]}"],
                                        RUN_TIMEOUT_S, ENV)

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            for last in pool.map(one, range(times)):
                if last.returncode is None:
                    outcomes["hung"] += 1
                elif last.returncode < 0:
                    outcomes[f"signal {-last.returncode}"] += 1
                else:
                    outcomes[last.returncode] += 1
        return outcomes, last

    def test_check_refuses_a_non_loopback_api_without_tls_naming_the_field(self):
        config = self.config_with_api_listen("0.0.0.0:0")
        r = harness.run_foghornd([f"--config={config}", "--check"], RUN_TIMEOUT_S, ENV)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn(f"foghornd: invalid config: {config}: api.listen: 0.0.0.0:0 is not a "
                      "loopback address", r.stderr)
        self.assertIn("missing: tls and tokens", r.stderr)

    def test_a_hundred_refused_start_ups_all_exit_2_before_acting(self):
        config = self.config_with_api_listen("0.0.0.0:0")
        outcomes, last = self.run_many([config], 100)
        self.assertEqual(outcomes, {2: 100}, last.stderr[-3000:])
        self.assertIn("api.listen: 0.0.0.0:0 is not a loopback address", last.stderr)
        # Refused before it acted: no ARM request, no state dir, no journal.
        self.assertEqual(self.sim.requests(), [])
        self.assertFalse(os.path.exists(os.path.join(self.dir, "state")))

    def test_a_start_up_failing_after_the_agent_started_unwinds_in_order(self):
        blocker = socket.socket()  # no SO_REUSEPORT: gRPC cannot share the port
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        # One work dir (state dir, journal) per worker: runs at once must not meet on a journal.
        dirs = [os.path.join(self.dir, f"w{i}") for i in range(PARALLEL)]
        try:
            listen = f"127.0.0.1:{blocker.getsockname()[1]}"
            configs = []
            for d in dirs:
                os.makedirs(d)
                configs.append(self.config_with_api_listen(listen, d))
            outcomes, last = self.run_many(configs, 40)
        finally:
            blocker.close()
        self.assertEqual(outcomes, {2: 40}, last.stderr[-3000:])
        self.assertIn("foghornd: control API:", last.stderr)
        # It had started (journal, agent, /metrics) and shut all of it down before exiting.
        for d in dirs:
            self.assertTrue(os.path.exists(os.path.join(d, "state", "journal.db")), d)
        self.assertIn("start-up failed; shutting down in order", last.stderr)
        self.assertIn('"msg":"foghornd stopped","exit_code":2', last.stderr)


if __name__ == "__main__":
    harness.main()
