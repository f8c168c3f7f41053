#!/usr/bin/env python3
"""foghornd under Type=notify: READY=1 (with its MAINPID) only once the control API serves, and
STOPPING=1 when SIGTERM starts the orderly shutdown.

  check_systemd_notify.py FOGHORND

Plays systemd's part: binds a datagram socket, names it in NOTIFY_SOCKET and runs foghornd with a
loopback-only config (probes and ARM on closed 127.0.0.1 ports, observe-only). Every wait has a
deadline. Run by ctest (packaging/CMakeLists.txt: systemd_notify.foghornd).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

RUNBOOK = """group:
  subscription_id: 00000000-0000-0000-0000-000000000009
  resource_group: rg-notify
  name: fog-notify
  primary_server: sql-notify-a
  secondary_server: sql-notify-b
probes:
  - {name: primary-tcp, target: primary, interval: 2s, timeout: 1s, tcp: {address: "127.0.0.1:1"}}
  - {name: secondary-tcp, target: secondary, interval: 2s, timeout: 1s, tcp: {address: "127.0.0.1:1"}}
policy:
  approval_mode: observe_only
"""

CONFIG = """state_dir: {d}/state
runbooks: [{d}/runbooks]
arm:
  endpoint: http://127.0.0.1:1
  credentials: {{token_env: FOGHORN_NOTIFY_TEST_ARM_TOKEN}}
api:
  listen: 127.0.0.1:0
metrics:
  listen: "off"
log:
  file: {d}/foghornd.log
"""


def receive(sock, want, deadline, proc):
    """Returns every datagram until one holds the line `want`; fails at the deadline, or as soon
    as foghornd exits without having sent it."""
    got = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {want} before the deadline; received {got}")
        if proc.poll() is not None and want != "STOPPING=1":
            raise AssertionError(f"foghornd exited {proc.returncode} before {want}: "
                                 f"{proc.stderr.read().decode()}")
        sock.settimeout(min(left, 1.0))  # wakes to notice an exit; never waits past the deadline
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            continue
        got.append(msg)
        if want in msg.split("\n"):
            return got


def main(argv):
    foghornd = argv[1]
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(f"{d}/runbooks")
        with open(f"{d}/runbooks/notify.yaml", "w") as f:
            f.write(RUNBOOK)
        with open(f"{d}/agent.yaml", "w") as f:
            f.write(CONFIG.format(d=d))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(f"{d}/notify")
        env = dict(os.environ, NOTIFY_SOCKET=f"{d}/notify",
                   FOGHORN_NOTIFY_TEST_ARM_TOKEN="not-a-real-token-0123456789")
        ready_file = f"{d}/ready.json"
        proc = subprocess.Popen([foghornd, "--config", f"{d}/agent.yaml", "--ready_file",
                                 ready_file], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            got = receive(sock, "READY=1", time.monotonic() + 60, proc)
            ready = got[-1].split("\n")
            assert f"MAINPID={proc.pid}" in ready, ready
            assert any(l.startswith("STATUS=watching 1 failover group") for l in ready), ready
            # READY=1 comes after the agent serves: its ports are known and the API accepts.
            with open(ready_file) as f:
                port = json.load(f)["api_port"]
            assert port > 0, port
            socket.create_connection(("127.0.0.1", port), timeout=10).close()
            assert not any("STOPPING=1" in m for m in got), got

            proc.send_signal(signal.SIGTERM)
            receive(sock, "STOPPING=1", time.monotonic() + 30, proc)
            rc = proc.wait(timeout=60)
            assert rc == 0, f"foghornd exited {rc}: {proc.stderr.read().decode()}"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    print("check_systemd_notify: READY=1 once serving, STOPPING=1 on SIGTERM, exit 0")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
