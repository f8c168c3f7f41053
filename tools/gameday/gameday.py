#!/usr/bin/env python3
"""foghorn game day: plays a fault scenario against foghorn-armsim while the real foghornd runs,
then scores what foghorn did.

    tools/gameday/gameday.py --scenario tools/gameday/examples/region-outage.json --out /tmp/gd

It starts foghorn-armsim and foghornd (tests/e2e/harness.py), waits for the group to be HEALTHY,
plays the scenario's timed steps through the emulator's admin API while sampling the group's
read-write listener, then collects the agent's journal (SQLite), the emulator's request log and
its replication model, and writes <out>/gameday.json and a self-contained <out>/gameday.html.

Scenario file (JSON): {"name", "description", "durationMs", "runbook": {data_loss_grace,
planned_grace, budget, approval_mode}, "steps": [...], "expect": {...}}. Steps are the
emulator's scenario actions (regionDown, regionUp, fault, clearFaults, writes, lag, config;
docs/armsim.md) plus "flap" ({"region", "downMs", "upMs", "times"}: short outages that do not
warrant a failover). A regionDown marked "transient": true does not warrant one either.

Scores: detection (outage start -> first non-HEALTHY decision, and -> CONFIRMED_DOWN), the
decision that acted, the actions (failover POSTs from the emulator's request log), RTO (outage
start -> the read-write listener answers again, as sampled), data lost (writesLost), and false
actions (accepted failover POSTs outside a warranted outage, or beyond the expected count).
Exit 0 when every "expect" bound holds, 1 otherwise, 2 for a bad scenario.
"""
import argparse
import html
import json
import os
import socket
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ACTIONS = {"regionDown", "regionUp", "fault", "clearFaults", "writes", "lag", "config", "flap"}
ACTING_STATES = {"PLANNED", "TRY_PLANNED_BEFORE_FORCED", "FORCED"}


class ScenarioError(Exception):
    pass


def load_scenario(path):
    try:
        with open(path) as f:
            sc = json.load(f)
    except (OSError, ValueError) as e:
        raise ScenarioError(f"{path}: {e}")
    if not isinstance(sc.get("steps"), list):
        raise ScenarioError(f"{path}: steps must be a list")
    for i, st in enumerate(sc["steps"]):
        if st.get("action") not in ACTIONS:
            raise ScenarioError(f"{path}: steps[{i}].action {st.get('action')!r} is not one of "
                                f"{sorted(ACTIONS)}")
        if not isinstance(st.get("atMs"), (int, float)) or st["atMs"] < 0:
            raise ScenarioError(f"{path}: steps[{i}].atMs must be a number >= 0")
        if st["action"] in ("regionDown", "regionUp", "flap") and not st.get("region"):
            raise ScenarioError(f"{path}: steps[{i}].region is required")
    sc.setdefault("durationMs", 30000)
    sc.setdefault("expect", {})
    sc.setdefault("runbook", {})
    return sc


def expand(steps):
    """Flattens flaps into regionDown/regionUp pairs marked transient; sorted by time."""
    out = []
    for st in steps:
        if st["action"] != "flap":
            out.append(dict(st))
            continue
        t = st["atMs"]
        for _ in range(int(st.get("times", 3))):
            out.append({"atMs": t, "action": "regionDown", "region": st["region"],
                        "controlPlane": st.get("controlPlane", False),
                        "dataPlane": st.get("dataPlane", True), "transient": True})
            t += st.get("downMs", 300)
            out.append({"atMs": t, "action": "regionUp", "region": st["region"], "transient": True})
            t += st.get("upMs", 1000)
    return sorted(out, key=lambda s: s["atMs"])


def outage_windows(steps, region, duration_ms):
    """[(start_ms, end_ms, transient)] for `region` from the expanded steps."""
    windows, open_at, transient = [], None, False
    for st in steps:
        if st.get("region") != region:
            continue
        if st["action"] == "regionDown" and open_at is None:
            open_at, transient = st["atMs"], bool(st.get("transient"))
        elif st["action"] == "regionUp" and open_at is not None:
            windows.append((open_at, st["atMs"], transient))
            open_at = None
    if open_at is not None:
        windows.append((open_at, duration_ms, transient))
    return windows


