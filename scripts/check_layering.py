#!/usr/bin/env python3
"""The layering check: every #include in foghorn's sources points down the flow.

Reads the #include lines of every .h/.cc under orchestrator/, probes/, runbooks/ and tools/ (not
tests/ or bench/, which may include anything they test), maps each file and each included header
to its layer (a directory, below), and fails listing every include that the layer table does not
allow, as file:line. docs/architecture.md explains the layers.

  scripts/check_layering.py            check; exit 1 listing each violation as file:line
  scripts/check_layering.py --report   every layer-to-layer edge with counts, then the
                                       violations (the allow-listed ones too); exit 0
  scripts/check_layering.py --table    the layer table as markdown (for docs/architecture.md)

Python 3 standard library only.
"""

import argparse
import collections
import os
import re
import sys

# The layer table, bottom first: each layer is a directory (or the generated protos), with the
# layers it may include. A layer may include itself. Every layer a layer may include is listed
# before it (the script checks), so the table is a one-way order: probes -> verdicts (the health
# tracker, in probes/) -> decision engine -> executor -> ARM client, with the journal beside the
# executor, the agent's control loop above them, and drills, the API and the tools on top.
# Layers on one level do not include each other (arm and journal, decision and probes, agent and
# drill): they meet only in a layer above them or in a composition root.
LAYERS = [
    # Generated messages (foghorn/v1/*.pb.h): protobuf only.
    ("proto", []),
    # Generated gRPC services and stubs (foghorn/v1/*.grpc.pb.h): only what serves or calls the
    # control API includes them, so nothing else links gRPC.
    ("proto/grpc", ["proto"]),
    # Clock, executors, worker pools, logging, metrics, durations, status macros: no other layer.
    ("orchestrator/common", []),
    # etcd coordination (client, session lease, leader keys, quorum rule); speaks etcd's gRPC API.
    ("orchestrator/coord", ["orchestrator/common", "proto"]),
    # Outbound HTTP (the transport of ARM calls, token requests, webhooks and notify steps): curl.
    ("orchestrator/http", ["orchestrator/common"]),
    # Config files: YAML -> proto by descriptor, with file:line:field diagnostics (runbooks and the
    # agent config are both built on it).
    ("orchestrator/config", ["orchestrator/common", "proto"]),
    # The ARM client: credentials, retry, LROs, idempotent failover. Knows nothing of runbooks.
    ("orchestrator/arm", ["orchestrator/common", "orchestrator/http"]),
    # The journal (SQLite): operations, steps, decisions, audit.
    ("orchestrator/journal", ["orchestrator/common"]),
    # The decision engine: a pure function of (view, policy, now).
    ("orchestrator/decision", ["orchestrator/common", "proto"]),
    # Probes and the health tracker (verdicts).
    ("probes", ["orchestrator/common", "proto"]),
    # Runbook and config loading: YAML -> proto, validation (policy checks use the engine's).
    # Probe rules are the probes' own (probes/probe_config.h), so --check and the agent agree.
    ("runbooks", ["orchestrator/common", "proto", "orchestrator/config", "orchestrator/decision",
                  "probes"]),
    # The operation executor: runbook steps (the v1::Step protos, not the YAML loader), journaled,
    # calling ARM.
    ("orchestrator/executor", ["orchestrator/common", "proto", "orchestrator/http",
                               "orchestrator/arm", "orchestrator/journal"]),
    # The agent's control loop: verdicts -> decisions -> operations.
    ("orchestrator/agent", ["orchestrator/common", "proto", "orchestrator/config",
                            "orchestrator/coord", "orchestrator/arm", "orchestrator/journal", "orchestrator/decision",
                            "probes", "runbooks", "orchestrator/executor"]),
    # DR drills: readiness, the drill runner, reports. Beside the agent, not above it.
    ("orchestrator/drill", ["orchestrator/common", "proto", "orchestrator/arm",
                            "orchestrator/journal", "probes", "orchestrator/executor"]),
    # The gRPC control API: reads the agent and the journal, posts commands, starts drills. It
    # never calls ARM itself.
    ("orchestrator/api", ["orchestrator/common", "proto", "proto/grpc", "orchestrator/config",
                          "orchestrator/journal", "orchestrator/decision", "probes", "runbooks",
                          "orchestrator/executor", "orchestrator/agent", "orchestrator/drill"]),
    # foghornd: the composition root (main.cc) and the adapters that join layers on one level
    # (drill over the running agent). Nothing includes it.
    ("orchestrator/daemon", ["orchestrator/common", "proto", "orchestrator/coord",
                             "orchestrator/http",
                             "orchestrator/config", "orchestrator/arm", "orchestrator/journal",
                             "orchestrator/decision", "probes", "runbooks",
                             "orchestrator/executor", "orchestrator/agent", "orchestrator/drill",
                             "orchestrator/api"]),
    # The ARM emulator: shares nothing with the ARM client it stands in for.
    ("tools/armsim", ["orchestrator/common"]),
    # The CLI: a gRPC client of the control API.
    ("tools/cli", ["orchestrator/common", "proto", "proto/grpc"]),
]

