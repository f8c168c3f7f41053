#!/usr/bin/env python3
"""Writes the seed corpus of api_request_fuzz (tests/fuzz/corpus/api_request_fuzz/).

Each seed is one selector byte (the request type, in the order of the Requests tuple in
api_request_fuzz.cc; 0x80 set = stretch every string to 1 MiB + 1 byte) followed by a protobuf
wire-format or proto3 JSON encoding of that request. The wire encoding is done here by hand (no
protobuf package needed); field numbers are those of proto/foghorn/v1/control.proto.

    python3 tests/fuzz/make_api_request_seeds.py      # rewrites the corpus directory
"""
import json
import os
import pathlib
import shutil

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "corpus" / "api_request_fuzz"
ALIAS_BOMB = HERE / "corpus" / "runbook_loader_fuzz" / "alias-bomb.yaml"
EXAMPLE_RUNBOOK = HERE.parent.parent / "runbooks" / "examples" / "automatic.yaml"

# Selector bytes: the order of the Requests tuple in api_request_fuzz.cc.
KINDS = [
    "ListGroups", "GetGroup", "ListOperations", "GetOperation", "ListDecisions",
    "RequestFailover", "CancelOperation", "ApproveDecision", "RejectDecision", "PauseAutomation",
    "ResumeAutomation", "Watch", "ValidateRunbook", "StartDrill", "CheckReadiness",
    "ListDrillReports", "GetDrillReport",
]
STRETCH = 0x80


def varint(n):
    if n < 0:
        n += 1 << 64  # int32/int64/enum negatives take ten bytes on the wire
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(field, wire_type):
    return varint(field << 3 | wire_type)


def v(field, n):
    """A varint field (int32, int64, bool, enum)."""
    return tag(field, 0) + varint(n)


def s(field, data):
    """A length-delimited field (string, bytes, embedded message)."""
    if isinstance(data, str):
        data = data.encode()
    return tag(field, 2) + varint(len(data)) + data


def duration(seconds, nanos=0):
    return v(1, seconds) + (v(2, nanos) if nanos else b"")


def packed(field, values):
    return s(field, b"".join(varint(x) for x in values))


def seed(kind, body, stretch=False):
    selector = KINDS.index(kind) | (STRETCH if stretch else 0)
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    return bytes([selector]) + body


GROUP = "sub/rg/fog"
OP = "0a4c5b0e-6f1d-4b7a-9c3e-2d8f1a6b7c90"
REQ_ID = "2f1c7e9a-6a53-4d8e-9a3b-0b6e0f7b1c2d"


