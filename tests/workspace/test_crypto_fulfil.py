"""Crypto-shredding in fulfilment: access decrypts marked fields; erasure shreds the person's key and audits it."""

from __future__ import annotations

import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from privet.consent.identifiers import Identifier, IdentifierKind
from privet.consent.ports import Subject
from privet.crypto import (
    ERASED,
    SEALED_PREFIX,
    KekRing,
    LocalKek,
    ShredReceipt,
    WrappedKey,
    field_aad,
    open_subject,
    seal,
    unseal,
)
from privet.law.vocabulary import Right
from privet.requests.model import State
from privet.workspace.fulfil import FulfilmentIncomplete, fulfil_request
from privet.workspace.runtime import Runtime, open_runtime
from tests.workspace.test_fulfil import started, workspace_for

KEK_HEX = "5a" * 32
KEK_VAR = "PRIVET_TEST_CRYPTO_KEK"
PHONE = field_aad("crm.customers", "phone")
BILLING = field_aad("crm.invoices", "billing_name")

DATASETS = {
    "datasets": {
        "crm": {
            "system": "crm",
            "collections": {
                "customers": {
                    "fields": {
                        "id": {"primary_key": True, "data_type": "integer"},
                        "email": {"categories": ["user.contact.email"], "identity": "email", "data_type": "string"},
                        "phone": {"categories": ["user.contact.phone_number"], "data_type": "string", "encrypted": True},
                    }
                },
                "invoices": {
                    "fields": {
                        "id": {"primary_key": True, "data_type": "integer"},
                        "customer_id": {"data_type": "integer",
                                        "references": [{"to": "crm.customers.id", "direction": "from"}]},
                        "billing_name": {"categories": ["user.payment.invoice"], "data_type": "string",
                                         "encrypted": True},
                    }
                },
            },
        },
    },
    "systems": {"crm": {"kind": "service"}},
}  # fmt: skip
BOOKKEEPING = {
    "bookkeeping": {
        "purposes": ["legal.regulatory_compliance"], "categories": ["user.payment.invoice"],
        "subjects": ["customer"], "systems": ["crm"], "retention": "relationship",
        "bases": [{"basis": "legal_obligation"}],
    }
}  # fmt: skip


def company(tmp_path: Path, *, crypto: bool = True, invoices_kept: bool = False) -> tuple[Path, Path]:
    crm = tmp_path / "crm.db"
    with sqlite3.connect(crm) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, phone TEXT)")
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER, billing_name TEXT, "
                   "privet_restricted BOOLEAN DEFAULT 0)")  # fmt: skip
        db.executemany(
            "INSERT INTO customers VALUES (?, ?, ?)", [(1, "ann@example.test", None), (2, "bob@example.test", None)]
        )
    settings = f'[systems.crm]\nkind = "sql"\nurl = "sqlite:///{crm}"\n'
    if crypto:
        settings += f'\n[crypto]\nactive_kek = "kek-1"\n[crypto.keks]\nkek-1 = "env:{KEK_VAR}"\n'
    ws = workspace_for(tmp_path, dict(DATASETS, activities=BOOKKEEPING) if invoices_kept else DATASETS, settings)
    return ws, crm


def sealed_for(rt: Runtime, subject: str, email: str, values: dict[str, str]) -> dict[str, str]:
    """Make the person known to privet (their email linked to a subject) and seal their values under their key."""
    rt.subjects.create(Subject(subject, rt.now()))
    rt.subjects.link(subject, Identifier(IdentifierKind.EMAIL, email), rt.now())
    assert rt.keks is not None
    key = open_subject(rt.data_keys, rt.keks, subject, create=True)
    aads = {"phone": PHONE, "billing_name": BILLING}
    return {name: seal(key, value, aads[name]) for name, value in values.items()}


@pytest.fixture
def kek(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEK_VAR, KEK_HEX)


@pytest.fixture
def crm_company(tmp_path: Path, kek: None) -> Iterator[tuple[Runtime, Path, dict[str, str]]]:
    ws, crm = company(tmp_path)
    rt = open_runtime(ws)
    ann = sealed_for(rt, "subj-ann", "ann@example.test", {"phone": "+44 1111", "billing_name": "Ann A."})
    bob = sealed_for(rt, "subj-bob", "bob@example.test", {"phone": "+44 2222"})
    with sqlite3.connect(crm) as db:
        db.execute("UPDATE customers SET phone = ? WHERE id = 1", (ann["phone"],))
        db.execute("UPDATE customers SET phone = ? WHERE id = 2", (bob["phone"],))
    try:
        yield rt, crm, ann
    finally:
        rt.close()


