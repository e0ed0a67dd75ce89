"""The audit chain: every append verifies, and every edit, removal, insertion or reordering is caught where it is."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import privet.audit
from privet.audit import (
    GENESIS,
    JSON,
    Anchor,
    AuditEntry,
    AuditError,
    anchor,
    canonical_bytes,
    chain_hash,
    next_entry,
    parse_anchor,
    redact,
    verify_chain,
)
from privet.audit import chain as chain_module

T0 = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)
CET = dt.timezone(dt.timedelta(hours=1))


def build(n: int, payloads: list[Mapping[str, JSON]] | None = None) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev = None
    for i in range(n):
        payload = payloads[i] if payloads else {"step": i}
        prev = next_entry(prev, T0 + dt.timedelta(minutes=i), "system", f"action{i}", f"request:r{i % 3}", payload)
        entries.append(prev)
    return entries


def test_every_public_function_and_class_is_exported() -> None:
    defined = {name for name, value in vars(chain_module).items()
               if not name.startswith("_") and getattr(value, "__module__", None) == chain_module.__name__}  # fmt: skip
    assert defined == set(privet.audit.__all__) - {"GENESIS", "JSON"}
    assert all(getattr(privet.audit, name) is getattr(chain_module, name) for name in privet.audit.__all__)


def test_canonical_bytes_are_sorted_compact_utf8_with_utc_times() -> None:
    fields = {"seq": 1, "at": dt.datetime(2025, 3, 3, 10, tzinfo=CET), "actor": "Zoë", "action": "received",
              "subject_ref": "request:r1", "payload": {"b": [1, 2.5, None], "a": True}}  # fmt: skip
    expected = ('{"action":"received","actor":"Zoë","at":"2025-03-03T09:00:00.000000Z",'
                '"payload":{"a":true,"b":[1,2.5,null]},"seq":1,"subject_ref":"request:r1"}').encode()  # fmt: skip
    assert canonical_bytes(fields) == expected
    assert chain_hash(GENESIS, expected) == hashlib.sha256(b"0" * 64 + expected).hexdigest()


def test_first_entry_starts_from_genesis_and_each_links_to_the_one_before() -> None:
    a, b = build(2)
    assert (a.seq, a.prev_hash, b.seq, b.prev_hash) == (1, GENESIS, 2, a.hash)
    assert a.hash == chain_hash(GENESIS, canonical_bytes(a.content()))
    assert len(a.hash) == 64


def test_time_is_kept_in_utc_and_the_same_instant_hashes_the_same() -> None:
    here = next_entry(None, dt.datetime(2025, 3, 3, 10, tzinfo=CET), "ann", "received", "request:r1", {})
    there = next_entry(None, T0, "ann", "received", "request:r1", {})
    assert here.at.tzinfo is dt.UTC and here.hash == there.hash


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"at": dt.datetime(2025, 3, 3, 9)}, "must carry its time zone"),
        ({"actor": " "}, "needs its actor"),
        ({"action": ""}, "needs its action"),
        ({"subject_ref": ""}, "needs its subject_ref"),
        ({"payload": {"blob": b"\x00"}}, r"payload.blob: a bytes is not JSON .*base64"),
        ({"payload": {"tags": {"a", "b"}}}, "payload.tags: a set is not JSON"),
        ({"payload": {"ratio": float("nan")}}, "payload.ratio: nan is not a JSON number"),
        ({"payload": {"x": [{1: "a"}]}}, r"payload.x\[0\]: the key 1 is not a string"),
    ],
)
def test_bad_entries_are_refused_with_the_place(changes: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"at": T0, "actor": "ann", "action": "received", "subject_ref": "request:r1",
                               "payload": {}} | changes  # fmt: skip
    with pytest.raises(AuditError, match=message):
        next_entry(None, **args)  # type: ignore[arg-type]


def test_the_payload_is_copied_and_read_only() -> None:
    payload: dict[str, JSON] = {"reasons": ["too many requests"], "agent": {"name": "Bob"}}
    entry = next_entry(None, T0, "ann", "denied", "request:r1", payload)
    payload["reasons"] = []
    assert entry.payload["reasons"] == ("too many requests",)
    with pytest.raises(TypeError):
        entry.payload["agent"]["name"] = "Eve"  # type: ignore[index]
    assert verify_chain([entry]).ok


def test_an_intact_chain_verifies() -> None:
    entries = build(5)
    report = verify_chain(iter(entries))
    assert report == privet.audit.ChainReport(True, 5, 5, entries[-1].hash, (), None)
    assert report.checkpoint() == anchor(entries[-1].hash, 5)


def test_an_empty_chain_verifies() -> None:
    report = verify_chain([])
    assert (report.ok, report.entries_checked, report.last_seq, report.last_hash) == (True, 0, 0, GENESIS)


def test_an_edited_entry_is_named() -> None:
    entries = build(5)
    entries[2] = dataclasses.replace(entries[2], payload={"step": 99})
    report = verify_chain(entries)
    assert not report.ok and report.first_broken_seq == 3
    assert report.problems == ("seq 3: its hash does not match its content (the entry was edited)",)


def test_an_edited_and_rehashed_entry_breaks_the_next_link() -> None:
    entries = build(5)
    forged = dataclasses.replace(entries[2], actor="mallory")
    entries[2] = dataclasses.replace(forged, hash=chain_hash(forged.prev_hash, canonical_bytes(forged.content())))
    report = verify_chain(entries)
    assert report.first_broken_seq == 4
    assert report.problems == ("seq 4: its prev_hash does not match the hash of seq 3 (an entry before it was replaced "
                               "or inserted)",)  # fmt: skip


def test_a_removed_entry_is_named() -> None:
    entries = build(6)
    del entries[1:3]
    report = verify_chain(entries)
    assert report.first_broken_seq == 2
    assert report.problems == ("seq 2: missing, the next entry found is seq 4 (seqs 2-3 removed or moved)",)


def test_swapped_entries_are_named() -> None:
    entries = build(5)
    entries[1], entries[2] = entries[2], entries[1]
    report = verify_chain(entries)
    assert report.first_broken_seq == 2
    assert report.problems == (
        "seq 2: missing, the next entry found is seq 3 (seq 2 removed or moved)",
        "seq 2: found after seq 3 (reordered, duplicated or inserted)",
    )


def test_an_inserted_entry_is_named() -> None:
    entries = build(4)
    forged = next_entry(entries[1], T0, "mallory", "fulfilled", "request:r1", {})  # a well-formed seq 3
    entries.insert(2, forged)
    report = verify_chain(entries)
    assert report.first_broken_seq == 3
    assert report.problems == ("seq 3: found after seq 3 (reordered, duplicated or inserted)",
                               "seq 4: its prev_hash does not match the hash of seq 3 (an entry before it was "
                               "replaced or inserted)")  # fmt: skip


def test_a_chain_must_start_at_genesis() -> None:
    entries = build(3)[1:]
    assert verify_chain(entries).problems[0] == "seq 1: missing, the next entry found is seq 2 (seq 1 removed or moved)"
    first = build(1)[0]
    moved = dataclasses.replace(first, prev_hash="1" * 64)
    assert "seq 1: its prev_hash does not match the hash of the chain's start" in verify_chain([moved]).problems[0]


def test_removing_the_tail_needs_an_anchor_to_be_seen() -> None:
    entries = build(6)
    kept = anchor(entries[-1].hash, 6)
    assert verify_chain(entries[:4]).ok  # nothing in the chain itself shows the loss
    report = verify_chain(entries[:4], kept)
    assert report.first_broken_seq == 5
    assert report.problems == (
        "seq 5: the log ends at seq 4 but the anchor records seq 6 (seqs 5-6 removed from the end)",
    )
    assert verify_chain([], kept).problems == ("seq 1: the log ends at seq 0 but the anchor records seq 6 (seqs 1-6 "
                                               "removed from the end)",)  # fmt: skip


def test_an_old_anchor_still_verifies_a_longer_log() -> None:
    entries = build(8)
    assert verify_chain(entries, anchor(entries[4].hash, 5)).ok
    assert verify_chain([], anchor(GENESIS, 0)).ok


def test_an_anchor_catches_a_chain_rewritten_from_some_entry_on() -> None:
    entries = build(6)
    kept = anchor(entries[3].hash, 4)
    rewritten = entries[:2]
    for old in entries[2:]:
        rewritten.append(next_entry(rewritten[-1], old.at, old.actor, old.action, old.subject_ref, {"step": "forged"}))
    assert verify_chain(rewritten).ok
    report = verify_chain(rewritten, kept)
    assert report.problems == ("seq 4: its hash differs from the anchor's (the chain was rewritten up to here)",)


def test_checking_only_what_was_appended_since_a_checkpoint() -> None:
    entries = build(7)
    since = verify_chain(entries[:4]).checkpoint()
    assert verify_chain(entries[4:], since=since).ok
    assert verify_chain(entries[4:], anchor(entries[-1].hash, 7), since=since).ok
    assert verify_chain(entries[5:], since=since).first_broken_seq == 5
    with pytest.raises(AuditError, match="lies before the entries checked"):
        verify_chain(entries[4:], anchor(entries[1].hash, 2), since=since)


def test_anchors_are_one_line_and_parsed_strictly() -> None:
    line = anchor("ab" * 32, 42)
    assert line == f"privet-audit-anchor/1 seq=42 sha256={'ab' * 32}"
    assert "\n" not in line
    assert parse_anchor(f"  {line}\n") == Anchor(42, "ab" * 32)
    for bad in ("", "privet-audit-anchor/1 seq=-1 sha256=" + "ab" * 32, line.upper(), line + " extra"):
        with pytest.raises(AuditError, match="not an audit anchor"):
            parse_anchor(bad)
    with pytest.raises(AuditError, match="64-digit"):
        anchor("xyz", 1)


def test_an_entry_that_cannot_be_hashed_is_reported_not_raised() -> None:
    entries = build(3)
    entries[1] = dataclasses.replace(entries[1], at=dt.datetime(2025, 3, 3, 9))
    report = verify_chain(entries)
    assert report.first_broken_seq == 2
    assert report.problems[0].startswith("seq 2: cannot be hashed (not writable as canonical JSON: the time")


def test_a_badly_broken_log_lists_a_bounded_number_of_problems() -> None:
    entries = [dataclasses.replace(e, actor="x") for e in build(30)]
    report = verify_chain(entries, max_problems=5)
    assert len(report.problems) == 6 and report.problems[-1] == "... and 25 more problems"
    assert report.first_broken_seq == 1


def test_entries_stored_as_json_and_read_back_still_verify() -> None:
    entries = build(4, [{"x": 1.5}, {"name": "Zoë"}, {"nested": {"list": [1, "two", None]}}, {}])
    rows = [canonical_bytes(e.content() | {"prev_hash": e.prev_hash, "hash": e.hash}).decode() for e in entries]
    loaded = []
    for row in rows:
        data = json.loads(row)
        data["at"] = dt.datetime.fromisoformat(data["at"])
        loaded.append(AuditEntry(**data))
    assert verify_chain(loaded).ok


def test_redaction_replaces_secrets_with_digests_at_any_depth() -> None:
    payload: dict[str, JSON] = {"kind": "access", "email": "ann@example.test",
                                "verification": {"code": "493021", "method": "email_code"}, "codes": [{"code": 7}]}  # fmt: skip
    redacted = redact(payload, {"email", "code"})
    assert redacted == {
        "kind": "access",
        "email": "sha256:" + hashlib.sha256(b"ann@example.test").hexdigest(),
        "verification": {"code": "sha256:" + hashlib.sha256(b"493021").hexdigest(), "method": "email_code"},
        "codes": [{"code": "sha256:" + hashlib.sha256(b"7").hexdigest()}],
    }
    assert payload["email"] == "ann@example.test"  # the caller's value is untouched
    entry = next_entry(None, T0, "system", "verification_sent", "request:r1", redacted)
    written = canonical_bytes(entry.content())
    assert b"ann@example.test" not in written and b"493021" not in written
    assert verify_chain([entry]).ok


def test_a_peppered_redaction_cannot_be_confirmed_without_the_key() -> None:
    peppered = redact({"email": "ann@example.test"}, ["email"], pepper=b"kept-in-the-vault")
    digest = peppered["email"]
    assert isinstance(digest, str) and digest.startswith("hmac-sha256:")
    assert digest != redact({"email": "ann@example.test"}, ["email"], pepper=b"another")["email"]
    assert hashlib.sha256(b"ann@example.test").hexdigest() not in digest


# Properties ---------------------------------------------------------------------------------------------------

json_values: st.SearchStrategy[JSON] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
appends = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10**6),  # seconds after T0
        st.text(min_size=1, max_size=8).filter(str.strip),
        st.sampled_from(["received", "verified", "fulfilled", "consent_withdrawn", "erased"]),
        st.text(min_size=1, max_size=12).filter(str.strip),
        st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    ),
    min_size=1,
    max_size=12,
)


def chain_of(steps: list[tuple[int, str, str, str, dict[str, JSON]]]) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for seconds, actor, action, ref, payload in steps:
        at = T0 + dt.timedelta(seconds=seconds)
        entries.append(next_entry(entries[-1] if entries else None, at, actor, action, ref, payload))
    return entries


@settings(max_examples=150)
@given(appends)
def test_any_sequence_of_appends_verifies(steps: list[tuple[int, str, str, str, dict[str, JSON]]]) -> None:
    entries = chain_of(steps)
    report = verify_chain(entries, anchor(entries[-1].hash, len(entries)))
    assert report.ok and report.entries_checked == len(entries) and report.last_hash == entries[-1].hash


EDITS = {
    "actor": lambda e: dataclasses.replace(e, actor=e.actor + "!"),
    "action": lambda e: dataclasses.replace(e, action=e.action + "!"),
    "subject_ref": lambda e: dataclasses.replace(e, subject_ref=e.subject_ref + "!"),
    "at": lambda e: dataclasses.replace(e, at=e.at + dt.timedelta(seconds=1)),
    "payload": lambda e: dataclasses.replace(e, payload={**e.payload, "\x00edited": True}),
    "prev_hash": lambda e: dataclasses.replace(e, prev_hash="f" * 64),
}


@settings(max_examples=150)
@given(appends, st.data())
def test_any_single_edit_is_found_at_its_seq(steps: list[tuple[int, str, str, str, dict[str, JSON]]],
                                            data: st.DataObject) -> None:  # fmt: skip
    entries = chain_of(steps)
    i = data.draw(st.integers(0, len(entries) - 1))
    entries[i] = EDITS[data.draw(st.sampled_from(sorted(EDITS)))](entries[i])
    report = verify_chain(entries)
    assert not report.ok and report.first_broken_seq == i + 1


@settings(max_examples=150)
@given(appends, st.data())
def test_any_single_deletion_is_found_at_its_seq(steps: list[tuple[int, str, str, str, dict[str, JSON]]],
                                                data: st.DataObject) -> None:  # fmt: skip
    entries = chain_of(steps)
    kept = anchor(entries[-1].hash, len(entries))
    i = data.draw(st.integers(0, len(entries) - 1))
    del entries[i]
    report = verify_chain(entries, kept)
    assert not report.ok and report.first_broken_seq == i + 1


@settings(max_examples=150)
@given(appends.filter(lambda s: len(s) >= 2), st.data())
def test_any_swap_is_found_at_the_earlier_seq(steps: list[tuple[int, str, str, str, dict[str, JSON]]],
                                             data: st.DataObject) -> None:  # fmt: skip
    entries = chain_of(steps)
    i = data.draw(st.integers(0, len(entries) - 2))
    j = data.draw(st.integers(i + 1, len(entries) - 1))
    entries[i], entries[j] = entries[j], entries[i]
    report = verify_chain(entries)
    assert not report.ok and report.first_broken_seq == i + 1
