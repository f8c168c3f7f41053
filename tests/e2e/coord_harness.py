"""Multi-agent end-to-end harness: a 3-member etcd cluster, foghorn-armsim with one vantage per
agent, and 3 foghornd coordinating through etcd (docs/coordination.md), all on 127.0.0.1.

Built on tests/e2e/harness.py (the emulator, the agent, the CLI, the request log) and used by
tests/e2e/coord_e2e_test.py and scripts/coord-demo.sh. Every wait is bounded by a deadline and
polls observable state (etcd's /health, the agents' ready files, the API, the request log).

Run as a script it is the demo: `python3 tests/e2e/coord_harness.py --demo` (see main()).
"""
import base64
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

ETCD = os.environ.get("FOGHORN_ETCD", "/usr/bin/etcd")
VANTAGES = ("v1", "v2", "v3")
KEY_PREFIX = "/foghorn/e2e"
PRIMARY_REGION = "eastus"  # sql-east's region in tools/armsim/examples/topology.json


def etcd_available():
    return os.access(ETCD, os.X_OK)


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies (PR_SET_PDEATHSIG), so a
    crashed or interrupted test leaves no etcd behind."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1


# --- etcd --------------------------------------------------------------------------------------


_ports_handed_out = set()


def _unique_port():
    """A free loopback port not handed out before in this process: the kernel may give a port
    back that was just closed, and two etcd members on one port cannot start."""
    for _ in range(100):
        port = harness._free_port()
        if port not in _ports_handed_out:
            _ports_handed_out.add(port)
            return port
    raise RuntimeError("no unused loopback port")

class EtcdMember:
    def __init__(self, cluster, index):
        self.cluster = cluster
        self.name = f"m{index}"
        self.client_port = _unique_port()
        self.peer_port = _unique_port()
        self.data_dir = os.path.join(cluster.workdir, f"etcd-{self.name}")
        self.proc = None
        self.log = None
        self.runs = 0

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.client_port}"

    @property
    def peer_url(self):
        return f"http://127.0.0.1:{self.peer_port}"

    def start(self):
        self.runs += 1
        log = os.path.join(self.cluster.workdir, f"etcd-{self.name}-{self.runs}.log")
        self.log = open(log, "w")
        client_url = f"http://{self.endpoint}"
        # A restart with an existing data dir ignores the --initial-* flags: it rejoins as is.
        self.proc = subprocess.Popen(
            [ETCD, f"--name={self.name}", f"--data-dir={self.data_dir}",
             f"--listen-client-urls={client_url}", f"--advertise-client-urls={client_url}",
             f"--listen-peer-urls={self.peer_url}",
             f"--initial-advertise-peer-urls={self.peer_url}",
             f"--initial-cluster={self.cluster.initial_cluster()}",
             "--initial-cluster-state=new", f"--initial-cluster-token={self.cluster.token}",
             "--heartbeat-interval=50", "--election-timeout=500", "--log-level=warn",
             "--logger=zap"],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None

    def healthy(self):
        """etcd's own /health: true only while the member is up and the cluster has a leader
        (a quorum)."""
        try:
            with urllib.request.urlopen(f"http://{self.endpoint}/health", timeout=1) as r:
                return json.loads(r.read().decode()).get("health") == "true"
        except (OSError, ValueError):
            return False


class EtcdCluster:
    """A cluster of /usr/bin/etcd on 127.0.0.1 (free ports, raft heartbeat 50 ms, election
    500 ms, like tests/testing/etcd_cluster.h). Members can be stopped and started one by one."""

    def __init__(self, workdir, size=3):
        self.workdir = workdir
        self.token = f"foghorn-e2e-{os.getpid()}-{int(time.monotonic() * 1000)}"
        self.members = [EtcdMember(self, i) for i in range(size)]

    def initial_cluster(self):
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    @property
    def endpoints(self):
        return [m.endpoint for m in self.members]

    def start(self, timeout=30):
        for m in self.members:
            m.start()
        self.wait_healthy(timeout=timeout)
        return self

    def wait_healthy(self, members=None, timeout=30):
        members = self.members if members is None else members

        def all_healthy():
            for m in members:
                if not m.alive():
                    raise AssertionError(f"etcd {m.name} exited with {m.proc.returncode}; see "
                                         f"{self.workdir}")
            return all(m.healthy() for m in members)
        wait_until(all_healthy, timeout, "etcd members to report healthy", interval=0.1)

    def stop_member(self, index, sig=signal.SIGTERM):
        self.members[index].stop(sig)

    def start_member(self, index, timeout=30):
        self.members[index].start()
        self.wait_healthy([self.members[index]], timeout)

    def lose_quorum(self):
        """Stops two of three members: the one left has no leader and refuses every request."""
        self.stop_member(1)
        self.stop_member(2)
        wait_until(lambda: not self.members[0].healthy(), 15, "etcd to report no quorum")

    def restore_quorum(self, timeout=30):
        for i, m in enumerate(self.members):
            if not m.alive():
                m.start()
        self.wait_healthy(timeout=timeout)

    def stop(self):
        for m in self.members:
            m.stop()

    # etcd 3.4 serves the v3 API as JSON too (its grpc-gateway): keys and values in base64.
    def _call(self, path, body):
        last = None
        for m in self.members:
            if not m.alive():
                continue
            req = urllib.request.Request(f"http://{m.endpoint}{path}",
                                         data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=2) as r:
                    return json.loads(r.read().decode())
            except (OSError, ValueError) as e:
                last = e
        raise AssertionError(f"no etcd member answered {path}: {last}")

    def put(self, key, value):
        self._call("/v3/kv/put", {"key": base64.b64encode(key.encode()).decode(),
                                  "value": base64.b64encode(value.encode()).decode()})

    def get_prefix(self, prefix):
        """{key: value} of every key under `prefix` (full keys, as stored)."""
        k = prefix.encode()
        end = bytearray(k)
        end[-1] += 1
        out = self._call("/v3/kv/range", {"key": base64.b64encode(k).decode(),
                                          "range_end": base64.b64encode(bytes(end)).decode()})
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode()
                for kv in out.get("kvs", [])}