def package_text(rt: Runtime, rid: str) -> str:
    with zipfile.ZipFile(rt.settings.root / "packages" / f"{rid}.zip") as z:
        return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())


def test_access_decrypts_the_marked_fields(crm_company: tuple[Runtime, Path, dict[str, str]]) -> None:
    rt, _, _ = crm_company
    rid = started(rt, Right.ACCESS)
    assert fulfil_request(rt, rid).state is State.FULFILLED
    text = package_text(rt, rid)
    assert "+44 1111" in text
    assert SEALED_PREFIX not in text and "+44 2222" not in text


def test_erasure_shreds_the_key_audits_it_and_says_so(crm_company: tuple[Runtime, Path, dict[str, str]]) -> None:
    rt, crm, ann = crm_company
    ann_key = rt.data_keys.get("subj-ann")
    assert isinstance(ann_key, WrappedKey)
    rid = started(rt, Right.DELETION)
    assert fulfil_request(rt, rid).state is State.FULFILLED
    receipt = rt.data_keys.get("subj-ann")
    assert isinstance(receipt, ShredReceipt) and receipt.key_id == ann_key.key_id
    assert isinstance(rt.data_keys.get("subj-bob"), WrappedKey)  # nobody else's key is touched
    entries = list(rt.audit.entries(f"request:{rid}"))
    shredded = [e for e in entries if e.action == "data_key_shredded"]
    assert len(shredded) == 1
    assert shredded[0].payload == {
        "key_id": ann_key.key_id, "kek_id": "kek-1", "shredded_at": receipt.shredded_at.isoformat(),
        "receipt_sha256": receipt.digest, "collections": ["crm.customers", "crm.invoices"],
    }  # fmt: skip
    assert rt.data_keys.receipt_digest("subj-ann") == receipt.digest
    assert ann_key.wrapped.hex() not in str([e.payload for e in entries])  # no key material in the log
    told = " ".join(m.body for m in rt.outbox.for_request(rid)).replace("\n", " ")
    assert "the key to the encrypted data was destroyed, so every copy of it, backups included, is unreadable" in told
    # a backup taken before the erasure is restored: the phone is back, as ciphertext nobody can read
    with sqlite3.connect(crm) as db:
        db.execute("INSERT OR REPLACE INTO customers VALUES (1, 'ann@example.test', ?)", (ann["phone"],))
    again = started(rt, Right.ACCESS)
    assert fulfil_request(rt, again).state is State.FULFILLED
    text = package_text(rt, again)
    assert ERASED in text and "+44 1111" not in text and SEALED_PREFIX not in text


def test_running_the_shred_again_writes_no_second_entry(crm_company: tuple[Runtime, Path, dict[str, str]]) -> None:
    from privet.workspace.erasure import shred_subject

    rt, _, _ = crm_company
    first = shred_subject(rt, "subj-ann", rt.now(), "staff:ida", "subject:subj-ann", {})
    second = shred_subject(rt, "subj-ann", rt.now(), "staff:ida", "subject:subj-ann", {})
    assert (first.already, second.already, second.receipt) == (False, True, first.receipt)
    assert [e.action for e in rt.audit.entries("subject:subj-ann")] == ["data_key_shredded"]


def test_a_key_is_kept_while_encrypted_records_are(tmp_path: Path, kek: None) -> None:
    ws, crm = company(tmp_path, invoices_kept=True)
    rt = open_runtime(ws)
    try:
        ann = sealed_for(rt, "subj-ann", "ann@example.test", {"phone": "+44 1111", "billing_name": "Ann A."})
        with sqlite3.connect(crm) as db:
            db.execute("UPDATE customers SET phone = ? WHERE id = 1", (ann["phone"],))
            db.execute(
                "INSERT INTO invoices (id, customer_id, billing_name) VALUES (100, 1, ?)", (ann["billing_name"],)
            )
        rid = started(rt, Right.DELETION)
        assert fulfil_request(rt, rid).state is State.PARTIALLY_FULFILLED
        assert isinstance(rt.data_keys.get("subj-ann"), WrappedKey)  # the invoice must stay readable
        kept = [e for e in rt.audit.entries(f"request:{rid}") if e.action == "data_key_kept"]
        assert len(kept) == 1 and kept[0].payload["collections"] == ["crm.invoices"]
    finally:
        rt.close()


