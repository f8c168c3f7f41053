// The status page's markup, style and script, served as is by StatusPage::HandlePage. Nothing is
// loaded from anywhere else (no CDN, no font, no image). Every value the agent reports reaches
// the document through textContent or a fixed-name attribute: the script never assigns
// innerHTML/outerHTML, never calls insertAdjacentHTML or document.write, and never evaluates
// text (tests/orchestrator/api/status_page_test.cc checks the script for those).
#include "orchestrator/api/status_page.h"

namespace foghorn::api {

absl::string_view StatusPageHtml() {
  static constexpr char kPage[] = R"FOGHORN_PAGE(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>foghorn status</title>
<style>
:root { --bg:#fff; --fg:#1b1f24; --muted:#5c6670; --card:#f4f6f8; --line:#d5dbe1;
  --ok:#1a7f37; --warn:#9a6700; --bad:#cf222e; --act:#0969da; }
@media (prefers-color-scheme: dark) { :root { --bg:#0d1117; --fg:#e6edf3; --muted:#9aa5b1;
  --card:#161b22; --line:#30363d; --ok:#3fb950; --warn:#d29922; --bad:#f85149; --act:#58a6ff; } }
* { box-sizing: border-box; }
body { margin:0; font:16px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  background:var(--bg); color:var(--fg); }
header { position:sticky; top:0; background:var(--bg); border-bottom:1px solid var(--line);
  padding:.6rem 1rem; display:flex; flex-wrap:wrap; gap:.5rem 1rem; align-items:baseline; z-index:1; }
header h1 { font-size:1.1rem; margin:0; }
main { padding:0 1rem 2rem; max-width:60rem; margin:0 auto; }
h2 { font-size:1rem; margin:1.4rem 0 .5rem; color:var(--muted); text-transform:uppercase;
  letter-spacing:.04em; }
.muted { color:var(--muted); font-size:.9rem; }
.banner { margin:.8rem 0; padding:.6rem .8rem; border-radius:.4rem; background:var(--card);
  border-left:.3rem solid var(--warn); }
.banner.bad { border-color:var(--bad); }
.card { background:var(--card); border:1px solid var(--line); border-radius:.5rem;
  padding:.8rem; margin:.6rem 0; overflow-wrap:anywhere; }
.card h3 { margin:0 0 .3rem; font-size:1.05rem; }
.stage { display:inline-block; font-weight:700; padding:.1rem .5rem; border-radius:1rem;
  color:#fff; background:var(--muted); font-size:.95rem; }
.stage[data-stage="HEALTHY"] { background:var(--ok); }
.stage[data-stage="SUSPECT"], .stage[data-stage="HOLD"],
.stage[data-stage="WAIT_APPROVAL"] { background:var(--warn); }
.stage[data-stage="CONFIRMED_DOWN"] { background:var(--bad); }
.stage[data-stage="PLANNED"], .stage[data-stage="FORCED"],
.stage[data-stage="TRY_PLANNED_BEFORE_FORCED"], .stage[data-stage="VERIFYING"] { background:var(--act); }
.track { list-style:none; padding:0; margin:.4rem 0; display:flex; flex-wrap:wrap; gap:.2rem; }
.track li { font-size:.8rem; color:var(--muted); }
.track li + li::before { content:"\2192  "; }
dl { display:grid; grid-template-columns:max-content 1fr; gap:.15rem .8rem; margin:.5rem 0; }
dt { color:var(--muted); } dd { margin:0; }
.v-healthy { color:var(--ok); font-weight:600; } .v-unhealthy { color:var(--bad); font-weight:700; }
.v-unknown { color:var(--warn); font-weight:600; }
ul.reasons { margin:.3rem 0; padding-left:1.2rem; }
ul.reasons code { font-size:.85rem; }
table { border-collapse:collapse; width:100%; font-size:.9rem; }
th, td { text-align:left; padding:.25rem .4rem; border-bottom:1px solid var(--line); vertical-align:top; }
.scroll { overflow-x:auto; }
.s-succeeded, .s-passed { color:var(--ok); } .s-failed, .s-aborted { color:var(--bad); }
.s-intent, .s-running { color:var(--act); font-weight:600; }
#events li { margin:.15rem 0; }
#login { display:none; }
#login.shown { display:block; }
input[type=password] { font:inherit; padding:.4rem; width:100%; max-width:30rem; }
button { font:inherit; padding:.4rem .8rem; margin-top:.4rem; }
</style>
</head>
<body>
<header>
  <h1>foghorn</h1>
  <span id="conn" class="muted">connecting&hellip;</span>
  <span id="updated" class="muted"></span>
</header>
<main>
  <form id="login" class="card">
    <p>This agent needs a viewer token (the control API's tokens). It is kept in this tab only.</p>
    <input id="token" type="password" autocomplete="off" placeholder="token">
    <br><button type="submit">Show status</button>
  </form>
  <div id="global"></div>
  <section><h2>Failover groups</h2><div id="groups"></div></section>
  <section><h2>Running operations</h2><div id="running"></div></section>
  <section><h2>Live events</h2><ol id="events" reversed></ol></section>
  <section><h2>Recent operations</h2><div id="operations" class="scroll"></div></section>
  <section><h2>Recent decisions</h2><div id="decisions" class="scroll"></div></section>
  <section><h2>Drill reports</h2><div id="drills" class="scroll"></div></section>
</main>
<script>
"use strict";
(function () {
  const POLL_MS = 1000, MAX_EVENTS = 60;
  let token = sessionStorage.getItem("foghorn-token") || "";
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) {
    token = decodeURIComponent(m[1]);
    sessionStorage.setItem("foghorn-token", token);
    history.replaceState(null, "", location.pathname + location.search);
  }
  let lastSeq = 0, serverNow = Date.now(), waiting = false;
  const tracks = new Map();  // group id -> stages seen by this page, in order

  // Builds an element; children are nodes or values shown as text (never parsed as markup).
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    if (props) for (const [k, v] of Object.entries(props)) {
      if (k === "class") e.className = v; else e.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  const $ = (id) => document.getElementById(id);
  const short = (v, prefix) => (typeof v === "string" && v.startsWith(prefix)) ? v.slice(prefix.length) : (v || "");
  const stageOf = (v) => short(v, "DECISION_STAGE_") || "UNSPECIFIED";
  const lower = (v, prefix) => short(v, prefix).toLowerCase();
  function dur(s) {  // proto Duration JSON ("12.5s") -> "12.5s" / "2m 5s"
    if (!s) return "-";
    let t = parseFloat(s);
    if (!isFinite(t)) return String(s);
    if (t < 60) return (Math.round(t * 10) / 10) + "s";
    const h = Math.floor(t / 3600), mn = Math.floor((t % 3600) / 60), sec = Math.round(t % 60);
    return (h ? h + "h " : "") + mn + "m " + sec + "s";
  }
  function ago(ts) {
    if (!ts) return "-";
    const ms = Date.parse(ts);
    if (isNaN(ms)) return String(ts);
    let s = Math.round((serverNow - ms) / 1000);
    const future = s < 0; s = Math.abs(s);
    const txt = s < 60 ? s + "s" : s < 3600 ? Math.floor(s / 60) + "m" + (s % 60 ? " " + (s % 60) + "s" : "")
      : s < 86400 ? Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m" : Math.floor(s / 86400) + "d";
    return future ? "in " + txt : txt + " ago";
  }
  function when(ts) {  // local time with the age; the exact instant on hover
    if (!ts) return el("span", null, "-");
    const d = new Date(ts);
    return el("time", { datetime: ts, title: ts }, d.toLocaleTimeString(), " (", ago(ts), ")");
  }
  function verdict(v) {
    const name = lower(v, "VERDICT_") || "unknown";
    return el("span", { class: "v-" + name }, name);
  }
  function table(header, rows) {
    if (!rows.length) return el("p", { class: "muted" }, "none");
    const t = el("table", null, el("thead", null, el("tr", null, ...header.map((h) => el("th", null, h)))));
    const body = el("tbody");
    for (const r of rows) body.appendChild(el("tr", null, ...r.map((c) => el("td", null, c))));
    t.appendChild(body);
    return t;
  }
  function note(group, stage) {
    let t = tracks.get(group);
    if (!t) { t = []; tracks.set(group, t); }
    if (t[t.length - 1] !== stage) t.push(stage);
    if (t.length > 12) t.splice(0, t.length - 12);
  }

  function renderGroup(g) {
    const d = g.last_decision || {};
    const stage = stageOf(d.stage);
    note(g.id, stage);
    const reasons = el("ul", { class: "reasons" });
    for (const r of d.reasons || []) reasons.appendChild(el("li", null, el("code", null, r.code || ""), " ", r.text || ""));
    const facts = el("dl");
    const add = (k, ...v) => { facts.appendChild(el("dt", null, k)); facts.appendChild(el("dd", null, ...v)); };
    const p = g.primary || {}, s = g.secondary || {};
    add("primary", p.server || "-", " ", verdict(p.verdict), p.unhealthy_since ? el("span", { class: "muted" }, " since ", when(p.unhealthy_since)) : null);
    add("secondary", s.server || "-", " ", verdict(s.verdict), s.unhealthy_since ? el("span", { class: "muted" }, " since ", when(s.unhealthy_since)) : null);
    add("roles", g.roles_from_arm ? "as read from ARM" : "from the runbook (not read from ARM yet)");
    add("replication lag", g.replication_lag ? dur(g.replication_lag) : "unknown", g.replication_lag_sampled_at ? el("span", { class: "muted" }, " sampled ", when(g.replication_lag_sampled_at)) : null);
    add("data loss estimate", d.estimated_data_loss ? dur(d.estimated_data_loss) : "-");
    if (d.outage_began) add("outage began", when(d.outage_began));
    if (d.target_server) add("target", d.target_server);
    if (d.action && d.action !== "FAILOVER_KIND_UNSPECIFIED") add("action", lower(d.action, "FAILOVER_KIND_"));
    if (g.operation_in_flight) add("operation", el("span", { class: "s-running op-in-flight" }, g.operation_in_flight));
    if (g.pause && g.pause.paused) add("paused", g.pause.reason || "", g.pause.until ? el("span", null, " until ", when(g.pause.until)) : null);
    if (g.vantage_impaired) add("vantage", el("span", { class: "v-unknown" }, "impaired: everything looks down from here"));
    add("approval mode", lower(g.approval_mode, "APPROVAL_MODE_") || "-");
    const track = el("ol", { class: "track", "aria-label": "stages seen" });
    for (const st of tracks.get(g.id)) track.appendChild(el("li", { "data-stage": st }, st));
    return el("article", { class: "card group", "data-group-id": g.id },
      el("h3", null, g.name || g.id, " ", el("span", { class: "stage", "data-stage": stage }, stage)),
      el("div", { class: "muted" }, g.id),
      el("p", { class: "summary" }, d.summary || ""),
      reasons, track, facts);
  }
  function stepRows(op) {
    return (op.steps || []).map((st) => [
      el("span", { class: "step-name" }, st.name || ""),
      el("span", { class: "step-state s-" + lower(st.state, "STEP_STATE_") }, lower(st.state, "STEP_STATE_")),
      when(st.started_at), st.detail || ""]);
  }
  function renderOperation(op) {
    const kind = op.drill ? "drill" : lower(op.kind, "FAILOVER_KIND_");
    const state = lower(op.state, "OPERATION_STATE_");
    return el("article", { class: "card operation", "data-operation-id": op.id },
      el("h3", null, kind, " to ", op.target_server || "-", " ", el("span", { class: "s-" + state }, state)),
      el("div", { class: "muted" }, op.group_id || "", " · ", op.id || "", " · by ", op.requested_by || "-", " · ", when(op.created_at)),
      op.reason ? el("p", null, op.reason) : null,
      el("div", { class: "scroll" }, table(["step", "state", "started", "detail"], stepRows(op))));
  }
  function render(state) {
    serverNow = Date.parse(state.generated_at) || Date.now();
    $("updated").textContent = "updated " + new Date(serverNow).toLocaleTimeString();
    const gp = state.global_pause || {};
    $("global").replaceChildren(...(gp.paused ? [el("div", { class: "banner" }, "All automation paused: ", gp.reason || "", gp.until ? el("span", null, " until ", when(gp.until)) : null)] : []));
    const groups = (state.groups && state.groups.groups) || [];
    $("groups").replaceChildren(...(groups.length ? groups.map(renderGroup) : [el("p", { class: "muted" }, "no groups")]));
    const running = (state.running_operations && state.running_operations.operations) || [];
    $("running").replaceChildren(...(running.length ? running.map(renderOperation) : [el("p", { class: "muted" }, "none")]));
    const ops = (state.recent_operations && state.recent_operations.operations) || [];
    $("operations").replaceChildren(...ops.map(renderOperation), ...(ops.length ? [] : [el("p", { class: "muted" }, "none")]));
    const decs = (state.recent_decisions && state.recent_decisions.decisions) || [];
    $("decisions").replaceChildren(table(["when", "group", "stage", "summary"], decs.map((d) => [
      when(d.decided_at), d.group_id || "", el("span", { class: "stage", "data-stage": stageOf(d.stage) }, stageOf(d.stage)), d.summary || ""])));
    const reps = (state.drill_reports && state.drill_reports.reports) || [];
    $("drills").replaceChildren(table(["drill", "group", "outcome", "started", "finished"], reps.map((r) => [
      r.drill_id || "", r.group_id || "", el("span", { class: "s-" + lower(r.outcome, "DRILL_OUTCOME_") }, lower(r.outcome, "DRILL_OUTCOME_") + (r.dry_run ? " (dry run)" : "")),
      when(r.started_at), when(r.finished_at)])));
  }
  function addEvents(body) {
    const list = $("events");
    if (body.missed) list.insertBefore(el("li", { class: "muted" }, body.missed + " earlier events not shown"), list.firstChild);
    for (const e of body.events || []) {
      if (e.decision && e.group_id) note(e.group_id, stageOf(e.decision.stage));
      list.insertBefore(el("li", { class: "event", "data-kind": lower(e.kind, "EVENT_KIND_") },
        when(e.at), " ", el("strong", null, lower(e.kind, "EVENT_KIND_")), " ", e.summary || ""), list.firstChild);
    }
    while (list.children.length > MAX_EVENTS) list.removeChild(list.lastChild);
  }

  async function get(path) {
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const r = await fetch(path, { headers, cache: "no-store" });
    if (r.status === 401) {
      waiting = true;
      $("login").classList.add("shown");
      throw new Error("a viewer token is needed");
    }
    if (!r.ok) throw new Error("HTTP " + r.status);
    return r.json();
  }
  async function tick() {
    if (!waiting) {
      try {
        const ev = await get("/status/events.json?after=" + lastSeq);
        if (ev.last_seq < lastSeq) lastSeq = 0;  // the agent restarted: its numbering too
        addEvents(ev);
        lastSeq = ev.last_seq;
        render(await get("/status/state.json"));
        $("conn").textContent = "live";
      } catch (err) {
        $("conn").textContent = "not connected: " + err.message;
      }
    }
    setTimeout(tick, POLL_MS);
  }
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem("foghorn-token", token);
    $("token").value = "";
    $("login").classList.remove("shown");
    waiting = false;
  });
  tick();
})();
</script>
</body>
</html>
)FOGHORN_PAGE";
  return absl::string_view(kPage, sizeof(kPage) - 1);
}

}  // namespace foghorn::api