# --- the emulator with vantages ----------------------------------------------------------------

class VantageArmSim(harness.ArmSim):
    """foghorn-armsim with one vantage per agent (docs/armsim.md, Vantages and partitions)."""

    def __init__(self, workdir, vantages=VANTAGES, operation_ms=800, extra=()):
        super().__init__(workdir, operation_ms=operation_ms,
                         extra=[*(f"--vantage={v}" for v in vantages), *extra])
        info = harness._read_json(os.path.join(workdir, "armsim.json"))
        self.vantages = info["vantages"]  # name -> {"endpoints": {...}, "sqlBaseUrl": url}

    def partition(self, vantage, region=PRIMARY_REGION, mode="refuse"):
        self.call("POST", "/admin/partitions", {"vantage": vantage, "region": region, "mode": mode})

    def heal(self, vantage=None, region=None):
        body = {k: v for k, v in (("vantage", vantage), ("region", region)) if v}
        self.call("DELETE", "/admin/partitions", body or None)

    def role_changes(self):
        """How many times the group's roles changed, from the request log: the accepted failover
        POSTs (each is sent to the server that is to become primary) whose target differs from
        the primary before it. A planned attempt and the forced failover that follows it to the
        same server are one change; a failover and a fail-back are two. Cross-checked with the
        emulator's current primary, so a POST that was accepted but never took effect is not
        counted as a change that stuck."""
        primary, changes = "sql-east", 0
        for r in self.requests():
            if (r.get("route") in harness.MUTATING_ROUTES[3:] and r.get("acceptedOperation")
                    and r.get("server") and r["server"] != primary):
                primary, changes = r["server"], changes + 1
        if primary != self.primary():
            raise AssertionError(f"the request log ends with {primary} primary, the emulator says "
                                 f"{self.primary()}")
        return changes


def vantage_runbook(sim, vantage, vantage_quorum=None, steps="", **kw):
    """harness.runbook_yaml with every probe address taken from `vantage`'s own endpoints (and the
    lag probe from its SQL health route), plus the policy's vantage_quorum. Each replacement must
    apply exactly once, so a change to the template fails here instead of probing the shared
    listeners by mistake."""
    text = harness.runbook_yaml(sim, steps=steps, **kw)
    mine = sim.vantages[vantage]
    replacements = [
        (f'"{sim.endpoints["server:sql-east"]}"', f'"{mine["endpoints"]["server:sql-east"]}"'),
        (f'"{sim.endpoints["server:sql-west"]}"', f'"{mine["endpoints"]["server:sql-west"]}"'),
        (f"url: {sim.base}/sql/servers/", f"url: {mine['sqlBaseUrl']}/sql/servers/"),
    ]
    if vantage_quorum is not None:
        replacements.append(("policy:\n", f"policy:\n  vantage_quorum: {vantage_quorum}\n"))
    for old, new in replacements:
        if text.count(old) != 1:
            raise AssertionError(f"runbook_yaml changed: {old!r} is not there once")
        text = text.replace(old, new)
    return text