def test_access_with_the_wrong_kek_fails_clearly(crm_company: tuple[Runtime, Path, dict[str, str]]) -> None:
    rt, _, _ = crm_company
    rid = started(rt, Right.ACCESS)
    impostor = open_runtime(rt.settings.root, keks=KekRing(LocalKek("kek-1", b"\x01" * 32)))  # e.g. a KMS adapter
    try:
        with pytest.raises(
            FulfilmentIncomplete, match=r"the access package was not built: .*the KEK secret is not the one"
        ):
            fulfil_request(impostor, rid)
        assert not (rt.settings.root / "packages" / f"{rid}.zip").exists()
    finally:
        impostor.close()
    other = open_runtime(rt.settings.root, keks=KekRing(LocalKek("kek-9", b"\x01" * 32)))
    try:
        with pytest.raises(
            FulfilmentIncomplete, match=r"wrapped by KEK 'kek-1', which is not loaded \(loaded: 'kek-9'\)"
        ):
            fulfil_request(other, rid)  # the request stayed in progress: it can run again once the KEK is right
    finally:
        other.close()


def test_without_crypto_settings_access_fails_clearly_and_erasure_still_shreds(tmp_path: Path) -> None:
    ws, crm = company(tmp_path, crypto=False)
    sealing = open_runtime(ws, keks=KekRing(LocalKek("kek-1", bytes.fromhex(KEK_HEX))))
    try:
        ann = sealed_for(sealing, "subj-ann", "ann@example.test", {"phone": "+44 1111"})
    finally:
        sealing.close()
    with sqlite3.connect(crm) as db:
        db.execute("UPDATE customers SET phone = ? WHERE id = 1", (ann["phone"],))
    rt = open_runtime(ws)
    try:
        assert rt.keks is None
        with pytest.raises(FulfilmentIncomplete, match=r"privet.toml has no \[crypto\] KEKs to decrypt them"):
            fulfil_request(rt, started(rt, Right.ACCESS))
        assert fulfil_request(rt, started(rt, Right.DELETION)).state is State.FULFILLED  # no KEK needed to destroy
        assert isinstance(rt.data_keys.get("subj-ann"), ShredReceipt)
    finally:
        rt.close()


def test_a_requester_privet_does_not_know_gets_no_shred_and_it_is_said(tmp_path: Path, kek: None) -> None:
    ws, _ = company(tmp_path)
    rt = open_runtime(ws)
    try:
        rid = started(rt, Right.DELETION)  # ann's email is linked to no subject
        assert fulfil_request(rt, rid).state is State.FULFILLED
        entries = list(rt.audit.entries(f"request:{rid}"))
        assert [e.payload["reason"] for e in entries if e.action == "data_key_not_shredded"] == [
            "the request names no privet subject"
        ]
        told = " ".join(m.body for m in rt.outbox.for_request(rid)).replace("\n", " ")
        assert "no encryption key was destroyed: the request names no privet subject" in told
        assert rt.data_keys.census().shredded == 0
    finally:
        rt.close()


def test_a_correction_of_an_encrypted_field_is_stored_sealed_and_logged_blind(
    crm_company: tuple[Runtime, Path, dict[str, str]],
) -> None:
    from privet.requests.intake import Submission
    from privet.requests.lifecycle import Event, EventKind
    from privet.requests.model import Requester

    rt, crm, _ = crm_company
    details = "crm.customers.phone = +44 9999"
    r = rt.request_service.submit(Submission(Right.CORRECTION, Requester(email="ann@example.test"), "eu",
                                             details=details), rt.now()).request  # fmt: skip
    rt.request_service.act(r.request_id, Event(EventKind.VERIFIED, method="account", level="account"), rt.now())
    rt.request_service.act(r.request_id, Event(EventKind.START), rt.now())
    assert fulfil_request(rt, r.request_id).state is State.FULFILLED
    with sqlite3.connect(crm) as db:
        (stored,) = db.execute("SELECT phone FROM customers WHERE id = 1").fetchone()
    assert stored.startswith(SEALED_PREFIX)
    assert rt.keks is not None
    assert unseal(open_subject(rt.data_keys, rt.keks, "subj-ann"), stored, PHONE) == "+44 9999"
    logged = [e.payload for e in rt.audit.entries(f"request:{r.request_id}") if e.action == "corrected"]
    assert logged == [{"changes": [{"field": "crm.customers.phone", "rows": 1, "before": ["(encrypted)"],
                                    "after": "(encrypted)"}]}]  # fmt: skip
    # What entries say (not their chain hashes: hex digits may spell 9999 by chance, as a CI run once found).
    assert "9999" not in str([(e.actor, e.action, e.payload) for e in rt.audit.entries()])
