"""The current-state projection of the ledger: the latest choice per subject, key and scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from privet.consent.events import ConsentEvent, Signal, Source


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    seq: int  # position in the ledger, assigned by the store
    recorded_at: dt.datetime
    event: ConsentEvent


@dataclass(frozen=True, slots=True)
class Choice:
    """A subject's current choice for one key and scope, and the event that made it."""

    key: str
    scope: str
    granted: bool
    at: dt.datetime
    event_id: str
    seq: int
    source: Source

    def replaced_by(self, other: Choice) -> bool:
        """Later choices win; two at the same instant are ordered by their place in the ledger."""
        return (other.at, other.seq) > (self.at, self.seq)


def choice_of(recorded: RecordedEvent) -> Choice:
    e = recorded.event
    return Choice(e.key, e.scope, e.granted, e.at, e.event_id, recorded.seq, e.source)


StateKey = tuple[str, str, str]  # (subject, key, scope)


def fold(events: Iterable[RecordedEvent], canonical: Mapping[str, str] | None = None) -> dict[StateKey, Choice]:
    """The projection, computed from scratch; `canonical` maps merged subjects to the one they became."""
    state: dict[StateKey, Choice] = {}
    for recorded in events:
        subject = recorded.event.subject_id
        if canonical:
            subject = canonical.get(subject, subject)
        choice = choice_of(recorded)
        key = (subject, choice.key, choice.scope)
        held = state.get(key)
        if held is None or held.replaced_by(choice):
            state[key] = choice
    return state


@dataclass(frozen=True)
class SubjectChoices:
    """What the policy engine needs to know about one person's choices."""

    subject_id: str
    choices: Mapping[tuple[str, str], Choice]  # (key, scope) -> choice

    def granted(self, key: str, scope: str = "") -> bool:
        choice = self.choices.get((key, scope))
        return choice is not None and choice.granted

    def choice(self, key: str, scope: str = "") -> Choice | None:
        return self.choices.get((key, scope))

    def signal(self, signal: Signal) -> Choice | None:
        choice = self.choices.get((signal.value, ""))
        return choice if choice is not None and choice.granted else None

    def withdrawn_scopes(self, key: str) -> frozenset[str]:
        return frozenset(s for (k, s), c in self.choices.items() if k == key and s and not c.granted)