# --- agents --------------------------------------------------------------------------------------

class CoordAgent(harness.Agent):
    """foghornd with the agent config's `etcd` block: its own state dir and API port."""

    def __init__(self, workdir, sim, runbook_text, name, vantage, etcd_endpoints,
                 vantages=VANTAGES, session_ttl="3s", key_prefix=KEY_PREFIX, env_extra=None):
        os.makedirs(workdir, exist_ok=True)
        super().__init__(workdir, sim, runbook_text, env_extra=env_extra)
        self.name = name
        self.vantage = vantage
        with open(self.config, "a") as f:
            f.write(f"""etcd:
  agent_name: {name}
  vantage: {vantage}
  vantages: [{", ".join(vantages)}]
  endpoints: [{", ".join(f'"{e}"' for e in etcd_endpoints)}]
  key_prefix: {key_prefix}
  session_ttl: {session_ttl}
  dial_timeout: 500ms
  request_timeout: 2s
""")

    # Signals: what a crash, a long GC pause or a frozen VM look like from outside.
    def kill9(self):
        self.proc.kill()
        self.proc.wait(10)
        self.log.close()

    def sigstop(self):
        self.proc.send_signal(signal.SIGSTOP)

    def sigcont(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)  # a stopped process cannot handle SIGTERM
        return super().stop(sig, timeout)

    # The control API, through the CLI.
    def group(self):
        """The group as this agent's API shows it (GetGroup, proto JSON), or None when the API
        does not answer."""
        out = self.cli("group", harness.GROUP, "--history", "0", "-o", "json")
        if out.returncode != 0:
            return None
        try:
            return json.loads(out.stdout)["group"]
        except (ValueError, KeyError):
            return None

    def decision(self):
        """The group's last decision: {"stage", "summary", "reasons": [{"code", "text"}], ...}
        ({} before the first evaluation or when the API does not answer)."""
        group = self.group() or {}
        return group.get("last_decision", group.get("lastDecision", {}))

    def decision_text(self):
        d = self.decision()
        return " ".join([d.get("summary", "")] + [f"{r.get('code', '')} {r.get('text', '')}"
                                                   for r in d.get("reasons", [])])

    def reason_codes(self):
        return [r.get("code") for r in self.decision().get("reasons", [])]

    def journaled_reason_codes(self):
        """Every reason code this agent journaled in its decisions (the summary carries them)."""
        return " ".join(d[2] for d in self.decisions())

    def operations_full(self):
        with self.db() as c:
            return c.execute("SELECT id, request_id, kind, state, target_server, outcome "
                             "FROM operations ORDER BY created_us").fetchall()

    def safe_operations(self):
        try:
            return self.operations()
        except Exception:  # the journal may not exist yet
            return []


