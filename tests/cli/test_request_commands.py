"""A request through the command line: submit, verify by code, start, fulfil, show, audit, metrics, appeal."""

from __future__ import annotations

import datetime as dt
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


def workspace_of(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws), "--manifest", str(REPO / "examples" / "anker")]).exit_code == 0
    return ws


def submitted(ws: Path, *args: str) -> dict[str, object]:
    result = runner.invoke(app, ["requests", "submit", *args, "--json", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))  # stdout is the JSON alone; notes go to stderr


def test_an_appeal_is_decided_from_the_cli_and_a_reversal_is_acted_on(tmp_path: Path) -> None:
    ws = workspace_of(tmp_path)
    rid = str(submitted(ws, "--kind", "deletion", "--email", "cy@example.com", "--jurisdiction", "us-va")["request_id"])
    code, out = run(ws, "requests", "deny", rid, "--reason", "identity could not be verified")
    assert code == 0 and out.strip() == f"{rid}: denied"  # closed: no deadline to show
    assert run(ws, "requests", "appeal", rid, "--text", "here is my order number")[0] == 0
    code, out = run(ws, "requests", "advance", rid, "decide_appeal", "--reason", "verified on appeal")
    assert code == 1 and "'upheld' or 'reversed'" in out
    code, out = run(ws, "requests", "decide-appeal", rid, "--outcome", "reversed", "--reason", "verified on appeal")
    assert code == 1 and "must be verified before fulfilment starts; record the verification first" in out
    code, out = run(ws, "requests", "verify", rid, "--method", "matching")
    assert code == 0 and "verified by matching" in out
    code, out = run(ws, "requests", "decide-appeal", rid, "--outcome", "reversed", "--reason", "verified on appeal")
    assert code == 0 and f"{rid}: in_progress, due " in out and "still in progress" in out  # no systems connected
    assert run(ws, "requests", "advance", rid, "fulfil")[0] == 0
    shown = json.loads(run(ws, "requests", "show", rid, "--json")[1])
    request = shown["request"]
    assert (request["state"], request["appeal_outcome"], request["response_state"]) == ("fulfilled", "reversed",
                                                                                       "denied")  # fmt: skip
    assert [m["kind"] for m in shown["messages"]][-2:] == ["appeal_decision", "result"]
    assert [e["action"] for e in shown["timeline"]][-4:] == ["appeal", "verified", "decide_appeal", "fulfil"]
    assert run(ws, "audit", "verify")[0] == 0

    other = str(submitted(ws, "--kind", "access", "--email", "di@example.com", "--jurisdiction", "us-va")["request_id"])
    assert run(ws, "requests", "deny", other, "--reason", "manifestly unfounded")[0] == 0
    assert run(ws, "requests", "appeal", other, "--text", "it is not")[0] == 0
    code, out = run(ws, "requests", "advance", other, "decide_appeal", "--outcome", "upheld", "--reason", "same ask")
    assert code == 0 and out.strip() == f"{other}: appeal_decided"
    code, out = run(ws, "requests", "advance", other, "deny", "--outcome", "upheld", "--reason", "x")
    assert code == 2 and "--outcome is for decide_appeal only" in out


def test_an_authorised_agent_from_submission_to_review(tmp_path: Path) -> None:
    ws = workspace_of(tmp_path)
    code, out = run(ws, "requests", "submit", "--kind", "access", "--email", "eve@example.com", "--agent-evidence",
                    "signed_letter")  # fmt: skip
    assert code == 2 and "name it with --agent NAME" in out
    rid = str(submitted(ws, "--kind", "access", "--email", "eve@example.com", "--jurisdiction", "us-ca", "--agent",
                        "Dee Agent", "--agent-email", "dee@agency.example", "--agent-evidence", "signed_letter",
                        "--agent-document", "letter-7.pdf", "--agent-scope", "access",
                        "--agent-scope", "deletion")["request_id"])  # fmt: skip
    agent = json.loads(run(ws, "requests", "show", rid, "--json")[1])["request"]["agent"]
    assert (agent["evidence"], agent["document_ref"], agent["scope"]) == ("signed_letter", "letter-7.pdf",
                                                                          ["access", "deletion"])  # fmt: skip
    assert agent["email"] == "dee@agency.example" and not agent["reviewed"]

    checks = ("--names-person", "--names-agent", "--states-authorisation", "--signed")
    code, out = run(ws, "requests", "agent-review", rid, "--document", "signed_letter", *checks[:3])
    assert code == 1 and "agent rejected" in out and "not signed by the person" in out
    code, out = run(ws, "requests", "agent-review", rid, "--document", "signed_letter", *checks)
    assert code == 1 and "agent needs_person_confirmation" in out and "the person was asked to confirm" in out
    asked = [line for line in run(ws, "outbox", "--request", rid)[1].splitlines() if "agent_confirmation" in line]
    assert len(asked) == 1 and "to eve@example.com" in asked[0]  # the person, not the agent
    code, out = run(ws, "requests", "agent-review", rid, "--document", "signed_letter", *checks, "--person-confirmed")
    assert code == 0 and "agent approved (receipt_confirmed)" in out and "11 CCR 7063(a)" in out
    timeline = json.loads(run(ws, "requests", "show", rid, "--json")[1])["timeline"]
    assert [e["action"] for e in timeline].count("agent_reviewed") == 3


