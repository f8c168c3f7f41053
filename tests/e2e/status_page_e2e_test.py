"""The status page in headless Chromium during an emulator outage (issue 17).

foghorn-armsim and foghornd on loopback; one Chromium tab (headless, driven over
--remote-debugging-pipe with the DevTools protocol, nothing but the standard library) opens
http://127.0.0.1:<metrics port>/status before the outage and stays open. The test reads the
rendered DOM while the page updates itself and checks that the group's stage moves from HEALTHY
through CONFIRMED_DOWN to the failover, that the operation's steps show as they happen, and keeps a
screenshot (under the build dir, path printed). Exits 77 (skipped) when chromium is missing.
"""
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = os.environ.get("FOGHORN_E2E_ARTIFACTS",
                           os.path.join(os.path.dirname(harness.BIN), "e2e-artifacts"))
FAILOVER_STAGES = {"PLANNED", "TRY_PLANNED_BEFORE_FORCED", "FORCED", "VERIFYING"}


class Browser:
    """Headless Chromium over the DevTools pipe (fd 3: to the browser, fd 4: from it)."""

    def __init__(self, width=412, height=915):  # a phone's viewport
        self.profile = tempfile.mkdtemp(prefix="foghorn-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The child gets its ends as fds 3 and 4, as --remote-debugging-pipe expects (moved
        # out of the way first: either may already be 3 or 4). Fds are closed after this runs,
        # so pass_fds names 3 and 4 themselves.
        def child_fds():
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
             "--remote-debugging-pipe", f"--user-data-dir={self.profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=child_fds,
            pass_fds=(3, 4))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._id = 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width,
                  height=height, deviceScaleFactor=1, mobile=True)

    def call(self, method, session=False, timeout=30, **params):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._id:
                    if "error" in reply:
                        raise AssertionError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
            if time.monotonic() > deadline:
                raise AssertionError(f"chromium did not answer {method} within {timeout}s")
            ready, _, _ = select.select([self._from_browser], [], [], 1)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise AssertionError("chromium closed the DevTools pipe")
                self._buf += chunk

    def navigate(self, url):
        self.call("Page.navigate", session=True, url=url)

    def eval(self, expression):
        r = self.call("Runtime.evaluate", session=True, expression=expression,
                      returnByValue=True)
        return r.get("result", {}).get("value")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", session=True, format="png",
                         captureBeyondViewport=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except (AssertionError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


# What the test reads from the rendered page: the group card's stage badge, the stages the page
# has shown (its own track), and every step row the page renders (running and recent operations).
READ_DOM = """(() => {
  const card = document.querySelector('article.group');
  const stage = card && card.querySelector('.stage');
  const steps = [...document.querySelectorAll('article.operation tr')].map((tr) => {
    const n = tr.querySelector('.step-name'), s = tr.querySelector('.step-state');
    return n && s ? [n.textContent, s.textContent] : null;
  }).filter(Boolean);
  return JSON.stringify({
    conn: (document.getElementById('conn') || {}).textContent,
    stage: stage ? stage.dataset.stage : null,
    track: card ? [...card.querySelectorAll('.track li')].map((li) => li.textContent) : [],
    steps: steps,
    primary: card ? card.querySelector('dd') && card.querySelector('dd').textContent : null,
    events: document.querySelectorAll('#events li.event').length,
  });
})()"""


class StatusPageEndToEnd(unittest.TestCase):
    def setUp(self):
        self.dir = harness.workdir()
        self.sim = harness.ArmSim(self.dir, operation_ms=3000)
        self.agent = None
        self.browser = None

    def tearDown(self):
        if self.browser:
            self.browser.close()
        if self.agent:
            self.agent.stop()
        self.sim.stop()
        if not self._outcome.result.failures and not self._outcome.result.errors:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print(f"\nkept {self.dir} for inspection", file=sys.stderr)

    def read(self):
        return json.loads(self.browser.eval(READ_DOM) or "{}")

    def test_the_page_follows_an_outage_from_healthy_through_confirmed_down_to_the_failover(self):
        probe_target = harness.Listener()
        self.agent = harness.Agent(
            self.dir, self.sim,
            harness.runbook_yaml(self.sim, primary_probe_addr=probe_target.address,
                                 planned_grace="3s", confirm_after="1s")).start().wait_settled()
        self.browser = Browser()
        url = f"http://127.0.0.1:{self.agent.ready['metrics_port']}/status"
        self.browser.navigate(url)
        seen = []  # the stage badge's values, as the page showed them, in order

        def observe(pred):
            dom = self.read()
            if dom.get("stage") and (not seen or seen[-1] != dom["stage"]):
                seen.append(dom["stage"])
            return pred(dom)

        wait_until(lambda: observe(lambda d: d.get("stage") == "HEALTHY" and d["conn"] == "live"),
                   30, "the page to show HEALTHY")
        probe_target.down()  # the agent loses sight of the primary; Azure still reaches it
        wait_until(lambda: observe(lambda d: d.get("stage") == "CONFIRMED_DOWN"), 30,
                   "the page to show CONFIRMED_DOWN", interval=0.1)
        # The failover: the page's stage track (fed by its polls and by the live decision
        # events, so a stage shorter than a poll still shows) names it, and the operation's steps
        # appear while it runs (the ARM step takes 3 s in the emulator).
        wait_until(lambda: observe(lambda d: FAILOVER_STAGES & set(d["track"])), 30,
                   "the page to show the failover", interval=0.1)
        running = wait_until(
            lambda: observe(lambda d: ["arm:failover", "running"] in d["steps"] and d), 30,
            "the ARM step running on the page", interval=0.1)
        final = wait_until(
            lambda: observe(lambda d: ["arm:failover", "done"] in d["steps"]
                            and d.get("stage") == "HEALTHY" and d), 60,
            "the finished failover and HEALTHY again", interval=0.2)

        os.makedirs(ARTIFACTS, exist_ok=True)
        shot = os.path.join(ARTIFACTS, "status_page_after_failover.png")
        self.browser.screenshot(shot)
        print(f"\nstatus page screenshot: {shot}", file=sys.stderr, flush=True)

        # In order, as the page showed them (SUSPECT may come between, too briefly to be seen).
        self.assertEqual(seen[0], "HEALTHY", seen)
        self.assertIn("CONFIRMED_DOWN", seen)
        self.assertEqual(seen[-1], "HEALTHY", seen)
        track = final["track"]
        down = track.index("CONFIRMED_DOWN")
        failover = next(i for i, s in enumerate(track) if s in FAILOVER_STAGES)
        self.assertEqual(track[0], "HEALTHY", track)
        self.assertLess(down, failover, track)
        self.assertEqual(track[-1], "HEALTHY", track)
        self.assertNotIn(["arm:failover", "done"], running["steps"], running)
        self.assertIn(["arm:failover", "done"], final["steps"], final)
        self.assertGreater(final["events"], 0, final)
        self.assertEqual(self.sim.primary(), "sql-west")
        self.assertTrue(os.path.getsize(shot) > 0)

    def test_with_tokens_the_page_asks_for_one_and_shows_nothing_without_it(self):
        token_file = os.path.join(self.dir, "viewer.token")
        with open(token_file, "w") as f:
            f.write("viewer-token-0123456789\n")
        os.chmod(token_file, 0o600)
        tokens = ("  tokens:\n"
                  f"    - {{name: viewer-bot, role: viewer, token_file: {token_file}}}\n")
        self.agent = harness.Agent(self.dir, self.sim, harness.runbook_yaml(self.sim),
                                   api_tokens=tokens).start()
        self.browser = Browser()
        base = f"http://127.0.0.1:{self.agent.ready['metrics_port']}/status"
        self.browser.navigate(base)
        wait_until(lambda: self.browser.eval(
            "document.getElementById('login').classList.contains('shown')"), 20,
            "the token form")
        self.assertIsNone(self.read().get("stage"))
        # The token in the fragment (never sent to the server) is kept in the tab.
        self.browser.navigate(base + "?reload=1#token=viewer-token-0123456789")
        wait_until(lambda: self.read().get("stage"), 30, "the group after the token")


if __name__ == "__main__":
    if CHROMIUM is None:
        print("chromium not found: skipped", file=sys.stderr)
        sys.exit(77)
    harness.main()
