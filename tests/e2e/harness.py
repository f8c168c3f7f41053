"""End-to-end harness: runs foghorn-armsim and the real foghornd binary on loopback.

Used by the e2e tests (tests/e2e/*_test.py, run by ctest) and by scripts/demo.sh. Every wait is
bounded by a deadline; nothing sleeps to synchronise except short polls of observable state.
"""
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import ssl

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("FOGHORN_BIN_DIR", os.path.join(REPO, "build", "bin"))
TOPOLOGY = os.path.join(REPO, "tools", "armsim", "examples", "topology.json")
SUB = "00000000-1111-2222-3333-444444444444"
RG = "rg-foghorn"
GROUP = "fog-orders"
GROUP_ID = f"{SUB}/{RG}/{GROUP}"


def wait_until(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def parse_metrics(text):
    """Prometheus text format -> [(name, {label: value}, float)], comments skipped."""
    series = []
    for line in text.splitlines():
        m = re.match(r'^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$', line)
        if not m or line.startswith("#"):
            continue
        labels = {k: v for k, v in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or "")}
        series.append((m.group(1), labels, float(m.group(3))))
    return series


def metric_sum(text, name, **labels):
    """The sum of every series of `name` whose labels match: a str matches exactly, a compiled
    pattern must fullmatch."""
    def matches(have):
        for k, want in labels.items():
            v = have.get(k)
            if v is None:
                return False
            if isinstance(want, re.Pattern) and not want.fullmatch(v):
                return False
            if isinstance(want, str) and v != want:
                return False
        return True
    return sum(v for n, l, v in parse_metrics(text) if n == name and matches(l))


def run_foghornd(args, timeout=30, env=None):
    """Runs foghornd to completion (e.g. --check, or a start-up that must be refused) and returns
    the CompletedProcess. A run that outlives `timeout` is killed (SIGKILL: a hung process may
    block SIGTERM) and reported as returncode None with `hung` set."""
    proc = subprocess.Popen([os.path.join(BIN, "foghornd"), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **(env or {})))
    try:
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        done = subprocess.CompletedProcess(proc.args, None, out, err)
        done.hung = True
        return done