# Composition roots: the one file that wires real implementations together may also include
# these layers (STYLE.md: "only the agent's main wires real implementations together").
COMPOSITION_ROOTS = {}

# Third-party headers only some layers may include (quoted or <angled>). Everything else
# (absl, fmt, spdlog, nlohmann, protobuf, the C++ and POSIX headers) is unrestricted.
RESTRICTED_EXTERNAL = [
    ("grpcpp/", ["orchestrator/api", "orchestrator/coord", "tools/cli"]),
    ("grpc/", ["orchestrator/api", "orchestrator/coord", "tools/cli"]),
    ("etcd/", ["orchestrator/coord"]),  # generated etcd v3 protos (proto/etcd)
    ("curl/", ["orchestrator/http", "probes"]),
    ("sqlite3.h", ["orchestrator/journal"]),
    ("yaml-cpp/", ["orchestrator/config", "runbooks"]),
    ("httplib.h", ["orchestrator/agent", "tools/armsim"]),
]

# Known violations, to be removed by architecture issue 14's next round (the file moves). Each
# entry is (file, included header, why); matched by both, not by line. An entry that no longer
# matches an include is an error too, so the list only shrinks. Do not add to it: fix the include.
ALLOWED_VIOLATIONS = []

SOURCE_DIRS = ["orchestrator", "probes", "runbooks", "tools"]
SKIP_DIRS = {"node_modules", "examples", "__pycache__"}
SOURCE_EXTS = (".h", ".cc")
# Top-level directories whose headers a source file must never include.
NEVER_INCLUDED = ["tests/", "bench/"]

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_names():
    return [name for name, _ in LAYERS]


def check_table():
    """Problems with the table itself: unknown or later layers in a 'may include' list."""
    problems = []
    seen = set()
    for name, deps in LAYERS:
        for d in deps:
            if d not in seen:
                problems.append(f"layer table: {name} may include {d}, which is not listed "
                                f"before it")
        if name in seen:
            problems.append(f"layer table: {name} listed twice")
        seen.add(name)
    for root, extra in COMPOSITION_ROOTS.items():
        for d in extra:
            if d not in seen:
                problems.append(f"composition root {root}: unknown layer {d}")
    return problems


def layer_of_path(path):
    """The layer of a repository path (a source file or an included header), or None."""
    if path.startswith("foghorn/v1/"):
        return "proto/grpc" if path.endswith(".grpc.pb.h") else "proto"
    best = None
    for name in layer_names():
        if name.startswith("proto"):
            continue
        if path.startswith(name + "/") and (best is None or len(name) > len(best)):
            best = name
    return best


def is_project_include(header):
    if header.startswith("foghorn/v1/"):
        return True
    top = header.split("/", 1)[0]
    return "/" in header and top in SOURCE_DIRS


def source_files(root):
    for top in SOURCE_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for f in sorted(filenames):
                if f.endswith(SOURCE_EXTS):
                    full = os.path.join(dirpath, f)
                    yield os.path.relpath(full, root).replace(os.sep, "/")


