"""A request through the command line: submit, verify by code, start, fulfil, show, audit, metrics, appeal."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from privet.cli import app
from tests.conftest import REPO

runner = CliRunner()


def run(ws: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "-w", str(ws)])
    return result.exit_code, result.output


def test_request_workflow_through_the_cli(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws), "--manifest", str(REPO / "examples" / "anker")]).exit_code == 0
    code, out = run(ws, "requests", "submit", "--kind", "access", "--email", "ann@example.com", "--jurisdiction", "eu", "--json")
    rid = json.loads(out)["request_id"]
    assert code == 0 and json.loads(out)["state"] == "receipt_confirmed"
    code, out = run(ws, "requests", "submit", "--kind", "access", "--email", "ANN@example.com", "--jurisdiction", "eu", "--json")
    assert json.loads(out) == json.loads(out) | {"request_id": rid, "duplicate": True}
    assert run(ws, "requests", "verify", rid, "--send-code")[0] == 0
    _, mail = run(ws, "outbox", "--request", rid, "--full")
    code_sent = re.search(r"^\s+(\d{6})\s*$", mail, re.M)
    assert code_sent is not None
    code, out = run(ws, "requests", "verify", rid, "--code", "000000" if code_sent.group(1) != "000000" else "111111")
    assert code == 1 and "wrong" in out
    assert run(ws, "requests", "verify", rid, "--code", code_sent.group(1))[0] == 0
    code, out = run(ws, "requests", "advance", rid, "start")
    assert code == 0 and "still in progress: " in out and "no connection for system" in out  # nothing configured
    code, out = run(ws, "fulfil", "plan", rid)
    assert code == 0 and "Read, starting from the request's email" in out
    assert run(ws, "requests", "advance", rid, "fulfil")[0] == 0
    code, out = run(ws, "requests", "show", rid, "--json")
    shown = json.loads(out)
    assert shown["request"]["state"] == "fulfilled"
    assert [e["action"] for e in shown["timeline"]][:3] == ["received", "confirm_receipt", "duplicate_submission"]
    code, out = run(ws, "audit", "verify")
    assert code == 0 and "entries verified" in out
    code, out = run(ws, "metrics", "--year", str(shown["request"]["received_at"][:4]), "--format", "json")
    assert code == 0 and '"access"' in out
    code, out = run(ws, "requests", "submit", "--kind", "deletion", "--email", "bob@example.com", "--jurisdiction", "us-va", "--json")
    bob = json.loads(out)["request_id"]
    assert run(ws, "requests", "deny", bob, "--reason", "could not verify")[0] == 0
    code, out = run(ws, "requests", "appeal", bob, "--text", "please look again")
    assert code == 0 and "appealed" in out
    code, out = run(ws, "requests", "advance", bob, "fulfil")
    assert code == 1 and "cannot fulfil" in out
    code, out = run(ws, "requests", "list", "--all")
    assert rid in out and bob in out