def seeds():
    alias_bomb = ALIAS_BOMB.read_text()
    example = EXAMPLE_RUNBOOK.read_text()
    out = {}
    # One ordinary request of each kind (wire format).
    out["ok-list-groups"] = seed("ListGroups", v(1, 2) + s(2, "sub/rg/fog-1"))
    out["ok-get-group"] = seed("GetGroup", s(1, GROUP))
    out["ok-list-operations"] = seed("ListOperations", s(1, GROUP) + v(2, 50) + v(3, 1))
    out["ok-get-operation"] = seed("GetOperation", s(1, OP))
    out["ok-list-decisions"] = seed("ListDecisions", s(1, "fog") + v(2, 1000))
    out["ok-request-failover"] = seed(
        "RequestFailover", s(1, GROUP) + v(2, 1) + s(3, "primary region down") + s(4, REQ_ID))
    out["ok-request-failover-override"] = seed(
        "RequestFailover", s(1, GROUP) + v(2, 2) + s(3, "forced") + v(5, 1) + v(6, 1) +
        s(7, "cooldown judged safe by the on-call\nticket INC-1"))
    out["ok-cancel-operation"] = seed("CancelOperation", s(1, OP) + s(2, "wrong group"))
    out["ok-approve-decision"] = seed("ApproveDecision", s(1, "fog") + s(2, "confirmed") + v(3, 1))
    out["ok-reject-decision"] = seed("RejectDecision", s(1, "fog") + s(2, "false alarm"))
    out["ok-pause-automation"] = seed(
        "PauseAutomation", s(1, GROUP) + s(2, "maintenance") + s(3, duration(3600)))
    out["ok-pause-global"] = seed("PauseAutomation", s(2, "freeze"))
    out["ok-resume-automation"] = seed("ResumeAutomation", s(1, GROUP))
    out["ok-watch"] = seed(
        "Watch", s(1, GROUP) + s(1, "fog-1") + packed(2, [2, 3, 4, 5]) + s(3, OP))
    out["ok-validate-runbook"] = seed(
        "ValidateRunbook", s(1, "runbooks/automatic.yaml") + s(2, example))
    out["ok-start-drill"] = seed(
        "StartDrill", s(1, "fog") + s(2, "quarterly drill") + s(3, REQ_ID) + s(5, duration(1800)))
    out["ok-start-drill-dry-run"] = seed("StartDrill", s(1, "fog") + v(4, 1))
    out["ok-check-readiness"] = seed("CheckReadiness", s(1, GROUP))
    out["ok-list-drill-reports"] = seed("ListDrillReports", s(1, GROUP) + v(2, 10))
    out["ok-get-drill-report"] = seed("GetDrillReport", s(1, "drill-fog-20250101T000000Z") + v(2, 1))
    out["empty-list-groups"] = seed("ListGroups", b"")

    # The same in proto3 JSON.
    out["json-request-failover"] = seed("RequestFailover", {
        "groupId": GROUP, "kind": "FAILOVER_KIND_PLANNED", "reason": "primary region down",
        "requestId": REQ_ID, "dryRun": True})
    out["json-watch"] = seed("Watch", {
        "groupIds": [GROUP], "kinds": ["EVENT_KIND_DECISION", 5], "operationId": OP})
    out["json-pause-automation"] = seed(
        "PauseAutomation", {"groupId": "fog", "reason": "maintenance", "duration": "3600.5s"})
    out["json-start-drill"] = seed(
        "StartDrill", {"groupId": "fog", "reason": "drill", "hold": "-30s"})
    out["json-validate-runbook-alias-bomb"] = seed(
        "ValidateRunbook", {"fileName": "alias-bomb.yaml", "text": alias_bomb})
    out["json-list-groups-bad-page-size"] = seed("ListGroups", {"pageSize": 4294967296})

    # Runbooks the loader must survive: the YAML alias bomb.
    out["validate-runbook-alias-bomb"] = seed(
        "ValidateRunbook", s(1, "alias-bomb.yaml") + s(2, alias_bomb))

    # 16,384 nested flow sequences: yaml-cpp's depth guard, reached through the API.
    out["validate-runbook-deep-nesting"] = seed(
        "ValidateRunbook", s(2, "[" * 16384 + "]" * 16384))

    # Oversized fields. A 64 KiB reason is stored; the stretched seeds reach 1 MiB + 1 at run time.
    out["big-reason-64k"] = seed(
        "RequestFailover", s(1, GROUP) + v(2, 1) + s(3, "r" * 65536) + s(4, REQ_ID))
    out["big-reason-1mib-stretched"] = seed(
        "RequestFailover", s(1, GROUP) + v(2, 1) + s(3, "r"), stretch=True)
    out["big-runbook-text-stretched"] = seed("ValidateRunbook", s(2, "a: b\n"), stretch=True)
    out["big-watch-stretched"] = seed("Watch", s(1, "fog") + s(3, "op"), stretch=True)
    out["big-group-id-513"] = seed("GetGroup", s(1, "g" * 513))
    out["big-operation-id-129"] = seed("GetOperation", s(1, "o" * 129))
    out["big-file-name-257"] = seed("ValidateRunbook", s(1, "f" * 257) + s(2, "group: {}\n"))
    out["big-watch-65-group-ids"] = seed("Watch", b"".join(s(1, f"fog-{i}") for i in range(65)))
    out["big-watch-33-kinds"] = seed("Watch", packed(2, [2] * 33))
    out["big-page-size"] = seed("ListOperations", v(2, 1001))
    out["negative-page-size"] = seed("ListDrillReports", v(2, -2147483648))

    # Control bytes in ids and text.
    out["nul-in-group-id"] = seed("GetGroup", s(1, "sub/rg/f\x00g"))
    out["escape-in-reason"] = seed("ApproveDecision", s(1, "fog") + s(2, "ok\x1b]0;pwned\x07"))
    out["drill-id-traversal"] = seed("GetDrillReport", s(1, "../../etc/passwd"))
    out["invalid-utf8-group-id"] = seed("GetGroup", s(1, b"fo\xffg"))

    # Invalid enums and durations.
    out["invalid-failover-kind"] = seed("RequestFailover", s(1, GROUP) + v(2, 99) + s(3, "r"))
    out["negative-failover-kind"] = seed("RequestFailover", s(1, GROUP) + v(2, -1) + s(3, "r"))
    out["invalid-event-kind"] = seed("Watch", v(2, 99))
    out["unspecified-event-kind"] = seed("Watch", packed(2, [0]))
    out["negative-pause"] = seed("PauseAutomation", s(2, "r") + s(3, duration(-1)))
    out["year-and-a-second-pause"] = seed(
        "PauseAutomation", s(2, "r") + s(3, duration(365 * 86400 + 1)))
    out["mixed-sign-pause"] = seed("PauseAutomation", s(2, "r") + s(3, duration(5, -1)))
    out["huge-drill-hold"] = seed("StartDrill", s(1, "fog") + s(2, "r") + s(5, duration(1 << 62)))

    # Unknown fields, deeply nested: groups the parser must skip recursively (past its depth
    # limit), length-delimited ones it keeps as bytes, and JSON nesting.
    depth = 3000
    out["nested-unknown-groups"] = seed(
        "GetGroup", s(1, "fog") + tag(99, 3) * depth + tag(99, 4) * depth)
    nested = b""
    for _ in range(200):
        nested = s(99, nested)
    out["nested-unknown-messages"] = seed("CancelOperation", s(1, OP) + s(2, "r") + nested)
    out["json-nested-unknown"] = seed(
        "GetGroup", '{"groupId": "fog", "unknown": ' + "[" * depth + "]" * depth + "}")
    out["json-nested-duration"] = seed(
        "PauseAutomation", '{"reason": "r", "duration": ' + '{"a":' * depth + "1" + "}" * depth + "}")
    out["truncated-varint"] = seed("ListGroups", b"\x08\xff\xff")
    return out


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    total = 0
    for name, data in sorted(seeds().items()):
        (OUT / name).write_bytes(data)
        total += len(data)
    print(f"wrote {len(os.listdir(OUT))} seeds, {total} bytes, to {OUT}")


if __name__ == "__main__":
    main()