def scan(root):
    """Returns (edges, violations): edges maps (from layer, to layer) to a count; each violation
    is (file, line, header, message)."""
    allowed = {name: set(deps) | {name} for name, deps in LAYERS}
    edges = collections.Counter()
    violations = []
    for rel in source_files(root):
        src_layer = layer_of_path(rel)
        if src_layer is None:
            violations.append((rel, 1, "", "file is in no layer: add its directory to LAYERS "
                               "in scripts/check_layering.py"))
            continue
        may = allowed[src_layer] | set(COMPOSITION_ROOTS.get(rel, []))
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                quote, header = m.groups()
                for prefix, layers in RESTRICTED_EXTERNAL:
                    if header.startswith(prefix) and src_layer not in layers:
                        violations.append((rel, lineno, header,
                                           f"{src_layer} may not include {header} "
                                           f"(only {', '.join(layers)})"))
                if quote != '"':
                    continue
                if any(header.startswith(p) for p in NEVER_INCLUDED):
                    violations.append((rel, lineno, header,
                                       f"sources never include {header.split('/')[0]}/"))
                    continue
                if "/" not in header:
                    continue  # a header beside the file: same layer
                if not is_project_include(header):
                    continue  # third party
                to_layer = layer_of_path(header)
                if to_layer is None:
                    violations.append((rel, lineno, header,
                                       f"{header} is in no layer: add its directory to LAYERS"))
                    continue
                if to_layer != src_layer:
                    edges[(src_layer, to_layer)] += 1
                if to_layer not in may:
                    violations.append((rel, lineno, header,
                                       f"{src_layer} may not include {to_layer}"))
    return edges, violations


def split_allowed(violations):
    """Splits violations into (new, allow-listed) and returns the allow-list entries that
    matched nothing."""
    keys = {(f, h): why for f, h, why in ALLOWED_VIOLATIONS}
    used = set()
    new, listed = [], []
    for v in violations:
        key = (v[0], v[2])
        if key in keys:
            listed.append(v)
            used.add(key)
        else:
            new.append(v)
    stale = [k for k in keys if k not in used]
    return new, listed, stale


def print_table():
    print("| Layer | May include |")
    print("|---|---|")
    for name, deps in LAYERS:
        print(f"| `{name}` | {', '.join(f'`{d}`' for d in deps) or '(nothing of foghorn)'} |")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), help="repository root (default: this checkout)")
    parser.add_argument("--report", action="store_true",
                        help="print every layer edge and every violation; always exit 0")
    parser.add_argument("--table", action="store_true", help="print the layer table as markdown")
    args = parser.parse_args(argv)

    if args.table:
        print_table()
        return 0
    problems = check_table()
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        return 2

    edges, violations = scan(args.root)
    new, listed, stale = split_allowed(violations)
    if args.report:
        order = {name: i for i, name in enumerate(layer_names())}
        print("edges (from -> to: includes):")
        for (a, b), n in sorted(edges.items(), key=lambda e: (order[e[0][0]], order[e[0][1]])):
            print(f"  {a} -> {b}: {n}")
        print(f"violations: {len(new)} new, {len(listed)} allow-listed")
        for f, line, _, msg in new:
            print(f"  {f}:{line}: {msg}")
        for f, line, _, msg in listed:
            print(f"  {f}:{line}: {msg} (allow-listed)")
        for f, h in stale:
            print(f"  stale allow-list entry: {f} -> {h}")
        return 0

    for f, line, _, msg in new:
        print(f"{f}:{line}: {msg}", file=sys.stderr)
    for f, h in stale:
        print(f"scripts/check_layering.py: allow-list entry {f} -> {h} matches no include any "
              f"more: remove it", file=sys.stderr)
    if new or stale:
        print(f"layering: {len(new)} violation(s), {len(stale)} stale allow-list entr(y/ies); "
              f"see docs/architecture.md", file=sys.stderr)
        return 1
    print(f"layering: {len(LAYERS)} layers clean ({len(listed)} allow-listed include(s) left "
          f"for the file moves)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
