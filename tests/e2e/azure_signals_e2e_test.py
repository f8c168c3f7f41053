"""foghornd end to end on Azure's own signals (issue 16, "Done when"), against foghorn-armsim.

  (a) the only lag source is an azure_metric replication_lag_seconds probe (Azure Monitor through
      the ARM endpoint): a region outage ends in an automatic forced failover within the
      data-loss budget, and the decision names the azure_metric source;
  (b) the secondary's replication link is SUSPENDED (the emulator's linkState knob) and the
      primary is lost: foghorn holds (SECONDARY_NOT_READY naming the link), no failover POST;
  (c) a Microsoft-initiated failover (the emulator's admin API) is recorded as an external
      failover with its Activity Log caller, notified, and starts the cooldown;
  (d) a readiness regression (the failover permission removed in the emulator's
      Microsoft.Authorization model) reaches a webhook.

Each scenario has its own emulator, agent and work directory, and waits for conditions with
deadlines. foghornd caches Azure signal reads for 30 s and first runs readiness 30 s after start,
and Azure Monitor publishes a minute only once it has ended: these scenarios take a minute or two
of real time each, side by side (harness.main).
"""
import http.server
import json
import os
import re
import shutil
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

FAILOVER_ACTION = "Microsoft.Sql/servers/failoverGroups/failover/action"


class WebhookReceiver:
    """A tiny HTTP server on 127.0.0.1 port 0 that keeps every JSON body POSTed to it."""

    def __init__(self):
        received = self.received = []
        lock = self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode(errors="replace")
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = {"unparsed": body}
                with lock:
                    received.append(parsed)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, event):
        with self.lock:
            return [n for n in self.received if n.get("event") == event]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def runbook(sim, east=None, west=None, extra_probes="", data_loss_grace="8s", budget="5m",
            planned_grace="1s"):
    """Two TCP probes that vote (primary, secondary) and `extra_probes` (YAML list items) that do
    not. No HTTP or exec lag probe: where a scenario needs lag, it is an azure_metric probe."""
    east = east or sim.endpoints["server:sql-east"]
    west = west or sim.endpoints["server:sql-west"]
    return f"""
description: azure signals end-to-end runbook
group:
  subscription_id: {harness.SUB}
  resource_group: {harness.RG}
  name: {harness.GROUP}
  primary_server: sql-east
  secondary_server: sql-west
  databases: [orders, customers]
probes:
  - {{name: east-tcp, target: primary, interval: 300ms, timeout: 200ms, unhealthy_threshold: 3, healthy_threshold: 2, tcp: {{address: "{east}"}}}}
  - {{name: west-tcp, target: secondary, interval: 300ms, timeout: 200ms, unhealthy_threshold: 3, healthy_threshold: 2, tcp: {{address: "{west}"}}}}
{extra_probes}health_rules:
  - {{target: primary, probes: [east-tcp]}}
  - {{target: secondary, probes: [west-tcp]}}
policy:
  confirm_after: 1s
  planned_grace: {planned_grace}
  data_loss_grace: {data_loss_grace}
  data_loss_budget: {budget}
  approval_mode: automatic
  cooldown: 1h
"""


AZURE_LAG_PROBE = """  - name: azure-lag
    target: primary
    interval: 2s
    timeout: 1500ms
    unhealthy_threshold: 3
    metric_kind: replication_lag_seconds
    azure_metric:
      database: orders
      max_sample_age: 5m
"""

SECONDARY_LINK_PROBE = """  - name: secondary-link
    target: secondary
    interval: 2s
    timeout: 1500ms
    unhealthy_threshold: 1
    healthy_threshold: 1
    replication_link:
      database: orders
      expect_role: secondary
"""


def _reasons(agent, state=None):
    """[(state, action, [{code, text}])] of every journaled decision, oldest first."""
    with agent.db() as c:
        rows = c.execute("SELECT state, action, reasons_json FROM decisions ORDER BY id").fetchall()
    return [(s, a, json.loads(r or "[]")) for s, a, r in rows if state is None or s == state]


def _has_reason(reasons, code, text_pattern=None):
    return any(r.get("code") == code and (text_pattern is None or
                                          re.search(text_pattern, r.get("text", "")))
               for r in reasons)


