"""scripts/check_layering.py: upward includes and restricted third-party headers are reported as
file:line, the allow-list hides exactly its entries, a stale entry fails, and the layer table is a
one-way order. Each test builds a small tree in a temp dir; the real tree is checked by the
`layering` ctest."""
import contextlib
import importlib.util
import io
import os
import re
import shutil
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "check_layering.py")

spec = importlib.util.spec_from_file_location("check_layering", SCRIPT)
layering = importlib.util.module_from_spec(spec)
spec.loader.exec_module(layering)


class CheckLayering(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="layering_test.")
        self.addCleanup(shutil.rmtree, self.root)
        self.saved_allowed = layering.ALLOWED_VIOLATIONS
        self.addCleanup(setattr, layering, "ALLOWED_VIOLATIONS", self.saved_allowed)
        layering.ALLOWED_VIOLATIONS = []

    def write(self, path, *lines):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write("\n".join(lines) + "\n")

    def run_check(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = layering.main(["--root", self.root, *args])
        return rc, out.getvalue(), err.getvalue()

    def test_passes_when_every_include_points_down(self):
        self.write("orchestrator/common/clock.h", '#include "absl/time/time.h"')
        self.write("orchestrator/decision/decide.h", '#include "orchestrator/common/clock.h"',
                   '#include "foghorn/v1/runbook.pb.h"', "#include <vector>")
        self.write("orchestrator/api/api_server.cc", '#include "foghorn/v1/control.grpc.pb.h"',
                   '#include "grpcpp/grpcpp.h"')
        rc, out, err = self.run_check()
        self.assertEqual(rc, 0, err)
        self.assertIn("clean", out)

    def test_reports_an_upward_include_as_file_and_line(self):
        self.write("orchestrator/arm/arm_client.h", "// ARM", '#include "probes/prober.h"')
        rc, _, err = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("orchestrator/arm/arm_client.h:2: orchestrator/arm may not include probes",
                      err)

    def test_peers_on_one_level_do_not_include_each_other(self):
        self.write("orchestrator/journal/journal.h", '#include "orchestrator/arm/arm_client.h"')
        rc, _, err = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("orchestrator/journal/journal.h:1:", err)

    def test_only_grpc_layers_include_the_grpc_service(self):
        self.write("orchestrator/decision/decide.cc", '#include "foghorn/v1/control.grpc.pb.h"')
        rc, _, err = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("orchestrator/decision may not include proto/grpc", err)

    def test_reports_a_restricted_third_party_header_in_either_form(self):
        self.write("orchestrator/decision/decide.cc", "#include <curl/curl.h>",
                   '#include "grpcpp/grpcpp.h"', "#include <sqlite3.h>")
        rc, _, err = self.run_check()
        self.assertEqual(rc, 1)
        for line in (1, 2, 3):
            self.assertIn(f"orchestrator/decision/decide.cc:{line}:", err)

    def test_sources_never_include_tests(self):
        self.write("probes/prober.h", '#include "tests/testing/temp_dir.h"')
        rc, _, err = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("probes/prober.h:1: sources never include tests/", err)

    def test_a_directory_outside_the_table_fails(self):
        self.write("orchestrator/newpart/thing.h", "#include <string>")
        rc, _, err = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("orchestrator/newpart/thing.h:1: file is in no layer", err)

    def test_the_composition_root_may_wire_everything(self):
        self.write("orchestrator/daemon/main.cc", '#include "orchestrator/api/api_server.h"',
                   '#include "orchestrator/drill/drill_runner.h"')
        self.write("orchestrator/agent/agent.cc", '#include "orchestrator/api/api_server.h"')
        rc, _, err = self.run_check()
        self.assertEqual(rc, 1)
        self.assertNotIn("main.cc", err)
        self.assertIn("orchestrator/agent/agent.cc:1: orchestrator/agent may not include "
                      "orchestrator/api", err)

    def test_allow_listed_include_passes_and_a_stale_entry_fails(self):
        layering.ALLOWED_VIOLATIONS = [
            ("orchestrator/drill/x.h", "orchestrator/agent/agent.h", "why"),
            ("orchestrator/drill/gone.h", "orchestrator/agent/agent.h", "why"),
        ]
        self.write("orchestrator/drill/x.h", '#include "orchestrator/agent/agent.h"')
        rc, _, err = self.run_check()
        self.assertEqual(rc, 1)
        self.assertNotIn("orchestrator/drill/x.h:", err)
        self.assertIn("orchestrator/drill/gone.h -> orchestrator/agent/agent.h matches no include",
                      err)

    def test_report_mode_lists_edges_and_exits_zero(self):
        self.write("probes/health_tracker.h", '#include "orchestrator/common/clock.h"')
        self.write("orchestrator/common/clock.h", '#include "probes/prober.h"')
        rc, out, _ = self.run_check("--report")
        self.assertEqual(rc, 0)
        self.assertIn("probes -> orchestrator/common: 1", out)
        self.assertIn("orchestrator/common/clock.h:1: orchestrator/common may not include probes",
                      out)

    def test_the_layer_table_is_a_one_way_order(self):
        self.assertEqual(layering.check_table(), [])

    def test_docs_show_the_same_layer_table(self):
        doc = os.path.join(HERE, "..", "..", "docs", "architecture.md")
        rows = {}
        with open(doc, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^\| `([^`]+)`[^|]*\| ([^|]*) \|$", line.rstrip("\n"))
                if m and m.group(1) in dict(layering.LAYERS):
                    rows[m.group(1)] = re.findall(r"`([^`]+)`", m.group(2))
        self.assertEqual(rows, {name: deps for name, deps in layering.LAYERS},
                         "docs/architecture.md's layer table differs from LAYERS")


if __name__ == "__main__":
    unittest.main()
