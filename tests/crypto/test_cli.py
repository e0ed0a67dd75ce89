"""privet crypto: seal and open values, shred with --yes, rotate KEKs with rewrap, and status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from privet.commands.crypto import crypto_app
from tests.workspace.test_crypto_fulfil import KEK_HEX, KEK_VAR, company

app = typer.Typer()
app.add_typer(crypto_app, name="crypto")
runner = CliRunner()
PHONE = ["--field", "crm.customers.phone"]
NEW_VAR, NEW_HEX = "PRIVET_TEST_CRYPTO_KEK_2", "6b" * 32


def run(ws: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["crypto", *args, "--workspace", str(ws)])
    return result.exit_code, result.output


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(KEK_VAR, KEK_HEX)
    monkeypatch.setenv(NEW_VAR, NEW_HEX)
    return company(tmp_path)[0]


def sealed(ws: Path, value: str, subject: str = "subj-ann", *extra: str) -> str:
    code, out = run(ws, "encrypt", value, "--subject", subject, *PHONE, *extra)
    assert code == 0, out
    return out.strip()


def test_encrypt_then_decrypt(ws: Path) -> None:
    value = sealed(ws, "+44 1111")
    assert value.startswith("privet:enc:")
    assert run(ws, "decrypt", value, "--subject", "subj-ann", *PHONE) == (0, "+44 1111\n")
    number = sealed(ws, '{"cc": 44, "n": "1111"}', "subj-ann", "--json-value")
    assert run(ws, "decrypt", number, "--subject", "subj-ann", *PHONE) == (0, '{"cc": 44, "n": "1111"}\n')


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["encrypt", "x", "--subject", "s", "--field", "crm.customers.email"],
         "--field 'crm.customers.email' is not a field the manifest marks encrypted (marked: crm.customers.phone,"),
        (["encrypt", "{", "--subject", "s", *PHONE, "--json-value"], "--json-value: VALUE is not JSON"),
        (["decrypt", "+44 1111", "--subject", "s", *PHONE], "does not start with 'privet:enc:'"),
        (["decrypt", "privet:enc:" + "A" * 60, "--subject", "nobody", *PHONE], "no data key is stored for subject 'nobody'"),
        (["shred", "subj-ann"], "run again with --yes"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_the_fix(ws: Path, args: list[str], message: str) -> None:
    code, out = run(ws, *args)
    assert code == 2 and message in out.replace("\n", " "), out


def test_decrypt_under_another_persons_key_fails(ws: Path) -> None:
    value = sealed(ws, "+44 1111", "subj-ann")
    sealed(ws, "+44 2222", "subj-bob")
    code, out = run(ws, "decrypt", value, "--subject", "subj-bob", *PHONE)
    assert code == 2 and "belongs to another subject" in out


def test_shred_is_confirmed_audited_idempotent_and_final(ws: Path) -> None:
    value = sealed(ws, "+44 1111")
    code, out = run(ws, "shred", "subj-ann", "--yes", "--actor", "staff:ida", "--json")
    receipt = json.loads(out)
    assert code == 0 and receipt["already"] is False and len(receipt["receipt_sha256"]) == 64
    code, out = run(ws, "shred", "subj-ann", "--yes")
    assert code == 0 and "was shredded earlier, at" in out
    code, out = run(ws, "decrypt", value, "--subject", "subj-ann", *PHONE)
    assert code == 1 and "cannot decrypt for subject 'subj-ann': their data key was shredded at" in out.replace(
        "\n", " "
    )
    code, out = run(ws, "encrypt", "new", "--subject", "subj-ann", *PHONE)
    assert code == 2 and "cannot encrypt for subject 'subj-ann'" in out

    from privet.workspace.runtime import open_runtime

    rt = open_runtime(ws)
    try:
        entries = list(rt.audit.entries("subject:subj-ann"))
        assert [(e.action, e.actor, e.payload["receipt_sha256"]) for e in entries] == [
            ("data_key_shredded", "staff:ida", receipt["receipt_sha256"])
        ]
    finally:
        rt.close()


def rotate(ws: Path, keks: str) -> None:
    toml = ws / "privet.toml"
    text = toml.read_text()
    start = text.find("\n[crypto]\n")  # the section, not the commented example
    toml.write_text((text if start < 0 else text[:start]) + "\n" + keks)


def test_rotation_rewraps_in_batches_and_keeps_every_value_readable(ws: Path) -> None:
    values = {s: sealed(ws, f"phone of {s}", s) for s in ("s1", "s2", "s3")}
    run(ws, "shred", "s3", "--yes")
    rotate(ws, f'[crypto]\nactive_kek = "kek-2"\n[crypto.keks]\nkek-2 = "env:{NEW_VAR}"\nkek-1 = "env:{KEK_VAR}"\n')
    code, out = run(ws, "status", "--json")
    assert json.loads(out)["live_keys"] == {"kek-1": 2} and json.loads(out)["shredded"] == 1
    code, out = run(ws, "rewrap", "--batch", "1")
    assert code == 0, out
    assert "kek-1 -> kek-2: 2 rewrapped, 0 changed meanwhile" in out and "older KEKs can be removed" in out
    rotate(ws, f'[crypto]\nactive_kek = "kek-2"\n[crypto.keks]\nkek-2 = "env:{NEW_VAR}"\n')  # kek-1 retired
    for s in ("s1", "s2"):
        assert run(ws, "decrypt", values[s], "--subject", s, *PHONE) == (0, f"phone of {s}\n")
    code, out = run(ws, "status")
    assert "active KEK: kek-2" in out and "kek-2: 2 live data keys" in out and "shredded subjects: 1" in out


def test_status_warns_of_keys_under_a_kek_that_is_not_configured(ws: Path) -> None:
    sealed(ws, "+44 1111")
    rotate(ws, f'[crypto]\nactive_kek = "kek-2"\n[crypto.keks]\nkek-2 = "env:{NEW_VAR}"\n')
    code, out = run(ws, "status")
    assert code == 0 and "kek-1: 1 live data keys, but this KEK is not configured" in out.replace("\n", " ")
    code, out = run(ws, "rewrap")
    assert "no older KEK is configured" in out and "keys still under other KEKs (kek-1: 1)" in out.replace("\n", " ")


def test_without_crypto_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = company(tmp_path, crypto=False)[0]
    code, out = run(ws, "encrypt", "x", "--subject", "s", *PHONE)
    assert code == 2 and "privet.toml has no [crypto] KEKs" in out
    code, out = run(ws, "status")
    assert code == 0 and "active KEK: none ([crypto] is not configured)" in out
    rotate(ws, f'[crypto]\nactive_kek = "kek-1"\n[crypto.keks]\nkek-1 = "env:{KEK_VAR}"\n')
    monkeypatch.delenv(KEK_VAR, raising=False)
    code, out = run(ws, "status")
    assert code == 2 and f"the environment variable {KEK_VAR} is not set" in out.replace("\n", " ")