class ArmSim:
    """foghorn-armsim over HTTPS with its generated CA."""

    def __init__(self, workdir, operation_ms=800, extra=()):
        self.workdir = workdir
        port_file = os.path.join(workdir, "armsim.json")
        if os.path.exists(port_file):
            os.remove(port_file)  # a previous emulator's
        os.makedirs(os.path.join(workdir, "certs"), exist_ok=True)
        self.log = open(os.path.join(workdir, "armsim.log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "foghorn-armsim"), f"--topology={TOPOLOGY}",
             f"--cert-dir={os.path.join(workdir, 'certs')}", f"--port-file={port_file}",
             f"--operation-duration-ms={operation_ms}",
             f"--request-log={os.path.join(workdir, 'requests.jsonl')}", *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        info = wait_until(lambda: _read_json(port_file), 20, "armsim to start")
        self.base = info["baseUrl"]
        self.ca = info["caCert"]
        self.endpoints = info["endpoints"]
        self.ctx = ssl.create_default_context(cafile=self.ca) if self.ca else None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as resp:
            text = resp.read().decode()
            return json.loads(text) if text.strip() else {}

    def region_down(self, region, control=True, data=True, mode="refuse"):
        self.call("POST", f"/admin/regions/{region}/down",
                  {"controlPlane": control, "dataPlane": data, "mode": mode})

    def region_up(self, region):
        self.call("POST", f"/admin/regions/{region}/up", {})

    def add_fault(self, fault):
        return self.call("POST", "/admin/faults", fault)["id"]

    def state(self):
        return self.call("GET", "/admin/state")

    def primary(self):
        return self.state()["failoverGroups"][GROUP]["primary"]

    def accepted_failovers(self):
        return self.call("GET", "/admin/counters")["acceptedFailovers"]

    def requests(self, route=None):
        path = "/admin/requests" + (f"?route={route}" if route else "")
        return self.call("GET", path)

    def replication(self):
        return self.call("GET", f"/admin/failoverGroups/{GROUP}/replication")

    def record_writes(self, count):
        self.call("POST", f"/admin/failoverGroups/{GROUP}/writes", {"count": count})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


class Listener:
    """A loopback TCP listener the test opens and closes, standing in for what the probes see."""

    def __init__(self):
        self.sock = None
        self.port = _free_port()
        self.up()

    def up(self):
        if self.sock:
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        self.sock = s
        self._stop = False
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, s):
        while True:
            try:
                conn, _ = s.accept()
                conn.close()
            except OSError:
                return

    def down(self):
        if self.sock:
            self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
            self.sock = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"


def runbook_yaml(sim, primary_probe_addr=None, approval_mode="automatic", data_loss_grace="8s",
                 budget="5m", planned_grace="2s", steps="", confirm_after="1s"):
    east = primary_probe_addr or sim.endpoints["server:sql-east"]
    west = sim.endpoints["server:sql-west"]
    return f"""
description: end-to-end test runbook
group:
  subscription_id: {SUB}
  resource_group: {RG}
  name: {GROUP}
  primary_server: sql-east
  secondary_server: sql-west
  databases: [orders, customers]
probes:
  - {{name: east-tcp, target: primary, interval: 300ms, timeout: 200ms, unhealthy_threshold: 3, healthy_threshold: 2, tcp: {{address: "{east}"}}}}
  - {{name: west-tcp, target: secondary, interval: 300ms, timeout: 200ms, unhealthy_threshold: 3, healthy_threshold: 2, tcp: {{address: "{west}"}}}}
  - name: lag
    target: primary
    interval: 500ms
    timeout: 400ms
    metric_kind: replication_lag_seconds
    http:
      url: {sim.base}/sql/servers/sql-east/replicationLinks
      ca_file: {sim.ca}
      metric_json_field: value.0.replication_lag_sec
health_rules:
  - {{target: primary, probes: [east-tcp]}}
  - {{target: secondary, probes: [west-tcp]}}
policy:
  confirm_after: {confirm_after}
  planned_grace: {planned_grace}
  data_loss_grace: {data_loss_grace}
  data_loss_budget: {budget}
  approval_mode: {approval_mode}
  cooldown: 1h
{steps}
"""


def drill_runbook(sim, hold="10m", check_hook=None):
    """runbook_yaml plus a read-write listener probe and a drill section (the drill verifies the
    listener through that probe)."""
    base = runbook_yaml(sim)
    rw = sim.endpoints[f"fg:{GROUP}:rw"]
    base = base.replace("probes:\n", "probes:\n"
                        f"  - {{name: rw-listener, target: listener_read_write, interval: 300ms, "
                        f"timeout: 200ms, tcp: {{address: \"{rw}\"}}}}\n", 1)
    hook = ""
    if check_hook:
        hook = "  check_hook:\n    argv: [/bin/sh, -c, '" + check_hook + "']\n"
    return base + f"""drill:
  hold: {hold}
  verify_timeout: 30s
  verify_probes: [rw-listener]
{hook}"""


class Agent:
    """The real foghornd binary with a config written into `workdir`."""

    def __init__(self, workdir, sim, runbook_text, env_extra=None, api_tokens=""):
        self.workdir = workdir
        self.sim = sim
        with open(os.path.join(workdir, "runbook.yaml"), "w") as f:
            f.write(runbook_text)
        self.config = os.path.join(workdir, "agent.yaml")
        with open(self.config, "w") as f:
            f.write(f"""
state_dir: state
runbooks: [runbook.yaml]
arm:
  endpoint: {sim.base}
  ca_file: {sim.ca}
  credentials: {{token_env: FOGHORN_E2E_ARM_TOKEN}}
  poll_interval: 200ms
api:
  listen: "127.0.0.1:0"
{api_tokens}
metrics: {{listen: "127.0.0.1:0"}}
log: {{level: debug}}
""")
        self.env_extra = env_extra or {}
        self.proc = None
        self.runs = 0

    def start(self, env_extra=None, allow_death=False):
        """Starts foghornd and waits until it serves. With allow_death (crash tests), an agent
        that dies before it is ready is returned as is (ready None) instead of failing."""
        self.runs += 1
        ready = os.path.join(self.workdir, f"ready-{self.runs}.json")
        if os.path.exists(ready):
            os.remove(ready)  # an earlier agent's, in the same workdir
        env = dict(os.environ)
        env["FOGHORN_E2E_ARM_TOKEN"] = "e2e-token"
        env.update(self.env_extra)
        env.update(env_extra or {})
        self.log_path = os.path.join(self.workdir, f"foghornd-{self.runs}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "foghornd"), f"--config={self.config}", f"--ready_file={ready}"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        if allow_death:
            self.ready = wait_until(lambda: _read_json(ready) or self.proc.poll() is not None,
                                    30, "foghornd to start or die")
            if self.ready is True:
                self.ready = None
            return self
        self.ready = wait_until(lambda: _read_json(ready) or self._died(), 30, "foghornd to start")
        return self

    def _died(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"foghornd exited with {self.proc.returncode}: "
                                 + open(self.log_path).read()[-3000:])
        return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def db(self):
        path = os.path.join(self.workdir, "state", "journal.db")
        return sqlite3.connect(path, timeout=10)

    def operations(self):
        with self.db() as c:
            return c.execute("SELECT kind, state, target_server, outcome FROM operations "
                             "ORDER BY created_us").fetchall()

    def steps(self, kind):
        """The journaled steps of every operation of `kind`, in order: [(name, state, detail)]."""
        with self.db() as c:
            return c.execute("SELECT s.name, s.state, s.detail FROM steps s JOIN operations o "
                             "ON o.id = s.operation_id WHERE o.kind = ? "
                             "ORDER BY o.created_us, s.seq", (kind,)).fetchall()

    def decisions(self):
        with self.db() as c:
            return c.execute("SELECT state, action, summary FROM decisions ORDER BY id").fetchall()

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def cli(self, *args):
        """Runs the foghorn CLI against this agent's control API."""
        env = dict(os.environ)
        env["FOGHORN_ADDR"] = f"127.0.0.1:{self.ready['api_port']}"
        return subprocess.run([os.path.join(BIN, "foghorn"), *args], capture_output=True,
                              text=True, env=env, timeout=60)

    def metrics(self):
        url = f"http://127.0.0.1:{self.ready['metrics_port']}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode()

    def metric(self, name, **labels):
        """The current value of a counter or gauge (summed over matching series; 0 if none)."""
        return metric_sum(self.metrics(), name, **labels)

    def wait_for_metric(self, name, at_least=1, timeout=30, **labels):
        """Waits until metric(name, **labels) >= at_least (at least 1); returns the value."""
        def reached():
            value = self.metric(name, **labels)
            return value if value >= at_least else None
        return wait_until(reached, timeout, f"{name}{labels} >= {at_least}")

    def wait_settled(self, timeout=30):
        """Waits until the agent has done its start-up work, not just opened its ports: the first
        HEALTHY decision is journaled, roles were read from ARM, and the primary's and the
        secondary's probes have reported. Counters and the journal are read only after this."""
        wait_until(lambda: any(d[0] == "HEALTHY" for d in self.decisions()), timeout,
                   "the first HEALTHY decision")
        self.wait_for_metric("foghorn_http_requests_total", timeout=timeout, method="GET",
                             status="200", target="arm")
        for probe in ("east-tcp", "west-tcp"):
            self.wait_for_metric("foghorn_probe_results_total", timeout=timeout,
                                 probe=re.compile(r".*/" + probe))
        return self


MUTATING_ROUTES = ("put", "patch", "delete", "failover", "forceFailoverAllowDataLoss",
                   "tryPlannedBeforeForcedFailover")


def mutating_arm_requests(sim):
    return [r for r in sim.requests() if r.get("route") in MUTATING_ROUTES]


def failover_posts(sim):
    """Failover POSTs the emulator accepted (answered 202, or applied before dropping the
    connection), in order: [(route, tsUnixMs)]."""
    return [(r["route"], r["tsUnixMs"]) for r in sim.requests()
            if r.get("route") in MUTATING_ROUTES[3:]
            and (r.get("status") == 202 or r.get("acceptedOperation"))]


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def workdir():
    return tempfile.mkdtemp(prefix="foghorn-e2e-")


def main(jobs=None):
    """unittest.main for an e2e module whose test methods are independent (each has its own work
    directory, emulator, ports and agent, set up in setUp): runs them side by side, `jobs` at a
    time (FOGHORN_E2E_JOBS, 8 by default), since they spend their time waiting on real
    processes. Prints each test's outcome and time, then every failure; exits 1 on any failure.
    Class and module fixtures (setUpClass, setUpModule) are not run: use unittest.main there."""
    import __main__
    from concurrent.futures import ThreadPoolExecutor
    import traceback
    import unittest

    jobs = jobs or max(1, int(os.environ.get("FOGHORN_E2E_JOBS", "8")))
    argv = sys.argv[1:]
    tests = []

    def flatten(suite):
        for t in suite:
            if isinstance(t, unittest.TestSuite):
                flatten(t)
            elif not argv or any(a in t.id() for a in argv):  # a name filter, as unittest's -k
                tests.append(t)
    flatten(unittest.defaultTestLoader.loadTestsFromModule(__main__))

    def run(test):
        result = unittest.TestResult()
        start = time.monotonic()
        try:
            test(result)
        except Exception:  # never lose a failure to the pool
            result.errors.append((test, traceback.format_exc()))
        return test, result, time.monotonic() - start

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(run, tests))
    failed = 0
    for test, result, seconds in outcomes:
        problems = result.errors + result.failures
        verdict = "FAIL" if problems else ("skipped" if result.skipped else "ok")
        print(f"{test.id()} ... {verdict} ({seconds:.1f} s)", flush=True)
        failed += bool(problems)
    for test, result, _ in outcomes:
        for t, text in result.errors + result.failures:
            print(f"\n{'=' * 70}\nFAIL: {t.id()}\n{'-' * 70}\n{text}", file=sys.stderr)
    print(f"\nRan {len(tests)} tests in {time.monotonic() - start:.1f} s, {jobs} at a time: "
          f"{'FAILED (' + str(failed) + ')' if failed else 'OK'}", flush=True)
    sys.exit(1 if failed or not tests else 0)