def apply_step(sim, group, st):
    a = st["action"]
    if a == "regionDown":
        sim.region_down(st["region"], st.get("controlPlane", True), st.get("dataPlane", True),
                        st.get("mode", "refuse"))
    elif a == "regionUp":
        sim.region_up(st["region"])
    elif a == "fault":
        sim.add_fault(st["fault"])
    elif a == "clearFaults":
        sim.call("DELETE", "/admin/faults")
    elif a == "writes":
        sim.call("POST", f"/admin/failoverGroups/{st.get('failoverGroup', group)}/writes",
                 {"count": st.get("count", 1)})
    elif a == "lag":
        sim.call("PUT", f"/admin/failoverGroups/{st.get('failoverGroup', group)}/lag",
                 {"seconds": st["seconds"]})
    elif a == "config":
        sim.call("PUT", "/admin/config", {k: v for k, v in st.items() if k not in ("atMs", "action")})


class Sampler:
    """Dials the read-write listener every `interval` seconds on its own thread."""

    def __init__(self, address, interval=0.1, timeout=0.3):
        host, port = address.rsplit(":", 1)
        self.addr = (host, int(port))
        self.interval, self.timeout = interval, timeout
        self.samples = []  # (unix_ms, ok)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            at = time.time()
            ok = True
            try:
                with socket.create_connection(self.addr, timeout=self.timeout):
                    pass
            except OSError:
                ok = False
            self.samples.append((int(at * 1000), ok))
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.samples


def region_of(sim, server):
    for name, s in sim.state().get("servers", {}).items():
        if name == server:
            return s.get("region")
    return None