def _seconds(text):
    """absl::FormatDuration text ("2m3s", "1h0m5s", "45s", "0s") -> seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)(ms|h|m|s)", text))


class AzureSignalsEndToEnd(unittest.TestCase):
    def setUp(self):
        self.dir = harness.workdir()
        self.sim = None
        self.agent = None
        self.hooks = WebhookReceiver()

    def tearDown(self):
        if self.agent:
            self.agent.stop()
        if self.sim:
            self.sim.stop()
        self.hooks.stop()
        if not self._outcome.result.failures and not self._outcome.result.errors:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print(f"\nkept {self.dir} for inspection", file=sys.stderr)

    def start_sim(self, *extra):
        # Azure Monitor publishes a minute as soon as it ends (no 90 s ingestion delay), so the
        # first lag value is there within a minute of the emulator's start.
        self.sim = harness.ArmSim(self.dir, operation_ms=300,
                                  extra=("--metrics-delay-s=0", *extra))
        return self.sim

    def start_agent(self, text, config_extra=""):
        self.agent = harness.Agent(self.dir, self.sim, text)
        with open(self.agent.config, "a") as f:
            f.write(f"webhooks:\n  - {{url: \"{self.hooks.url}\"}}\n{config_extra}")
        self.agent.start().wait_settled()
        return self.agent

    def test_azure_monitor_lag_alone_drives_a_forced_failover_within_the_budget(self):
        sim = self.start_sim()
        agent = self.start_agent(runbook(sim, extra_probes=AZURE_LAG_PROBE))
        # A lag sample from Azure Monitor: the probe succeeds only once a published minute has a
        # value (before that it is UNKNOWN, "no value yet").
        agent.wait_for_metric("foghorn_probe_results_total", timeout=150, outcome="success",
                              probe=re.compile(r".*/azure-lag"))
        metric_reads = [r for r in sim.requests(route="metrics") if r.get("status") == 200]
        self.assertTrue(metric_reads, "the agent never read Azure Monitor metrics")
        sim.record_writes(40)
        sim.region_down("eastus")  # both planes: the planned failover times out, forced follows
        wait_until(lambda: sim.primary() == "sql-west", 120, "sql-west to become primary")
        wait_until(lambda: any(o[0] == "forced" and o[1] == "succeeded"
                               for o in agent.operations()), 60,
                   "the forced operation to be journaled as succeeded")
        self.assertIn("forceFailoverAllowDataLoss", [p[0] for p in harness.failover_posts(sim)])
        forced = [r for _, action, r in _reasons(agent) if action == "FAILOVER_KIND_FORCED"
                  and _has_reason(r, "DATA_LOSS_GRACE_ELAPSED")]
        self.assertTrue(forced, f"no forced decision journaled: {_reasons(agent)[-5:]}")
        within = [x for x in forced[0] if x["code"] == "DATA_LOSS_WITHIN_BUDGET"]
        self.assertEqual(len(within), 1, forced[0])
        # "estimated data loss 1m12s (azure_metric replication_lag_seconds, sample 5s old)
        #  within budget 5m"
        text = within[0]["text"]
        self.assertIn("azure_metric replication_lag_seconds", text)
        estimate = re.match(r"estimated data loss (\S+) ", text)
        self.assertIsNotNone(estimate, text)
        self.assertLessEqual(_seconds(estimate.group(1)), 300, text)
        self.assertNotIn("DATA_LOSS_UNKNOWN", json.dumps(forced[0]))

    def test_a_suspended_secondary_link_holds_the_failover(self):
        sim = self.start_sim()
        sim.call("PUT", f"/admin/failoverGroups/{harness.GROUP}/linkState", {"state": "SUSPENDED"})
        probe_target = harness.Listener()
        agent = self.start_agent(runbook(sim, east=probe_target.address,
                                         extra_probes=SECONDARY_LINK_PROBE))
        agent.wait_for_metric("foghorn_probe_results_total", timeout=60, outcome="failure",
                              probe=re.compile(r".*/secondary-link"))
        probe_target.down()  # the primary is lost to the agent; the link says "not ready"
        # Held at the planned stage, and still held once the forced kind is due (data-loss grace
        # elapsed): the whole ladder is blocked by the link, not only its first rung.
        wait_until(lambda: [r for _, _, r in _reasons(agent, "HOLD")
                            if _has_reason(r, "DATA_LOSS_GRACE_ELAPSED")
                            and _has_reason(r, "SECONDARY_NOT_READY")], 60,
                   "a HOLD with SECONDARY_NOT_READY after the data-loss grace")
        held = [r for _, _, r in _reasons(agent, "HOLD") if _has_reason(r, "SECONDARY_NOT_READY")]
        text = next(x["text"] for x in held[-1] if x["code"] == "SECONDARY_NOT_READY")
        self.assertIn("sql-west", text)
        self.assertIn("SUSPENDED", text)
        self.assertIn("secondary-link", text)
        self.assertEqual(harness.mutating_arm_requests(sim), [])
        self.assertEqual(harness.failover_posts(sim), [])
        self.assertEqual(sim.primary(), "sql-east")

    def test_a_microsoft_initiated_failover_is_recorded_with_its_caller_and_starts_the_cooldown(
            self):
        sim = self.start_sim()
        west_target = harness.Listener()  # what the agent sees of sql-west (the new primary)
        agent = self.start_agent(runbook(sim, west=west_target.address))
        sim.call("POST", f"/admin/failoverGroups/{harness.GROUP}/microsoftFailover",
                 {"kind": "forced"})
        wait_until(lambda: sim.primary() == "sql-west", 30, "sql-west to become primary")

        def audited():
            with agent.db() as c:
                return c.execute("SELECT actor, detail, outcome FROM audit "
                                 "WHERE action = 'ExternalFailover'").fetchall()
        rows = wait_until(audited, 60, "an ExternalFailover audit record")
        self.assertEqual(len(rows), 1, rows)
        self.assertIn("sql-east -> sql-west", rows[0][1])
        self.assertIn("by Microsoft.Sql", rows[0][1])
        self.assertEqual(rows[0][2], "cooldown started")
        notes = wait_until(lambda: self.hooks.events("external_failover"), 30,
                           "the external_failover webhook")
        details = notes[0].get("details") or {}
        self.assertEqual(details.get("caller"), "Microsoft.Sql", notes[0])
        self.assertEqual(details.get("primary_server"), "sql-west", notes[0])
        self.assertEqual(agent.metric("foghorn_external_failovers_total"), 1)

        # The cooldown: the new primary lost at once is held, never failed back.
        west_target.down()
        wait_until(lambda: [r for _, _, r in _reasons(agent, "HOLD")
                            if _has_reason(r, "COOLDOWN")], 30, "a HOLD with COOLDOWN")
        self.assertEqual(harness.failover_posts(sim), [])
        self.assertEqual([o for o in agent.operations()], [])

    def test_a_removed_failover_permission_reaches_the_webhook_as_a_readiness_regression(self):
        sim = self.start_sim()
        agent = self.start_agent(runbook(sim), config_extra="readiness: {interval: 1m}\n")
        # The first scheduled run (30 s after start) reads the permissions and passes.
        agent.wait_for_metric("foghorn_readiness", timeout=90, check="failover_permission")
        reads = [r for r in sim.requests(route="permissions") if r.get("status") == 200]
        self.assertTrue(reads, "the readiness run did not read Microsoft.Authorization/permissions")
        self.assertEqual(self.hooks.events("readiness_regressed"), [])
        sim.call("PUT", "/admin/permissions",
                 {"server": "sql-west", "notActions": [FAILOVER_ACTION]})
        notes = wait_until(lambda: self.hooks.events("readiness_regressed"), 120,
                           "the readiness_regressed webhook")
        self.assertEqual(len(notes), 1, notes)
        details = notes[0].get("details") or {}
        self.assertEqual(details.get("check"), "failover_permission", notes[0])
        self.assertEqual(details.get("previous"), "ok", notes[0])  # the emulator served the read
        self.assertEqual(details.get("state"), "failing", notes[0])
        self.assertIn(FAILOVER_ACTION, details.get("detail", ""))
        self.assertIn("sql-west", details.get("detail", ""))
        self.assertEqual(agent.metric("foghorn_readiness", check="failover_permission"), 0)


if __name__ == "__main__":
    harness.main()
