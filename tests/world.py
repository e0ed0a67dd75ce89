from __future__ import annotations

import datetime as dt
from pathlib import Path

from privet.consent.events import Source
from privet.consent.ledger import ChoiceInput, ConsentLedger
from privet.consent.memory import MemoryConsents, MemorySubjects
from privet.consent.ports import Subject
from privet.manifest.model import Manifest
from privet.policy import CompiledPolicy, SubjectView, compile_policy
from privet.workspace.manifest_files import load_manifest

NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
POLICY_MANIFEST = Path(__file__).parent / "fixtures" / "policy"


class World:
    """A ledger and a compiled policy over the policy fixture manifest, in memory."""

    def __init__(self, manifest: Manifest) -> None:
        self.subjects = MemorySubjects()
        self.ledger = ConsentLedger(manifest, self.subjects, MemoryConsents(self.subjects))
        self.policy: CompiledPolicy = compile_policy(manifest)

    def person(self, jurisdiction: str | None = "eu", birth: dt.date | None = None, *choices: tuple[str, bool]) -> str:
        subject_id = f"s{len(self.subjects._subjects)}"
        self.subjects.create(Subject(subject_id, NOW, jurisdiction=jurisdiction, birth_date=birth))
        for i, (key, granted) in enumerate(choices):
            self.choose(subject_id, key, granted, NOW - dt.timedelta(minutes=len(choices) - i))
        return subject_id

    def choose(self, subject_id: str, key: str, granted: bool, at: dt.datetime = NOW, scope: str = "") -> None:
        self.ledger.record([ChoiceInput(key, granted, Source.API, subject_id=subject_id, at=at, scope=scope)], NOW)

    def view(self, subject_id: str) -> SubjectView:
        return self.policy.view(self.subjects.get(subject_id), self.ledger.choices(subject_id), NOW.date())


def policy_manifest() -> Manifest:
    return load_manifest(POLICY_MANIFEST).manifest