def score(sc, t0_ms, steps, decisions, operations, posts, samples, replication, primary_region):
    """The scorecard, as a dict. Times are seconds relative to the scenario start (t0)."""
    rel = lambda ms: round((ms - t0_ms) / 1000.0, 3)  # noqa: E731
    duration = sc["durationMs"]
    windows = outage_windows(steps, primary_region, duration)
    sustained = [w for w in windows if not w[2]]
    outage_start = sustained[0][0] if sustained else None
    card = {"scenario": sc.get("name", ""), "description": sc.get("description", ""),
            "duration_seconds": duration / 1000.0, "primary_region": primary_region,
            "outage_windows": [{"start": w[0] / 1000.0, "end": w[1] / 1000.0,
                                "transient": w[2]} for w in windows],
            "outage_start_seconds": None if outage_start is None else outage_start / 1000.0}
    after = [d for d in decisions if outage_start is not None and rel(d["at_ms"]) >= outage_start / 1000.0]
    first_unhealthy = next((d for d in after if d["state"] != "HEALTHY"), None)
    confirmed = next((d for d in after if d["state"] not in ("HEALTHY", "SUSPECT")), None)
    acting = next((d for d in decisions if d["action"] not in ("none", "hold", "")), None)
    card["detection"] = {
        "first_unhealthy_seconds": None if not first_unhealthy else
        round(rel(first_unhealthy["at_ms"]) - outage_start / 1000.0, 3),
        "confirmed_down_seconds": None if not confirmed else
        round(rel(confirmed["at_ms"]) - outage_start / 1000.0, 3),
    }
    card["decision"] = None if not acting else {
        "at_seconds": rel(acting["at_ms"]), "state": acting["state"], "action": acting["action"],
        "summary": acting["summary"]}
    # Actions: every accepted failover POST, judged against the outage windows.
    actions, false_actions = [], 0
    for p in posts:
        at = p["tsUnixMs"] - t0_ms
        # A POST during a sustained outage of the primary's region (or within 60 s after it ends,
        # for a failover already under way) is warranted; extra failovers are counted below.
        warranted = any(w[0] <= at <= w[1] + 60000 for w in sustained)
        if not warranted:
            false_actions += 1
        actions.append({"at_seconds": round(at / 1000.0, 3), "route": p["route"],
                        "server": p.get("server"), "status": p.get("status"),
                        "warranted": warranted})
    expected = sc["expect"].get("failovers")
    succeeded = [o for o in operations if o["state"] == "succeeded" and o["kind"] != "drill"]
    if expected is not None and len(succeeded) > expected:
        false_actions = max(false_actions, len(succeeded) - expected)
    card["actions"] = actions
    card["operations"] = [{"kind": o["kind"], "state": o["state"], "target": o["target"],
                           "outcome": o["outcome"], "at_seconds": rel(o["created_ms"])}
                          for o in operations]
    card["false_actions"] = false_actions
    # RTO: from the outage start until the rw listener answers again after failing.
    rto = None
    if outage_start is not None:
        start_abs = t0_ms + outage_start
        failed_seen = False
        for at, ok in samples:
            if at < start_abs:
                continue
            if not ok:
                failed_seen = True
            elif failed_seen:
                rto = round((at - start_abs) / 1000.0, 3)
                break
        if not failed_seen:
            rto = 0.0
    card["rto_seconds"] = rto
    card["listener_samples"] = {"total": len(samples), "failed": sum(1 for _, ok in samples if not ok)}
    card["data_loss"] = {"writes_lost": replication.get("writesLost"),
                         "writes_total": replication.get("writesTotal", replication.get("total"))}
    # Verdict against the expectations.
    exp, problems = sc["expect"], []
    if expected is not None and len(succeeded) != expected:
        problems.append(f"{len(succeeded)} failover(s) succeeded, expected {expected}")
    if false_actions > exp.get("maxFalseActions", 0):
        problems.append(f"{false_actions} false action(s)")
    det = card["detection"]["first_unhealthy_seconds"]
    if "maxDetectionSeconds" in exp and (det is None or det > exp["maxDetectionSeconds"]):
        problems.append(f"detection {det}s exceeds {exp['maxDetectionSeconds']}s")
    if "maxRtoSeconds" in exp and (rto is None or rto > exp["maxRtoSeconds"]):
        problems.append(f"RTO {rto}s exceeds {exp['maxRtoSeconds']}s")
    if "maxWritesLost" in exp and (replication.get("writesLost") or 0) > exp["maxWritesLost"]:
        problems.append(f"{replication.get('writesLost')} writes lost")
    card["passed"] = not problems
    card["problems"] = problems
    card["timeline"] = {
        "steps": [{"at_seconds": s["atMs"] / 1000.0, "action": s["action"],
                   "region": s.get("region"), "transient": bool(s.get("transient"))} for s in steps],
        "decisions": [{"at_seconds": rel(d["at_ms"]), "state": d["state"], "action": d["action"],
                       "summary": d["summary"]} for d in decisions],
        "samples": [[rel(at), ok] for at, ok in samples],
    }
    return card