def test_an_agents_opt_out_starts_once_the_power_of_attorney_is_approved(tmp_path: Path) -> None:
    ws = workspace_of(tmp_path)
    rid = str(submitted(ws, "--kind", "opt_out_sale", "--email", "fay@example.com", "--jurisdiction", "us-ca",
                        "--agent", "Gus Agent", "--agent-evidence", "power_of_attorney")["request_id"])  # fmt: skip
    assert json.loads(run(ws, "requests", "show", rid, "--json")[1])["request"]["state"] == "receipt_confirmed"
    code, out = run(ws, "requests", "agent-review", rid, "--document", "power_of_attorney", "--names-person",
                    "--names-agent", "--states-authorisation", "--signed")  # fmt: skip
    assert code == 0 and f"{rid}: agent approved (fulfilled)" in out


def test_a_residence_typo_is_refused_and_a_country_code_is_understood(tmp_path: Path) -> None:
    ws = workspace_of(tmp_path)
    code, out = run(
        ws, "requests", "submit", "--kind", "access", "--email", "gil@example.com", "--jurisdiction", "mars"
    )
    assert code == 2 and "unknown residence 'mars'" in out and "us-ca" in out and "leave the residence out" in out
    assert "no requests" in run(ws, "requests", "list", "--all")[1]  # nothing taken in, nobody emailed
    assert run(ws, "outbox")[1].strip() == ""
    r = submitted(ws, "--kind", "access", "--email", "gil@example.com", "--jurisdiction", "DE")
    assert json.loads(run(ws, "requests", "show", str(r["request_id"]), "--json")[1])["request"]["jurisdiction"] == "eu"


def test_submit_json_is_clean_and_shows_the_state_after_fulfilment(tmp_path: Path) -> None:
    ws = workspace_of(tmp_path)
    result = runner.invoke(app, ["requests", "submit", "--kind", "opt_out_sale", "--email", "hal@example.com",
                                 "--jurisdiction", "us-ca", "--json", "-w", str(ws)])  # fmt: skip
    assert result.exit_code == 0
    answer = json.loads(result.stdout)
    assert answer["state"] == "fulfilled" and f"{answer['request_id']}: fulfilled" in result.stderr


def test_verification_by_data_points_without_systems_says_what_to_do(tmp_path: Path) -> None:
    ws = workspace_of(tmp_path)
    rid = str(submitted(ws, "--kind", "access", "--email", "ida@example.com", "--jurisdiction", "us-ca")["request_id"])
    result = runner.invoke(app, ["requests", "verify", rid, "--point", "name=Ida", "-w", str(ws)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert "Connect the systems in privet.toml" in result.output and "Traceback" not in result.output


def test_metrics_list_request_types_only(tmp_path: Path) -> None:
    ws = workspace_of(tmp_path)
    submitted(ws, "--kind", "access", "--email", "jo@example.com", "--jurisdiction", "eu")
    year = str(dt.datetime.now(dt.UTC).year)
    code, out = run(ws, "metrics", "--year", year, "--format", "json")
    kinds = {row["request_type"] for row in json.loads(out)["rows"]}
    assert code == 0 and "access" in kinds and "deletion" in kinds
    assert not kinds & {"appeal", "complain"}


def test_outbox_send_needs_smtp_settings(tmp_path: Path) -> None:
    ws = workspace_of(tmp_path)
    code, out = run(ws, "outbox", "--send")
    assert code == 2 and "no SMTP server configured" in out and "privet outbox --full" in out


def test_requests_imported_from_an_email_and_a_form(tmp_path: Path) -> None:
    ws = workspace_of(tmp_path)
    files = REPO / "tests" / "fixtures" / "imports"
    code, out = run(ws, "requests", "import", str(files / "ambiguous.eml"))
    assert code == 2 and "several rights (deletion, access); say which with --kind" in out
    mail = json.loads(runner.invoke(app, ["requests", "import", str(files / "deletion.eml"), "--jurisdiction", "DE",
                                          "--json", "-w", str(ws)]).stdout)  # fmt: skip
    shown = json.loads(run(ws, "requests", "show", mail["request_id"], "--json")[1])["request"]
    assert (shown["kind"], shown["channel"], shown["jurisdiction"]) == ("deletion", "email", "eu")
    assert shown["requester"]["email"] == "jana.novak@example.org" and mail["state"] == "receipt_confirmed"
    code, out = run(ws, "requests", "import", str(files / "form.json"))
    assert code == 0 and "receipt_confirmed" in out and "agent's authority awaits review" in out
    code, out = run(ws, "requests", "import", str(files / "no_sender.eml"))
    assert code == 2 and "no sender address" in out
    (tmp_path / "notes.txt").write_text("delete me")
    assert run(ws, "requests", "import", str(tmp_path / "notes.txt"))[0] == 2