class CoordSetup:
    """etcd (3 members) + the emulator (3 vantages) + 3 agents, one per vantage."""

    def __init__(self, workdir=None, operation_ms=800, session_ttl="3s", runbook=None,
                 start_agents=True, settle=True):
        self.dir = workdir or harness.workdir()
        self.etcd = None
        self.sim = None
        self.agents = []
        try:
            self.etcd = EtcdCluster(self.dir).start()
            self.sim = VantageArmSim(self.dir, operation_ms=operation_ms)
            runbook = runbook or (lambda sim, vantage: vantage_runbook(sim, vantage))
            for i, vantage in enumerate(VANTAGES):
                self.agents.append(CoordAgent(os.path.join(self.dir, f"agent-{vantage}"), self.sim,
                                              runbook(self.sim, vantage), name=f"agent-{vantage}",
                                              vantage=vantage, etcd_endpoints=self.etcd.endpoints,
                                              session_ttl=session_ttl))
            if start_agents:
                for a in self.agents:
                    a.start()
                if settle:
                    for a in self.agents:
                        a.wait_settled()
        except BaseException:
            self.stop()
            raise

    def agent(self, name):
        found = [a for a in self.agents if a.name == name]
        if not found:
            raise AssertionError(f"no agent named {name!r} (the leader key's value is the agent "
                                 f"name, docs/coordination.md); agents: "
                                 f"{[a.name for a in self.agents]}")
        return found[0]

    # Leadership, read from etcd itself: the leader key of the group (docs/coordination.md,
    # "leader/<group>" under the prefix) names the agent that leads it.
    def leader_keys(self):
        return {k: v for k, v in self.etcd.get_prefix(KEY_PREFIX + "/leader/").items()
                if k.endswith(harness.GROUP)}

    def leader_name(self):
        keys = self.leader_keys()
        if len(keys) > 1:
            raise AssertionError(f"more than one leader key for {harness.GROUP}: {keys}")
        return next(iter(keys.values()), None)

    def wait_leader(self, timeout=30, other_than=None):
        def found():
            name = self.leader_name()
            return name if name and name != other_than else None
        try:
            name = wait_until(found, timeout, f"an agent to hold the leader key of {harness.GROUP}"
                              + (f" other than {other_than}" if other_than else "")
                              + f" under {KEY_PREFIX}/leader/", interval=0.1)
        except AssertionError as e:
            keys = self.etcd.get_prefix(KEY_PREFIX + "/")
            if not keys:
                raise AssertionError(f"{e}; the agents wrote nothing under {KEY_PREFIX}/ in etcd: "
                                     "is foghornd's `etcd` block wired?") from None
            raise AssertionError(f"{e}; keys under {KEY_PREFIX}/: {sorted(keys)}") from None
        return self.agent(name)

    def followers(self, leader):
        return [a for a in self.agents if a is not leader]

    def agents_with_operations(self):
        return [a.name for a in self.agents if a.safe_operations()]

    def stop(self):
        for a in self.agents:
            try:
                a.stop(timeout=20)
            except Exception:  # noqa: BLE001 - best effort: the others must stop too
                pass
        if self.sim:
            self.sim.stop()
        if self.etcd:
            self.etcd.stop()


# --- the demo ------------------------------------------------------------------------------------

def main(argv):
    """Starts etcd, the emulator and 3 agents for people to try, prints how to reach them, and
    stops everything on Ctrl-C."""
    if not etcd_available():
        raise SystemExit(f"{ETCD} not found: install etcd-server (scripts/setup.sh)")
    setup = CoordSetup(workdir=harness.workdir(), operation_ms=1500, settle=False)
    try:
        sim = setup.sim
        c = f"--cacert {sim.ca}"
        print(f"\nworkdir (logs, journals, configs): {setup.dir}")
        print(f"etcd members:    {', '.join(setup.etcd.endpoints)} (prefix {KEY_PREFIX})")
        print(f"ARM emulator:    {sim.base}  (CA {sim.ca})")
        for a in setup.agents:
            print(f"{a.name} (vantage {a.vantage}): API 127.0.0.1:{a.ready['api_port']}, metrics "
                  f"http://127.0.0.1:{a.ready['metrics_port']}/metrics, log {a.log_path}")
        first = setup.agents[0]
        part = f"{sim.base}/admin/partitions"
        print(f"""
Try:
  FOGHORN_ADDR=127.0.0.1:{first.ready['api_port']} {harness.BIN}/foghorn group {harness.GROUP}
  # cut vantage v1 off from the primary's region (1 of 3 vantages: no failover may follow):
  curl -s {c} -X POST {part} -d '{{"vantage":"v1","region":"eastus","mode":"refuse"}}'
  curl -s {c} -X DELETE {part}     # heal every partition
  # lose the primary's region for every vantage (the leader fails the group over, once):
  curl -s {c} -X POST {sim.base}/admin/regions/eastus/down \\
       -d '{{"controlPlane":true,"dataPlane":true}}'
  curl -s {c} "{sim.base}/admin/requests?route=failover"   # what ARM accepted
  # freeze or kill the leader (named below as it changes); agents' pids:
  #   {", ".join(f"{a.name}={a.proc.pid}" for a in setup.agents)}

Ctrl-C stops everything.""", flush=True)
        shown = {}
        while True:  # report what changes: the leader, each agent's decision, the roles
            try:
                now = {"leader": setup.leader_name() or "(no leader key in etcd)",
                       "primary": sim.primary()}
            except AssertionError as e:  # etcd without a quorum, for one
                now = {"leader": f"unknown ({e})", "primary": sim.primary()}
            for a in setup.agents:
                now[a.name] = (a.decision().get("summary", "(no answer)") if a.alive()
                               else f"exited {a.proc.returncode}")
            for key, value in now.items():
                if shown.get(key) != value:
                    print(f"[{time.strftime('%H:%M:%S')}] {key}: {value}", flush=True)
            shown = now
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping", flush=True)
    finally:
        setup.stop()
        if "--keep" not in argv:
            shutil.rmtree(setup.dir, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
