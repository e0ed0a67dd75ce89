"""Consent, decisions, GPP and bulk enforcement through the command line, on a workspace of the reference."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from privet.cli import app
from tests.conftest import REPO

runner = CliRunner()


def run(ws: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "-w", str(ws)] if args[0] not in ("gpp",) or args[1] != "decode" else list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ws") / "ws"
    result = runner.invoke(app, ["init", str(root), "--manifest", str(REPO / "examples" / "anker")])
    assert result.exit_code == 0, result.output
    return root


def test_record_show_history_and_decide(ws: Path) -> None:
    at = "2026-01-05T10:00:00+00:00"
    code, out = run(ws, "consent", "record", "--key", "share_app_analytics", "--grant", "-i", "email:Ann@Example.com",
                    "--jurisdiction", "eu", "--event-id", "ev-1", "--at", at, "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["appended"] == 1
    # The calling system retries: the same event id and time is the same event, not a second one.
    code, out = run(ws, "consent", "record", "--key", "share_app_analytics", "--grant", "-i", "email:ann@example.com",
                    "--event-id", "ev-1", "--at", at, "--json")  # fmt: skip
    assert (json.loads(out)["appended"], json.loads(out)["duplicates"]) == (0, 1)
    code, out = run(ws, "consent", "record", "--key", "share_app_analytics", "--withdraw", "-i", "email:ann@example.com",
                    "--event-id", "ev-1", "--at", at)  # fmt: skip
    assert code == 2 and "already recorded with other facts" in out
    code, out = run(ws, "consent", "show", "-i", "email:ann@example.com", "--json")
    assert json.loads(out)["choices"][0]["key"] == "share_app_analytics"
    code, out = run(ws, "decide", "-i", "email:ann@example.com", "--purpose", "analytics.usage",
                    "--category", "user.device.ip_address", "--json")  # fmt: skip
    decision = json.loads(out)
    assert code == 0 and decision["outcome"] == "deny" and decision["consent_key"] == "share_device_analytics"
    code, out = run(ws, "decide", "-i", "email:ann@example.com", "--purpose", "analytics.usage",
                    "--category", "user.behavior.usage", "--json")  # fmt: skip
    assert json.loads(out)["outcome"] == "allow" and json.loads(out)["evidence_event"] == "ev-1"
    code, out = run(ws, "consent", "history", "-i", "email:ann@example.com", "--json")
    assert len(json.loads(out)) == 1
    assert run(ws, "consent", "verify")[0] == 0


def test_errors_name_the_fix(ws: Path) -> None:
    code, out = run(ws, "consent", "record", "--key", "share_app_analytic", "--grant", "-i", "email:x@example.com")
    assert code == 2 and "did you mean share_app_analytics" in out
    code, out = run(ws, "decide", "-i", "email:ann@example.com", "--purpose", "analytics.usag", "--category", "user")
    assert code == 2 and "did you mean analytics.usage" in out
    code, out = run(ws, "consent", "show", "-i", "email:nobody@example.com")
    assert code == 2 and "privet knows nobody" in out
    code, out = run(ws, "consent", "record", "--key", "opt_out.sale", "--grant", "-i", "email:x@example.com", "--at", "yesterday")
    assert code == 2 and "ISO 8601" in out


def test_gpp_encode_and_decode(ws: Path) -> None:
    run(ws, "consent", "record", "--key", "opt_out.sale", "--grant", "-i", "email:gpc@example.com", "--source", "gpc")
    code, text = run(ws, "gpp", "encode", "-i", "email:gpc@example.com")
    assert code == 0 and text.startswith("DBAB")
    result = runner.invoke(app, ["gpp", "decode", text.strip(), "--json"])
    usnat = json.loads(result.output)["sections"][0]
    assert usnat["sale_opt_out"] == "OPTED_OUT" and usnat["gpc"] is True
    result = runner.invoke(app, ["gpp", "decode", "DBABL~!!!"])
    assert result.exit_code == 2 and "not a valid GPP string" in result.output


def test_enforce_a_parquet_file(ws: Path, tmp_path: Path) -> None:
    run(ws, "consent", "record", "--key", "share_app_analytics", "--grant", "-i", "user_id:1", "--jurisdiction", "eu")
    run(ws, "consent", "record", "--key", "share_app_analytics", "--withdraw", "-i", "user_id:2", "--jurisdiction", "eu")
    src = tmp_path / "events.parquet"
    pq.write_table(pa.table({"user_id": [1, 2, 3, 1], "page": ["a", "b", "c", "d"], "ip": ["x", "y", "z", "w"]}), src)
    code, out = run(ws, "enforce", str(src), "-o", str(tmp_path / "out.parquet"), "--purpose", "analytics.usage",
                    "--subject-column", "user_id", "--map", "ip=user.behavior.usage", "--passthrough", "page", "--json")  # fmt: skip
    assert code == 0, out
    summary = json.loads(out)
    assert (summary["rows_in"], summary["rows_out"]) == (4, 2)
    assert pq.read_table(tmp_path / "out.parquet").column("user_id").to_pylist() == [1, 1]
    code, out = run(ws, "enforce", str(src), "-o", str(tmp_path / "o2.parquet"), "--purpose", "analytics.usage",
                    "--subject-column", "uid")  # fmt: skip
    assert code == 2 and "no column 'uid'" in out