def render_html(card):
    """A self-contained page: the scorecard table and an inline SVG timeline."""
    dur = max(card["duration_seconds"], 1.0)
    width, left, row = 900, 110, 26
    x = lambda t: left + (width - left - 10) * max(0.0, min(t, dur)) / dur  # noqa: E731
    lanes = ["scenario", "decisions", "failover POSTs", "rw listener"]
    height = row * len(lanes) + 40
    svg = [f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" font-family="sans-serif" font-size="11">']
    for i, lane in enumerate(lanes):
        y = 20 + i * row
        svg.append(f'<text x="4" y="{y + 14}">{lane}</text>')
        svg.append(f'<line x1="{left}" y1="{y + 10}" x2="{width - 10}" y2="{y + 10}" stroke="#ddd"/>')
    for w in card["outage_windows"]:
        color = "#fbb" if not w["transient"] else "#fde3b0"
        svg.append(f'<rect class="outage" x="{x(w["start"]):.1f}" y="20" '
                   f'width="{max(1.0, x(w["end"]) - x(w["start"])):.1f}" height="{row - 6}" '
                   f'fill="{color}"><title>{"flap" if w["transient"] else "outage"} '
                   f'{w["start"]}s-{w["end"]}s</title></rect>')
    for d in card["timeline"]["decisions"]:
        color = "#2a2" if d["state"] == "HEALTHY" else ("#c00" if d["action"] not in ("none", "hold") else "#e80")
        svg.append(f'<circle class="decision-mark" cx="{x(d["at_seconds"]):.1f}" cy="{20 + row + 10}" '
                   f'r="4" fill="{color}"><title>{html.escape(d["state"])}: '
                   f'{html.escape(d["summary"])}</title></circle>')
    for a in card["actions"]:
        color = "#06c" if a["warranted"] else "#c00"
        svg.append(f'<rect class="action-mark" x="{x(a["at_seconds"]) - 3:.1f}" y="{20 + 2 * row + 4}" '
                   f'width="6" height="12" fill="{color}"><title>{html.escape(a["route"])} to '
                   f'{html.escape(str(a["server"]))} at {a["at_seconds"]}s</title></rect>')
    for at, ok in card["timeline"]["samples"]:
        if 0 <= at <= dur:
            svg.append(f'<rect x="{x(at):.1f}" y="{20 + 3 * row + 4}" width="2" height="12" '
                       f'fill="{"#2a2" if ok else "#c00"}"/>')
    for t in range(0, int(dur) + 1, max(1, int(dur) // 10)):
        svg.append(f'<text x="{x(t):.1f}" y="{height - 4}" text-anchor="middle">{t}s</text>')
    svg.append("</svg>")

    def cell(v):
        return "-" if v is None else html.escape(str(v))
    det = card["detection"]
    rows = [("result", "PASSED" if card["passed"] else "FAILED: " + "; ".join(card["problems"])),
            ("outage start", f'{cell(card["outage_start_seconds"])} s'),
            ("detection (first non-HEALTHY decision)", f'{cell(det["first_unhealthy_seconds"])} s'),
            ("detection (confirmed down)", f'{cell(det["confirmed_down_seconds"])} s'),
            ("decision", cell(card["decision"] and card["decision"]["summary"])),
            ("actions (failover POSTs)", cell(", ".join(f'{a["route"]}@{a["at_seconds"]}s'
                                                        for a in card["actions"]) or "none")),
            ("RTO (rw listener)", f'{cell(card["rto_seconds"])} s'),
            ("data lost", f'{cell(card["data_loss"]["writes_lost"])} writes'),
            ("false actions", cell(card["false_actions"]))]
    table = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>foghorn game day: {html.escape(card["scenario"])}</title>
<style>body{{font-family:sans-serif;margin:2em}}th{{text-align:left;padding-right:1em}}
td,th{{border-bottom:1px solid #eee;padding:4px}}.passed{{color:#2a2}}.failed{{color:#c00}}</style>
</head><body>
<h1>foghorn game day: {html.escape(card["scenario"])}</h1>
<p>{html.escape(card["description"])}</p>
<h2 class="{"passed" if card["passed"] else "failed"}">{"PASSED" if card["passed"] else "FAILED"}</h2>
<table id="scorecard">{table}</table>
<h2>Timeline</h2>
{"".join(svg)}
<p>Red band: outage of the primary region; amber: flaps. Dots: decisions (green healthy, amber
not healthy, red acting). Blue bars: warranted failover POSTs; red: false actions. Bottom lane: rw
listener samples.</p>
</body></html>
"""


def run(sc, out_dir, log=print):
    sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
    import harness  # noqa: E402  (reads FOGHORN_BIN_DIR at import)
    os.makedirs(out_dir, exist_ok=True)
    work = os.path.join(out_dir, "work")
    os.makedirs(work, exist_ok=True)
    sim = harness.ArmSim(work, operation_ms=sc.get("operationMs", 500))
    agent = None
    sampler = None
    try:
        rb = sc["runbook"]
        runbook = harness.runbook_yaml(sim, approval_mode=rb.get("approval_mode", "automatic"),
                                       data_loss_grace=rb.get("data_loss_grace", "8s"),
                                       budget=rb.get("budget", "5m"),
                                       planned_grace=rb.get("planned_grace", "2s"))
        # The timeline starts once the agent has read ARM, heard its probes and decided HEALTHY.
        agent = harness.Agent(work, sim, runbook).start().wait_settled(30)
        primary = sim.primary()
        primary_region = region_of(sim, primary) or "eastus"
        steps = expand(sc["steps"])
        sampler = Sampler(sim.endpoints[f"fg:{harness.GROUP}:rw"])
        t0 = time.time()
        t0_ms = int(t0 * 1000)
        sampler.start()
        log(f"scenario {sc.get('name', '')}: {len(steps)} steps over {sc['durationMs'] / 1000}s")
        for st in steps:
            delay = t0 + st["atMs"] / 1000.0 - time.time()
            if delay > 0:
                time.sleep(delay)
            apply_step(sim, harness.GROUP, st)
            log(f"  t+{st['atMs'] / 1000:.1f}s {st['action']} {st.get('region', '')}")
        rest = t0 + sc["durationMs"] / 1000.0 - time.time()
        if rest > 0:
            time.sleep(rest)
        samples = sampler.stop()
        sampler = None
        # An operation still running at the scenario's end is scored by its outcome, not as
        # missing: wait (bounded) for it to finish before reading the journal and the emulator.
        harness.wait_until(lambda: not any(o[1] in ("pending", "running")
                                           for o in agent.operations()), 90,
                           "running operations to finish")
        with agent.db() as c:
            decisions = [{"state": s, "action": a, "summary": m, "at_ms": at // 1000}
                         for s, a, m, at in c.execute(
                             "SELECT state, action, summary, at_us FROM decisions "
                             "ORDER BY id").fetchall()]
            operations = [{"kind": k, "state": s, "target": t, "outcome": o, "created_ms": c_us // 1000}
                          for k, s, t, o, c_us in c.execute(
                              "SELECT kind, state, target_server, outcome, created_us "
                              "FROM operations ORDER BY created_us").fetchall()]
        posts = [r for r in sim.requests() if r.get("route") in harness.MUTATING_ROUTES[3:]
                 and (r.get("status") == 202 or r.get("acceptedOperation"))]
        replication = sim.replication()
        card = score(sc, t0_ms, steps, decisions, operations, posts, samples, replication,
                     primary_region)
        card["final_primary"] = sim.primary()
        card["work_dir"] = work
        with open(os.path.join(out_dir, "gameday.json"), "w") as f:
            json.dump(card, f, indent=2)
        with open(os.path.join(out_dir, "gameday.html"), "w") as f:
            f.write(render_html(card))
        return card
    finally:
        if sampler:
            sampler.stop()
        if agent:
            agent.stop()
        sim.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", required=True, help="scenario JSON file")
    p.add_argument("--out", required=True, help="output directory (gameday.json, gameday.html)")
    p.add_argument("--bin-dir", default=os.environ.get("FOGHORN_BIN_DIR",
                                                       os.path.join(REPO, "build", "bin")))
    args = p.parse_args()
    os.environ["FOGHORN_BIN_DIR"] = args.bin_dir
    try:
        sc = load_scenario(args.scenario)
    except ScenarioError as e:
        print(f"gameday: {e}", file=sys.stderr)
        return 2
    card = run(sc, args.out)
    d = card["detection"]
    print(f"detection: {d['first_unhealthy_seconds']}s (confirmed down {d['confirmed_down_seconds']}s); "
          f"decision: {card['decision'] and card['decision']['summary']}; "
          f"actions: {len(card['actions'])}; RTO: {card['rto_seconds']}s; "
          f"writes lost: {card['data_loss']['writes_lost']}; false actions: {card['false_actions']}")
    print(("PASSED" if card["passed"] else "FAILED: " + "; ".join(card["problems"]))
          + f"  ({os.path.join(args.out, 'gameday.html')})")
    return 0 if card["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
