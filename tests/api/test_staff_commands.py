"""privet users / privet keys / privet serve from the command line, and the keys they make working in the API."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from privet.commands.serve import serve
from privet.commands.staff import keys_app, users_app
from privet.workspace.runtime import init_workspace, open_runtime
from tests.api.conftest import ANKER, PASSWORD, serving

cli = typer.Typer()
cli.add_typer(users_app, name="users")
cli.add_typer(keys_app, name="keys")
cli.command("serve")(serve)
runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(cli, list(args), env={"PRIVET_NEW_PASSWORD": PASSWORD})
    assert result.exit_code == code, result.output
    return result.output


def test_users_and_keys_from_the_command_line(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    init_workspace(ws, ANKER)
    w = ("--workspace", str(ws))
    assert "added ida@example.com (privacy_officer)" in run("users", "add", "Ida@Example.com", "--role",
                                                            "privacy_officer", *w)  # fmt: skip
    assert "exists already" in run("users", "add", "ida@example.com", "--role", "admin", *w, code=2)
    assert "unknown role" in run("users", "add", "max@example.com", "--role", "boss", *w, code=2)
    assert "is now analyst" in run("users", "set-role", "ida@example.com", "analyst", *w)
    listed = json.loads(run("users", "list", "--json", *w))
    assert [(u["email"], u["role"], u["disabled"]) for u in listed] == [("ida@example.com", "analyst", False)]

    made = json.loads(run("keys", "create", "crm-sync", "--role", "system", "--scope", "decide", "--json", *w))
    assert made["token"].startswith("pvk_") and made["scopes"] == ["decide"]
    assert "does not have the scope" in run("keys", "create", "x", "--role", "analyst", "--scope", "staff:admin",
                                            *w, code=2)  # fmt: skip
    with serving(open_runtime(ws)) as api:
        headers = {"Authorization": f"Bearer {made['token']}"}
        body = {"purpose": "marketing.communications.sms", "category": "user.contact.phone_number"}
        assert api.client.post("/api/v1/decisions", json=body, headers=headers).status_code == 200
        signed_in = api.client.post("/api/v1/session", json={"email": "ida@example.com", "password": PASSWORD})
        assert signed_in.json()["role"] == "analyst"
    assert "last used 20" in run("keys", "list", *w)
    assert "is revoked" in run("keys", "revoke", made["key_id"], *w)
    assert "is disabled" in run("users", "disable", "ida@example.com", *w)
    with serving(open_runtime(ws)) as api:
        assert api.client.post("/api/v1/decisions", json=body, headers=headers).status_code == 401
        refused = api.client.post("/api/v1/session", json={"email": "ida@example.com", "password": PASSWORD})
        assert refused.status_code == 401


def test_serve_refuses_a_folder_that_is_not_a_workspace(tmp_path: Path) -> None:
    assert "privet init" in run("serve", "--workspace", str(tmp_path), code=2)
