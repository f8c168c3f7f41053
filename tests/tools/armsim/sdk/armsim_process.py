"""Starts the foghorn-armsim binary on port 0 for an SDK test and stops it afterwards."""
import json
import os
import subprocess
import tempfile
import time


class ArmSim:
    def __init__(self, binary, topology, extra_args=()):
        self.dir = tempfile.TemporaryDirectory(prefix="armsim-sdk-")
        port_file = os.path.join(self.dir.name, "port.json")
        self.log_path = os.path.join(self.dir.name, "requests.jsonl")
        self.proc = subprocess.Popen(
            [binary, "--topology=" + topology, "--cert-dir=" + self.dir.name,
             "--port-file=" + port_file, "--request-log=" + self.log_path,
             "--operation-duration-ms=50", "--strict-auth", *extra_args],
            stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("foghorn-armsim did not start")
            time.sleep(0.02)  # polling a file with a bounded deadline, not synchronisation by sleep
        with open(port_file) as f:
            hello = json.load(f)
        self.base_url = hello["baseUrl"]
        self.ca = hello["caCert"]

    def requests(self):
        with open(self.log_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.dir.cleanup()
