"""The journal of anonymised records: what privet has anonymised, so that it is never due, or masked, again.

Anonymising keeps a record and masks its personal fields; its dates still say its period has ended, so without a
memory every sweep would find it due again and mask it again (a keyed hash would change every night). The store
keeps one entry per system, collection and record key (as text, as reports write keys): the rule, the run and the
time. Every engine reads the entries of the collections it evaluates and settles each record the journal names
(`settled`, column by column in the bulk engines):

- due to be anonymised: anonymised (`RetentionState.ANONYMISED`), with the same rule and dates;
- undecidable: anonymised, without a missing fact (anonymising may have emptied a fact, or the link to the parent
  a record follows; the record was decided when privet anonymised it);
- any other state stands: the journal never stops a deletion (a rule changed to delete, a record due to be deleted
  now is deleted), and never hides a hold or dates that say the record is in use again.

A collection following a parent takes an anonymised parent record as ended, as a due one: a record of it that privet
did not anonymise is due under its own final action.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from privet.retention.evaluate import Evaluation
from privet.retention.rules import RetentionState

# Keys of anonymised records are not personal data: the plan deletes instead of anonymising where a collection's
# key is personal or names a person's record (`plan._masks`), so the journal may keep them.
JournalKeys = Mapping[str, Collection[str]]  # collection -> keys, as text, of the records privet anonymised
SETTLED = frozenset({RetentionState.DUE_ANONYMISE, RetentionState.UNDECIDABLE})  # what a journaled record leaves


def settled(evaluation: Evaluation) -> Evaluation:
    """The outcome of a record the journal names (see the module's text)."""
    if evaluation.state is RetentionState.DUE_ANONYMISE:
        return dataclasses.replace(evaluation, state=RetentionState.ANONYMISED)
    if evaluation.state is RetentionState.UNDECIDABLE:
        return dataclasses.replace(evaluation, state=RetentionState.ANONYMISED, missing=None, restrict_from=None,
                                   delete_on=None, limitation=None)  # fmt: skip
    return evaluation


@dataclass(frozen=True, slots=True)
class Anonymised:
    """One journal entry: a record privet anonymised, under which rule, in which run, when."""

    system: str
    collection: str
    key: str
    rule: str
    run: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Journaled:
    """What the journal holds for one collection and rule: how many records, first and last time, last run."""

    collection: str
    rule: str
    records: int
    first: dt.datetime
    last: dt.datetime
    last_run: str

    def text(self) -> str:
        when = f"on {self.first:%Y-%m-%d}" if self.first.date() == self.last.date() else (
            f"from {self.first:%Y-%m-%d} to {self.last:%Y-%m-%d}")  # fmt: skip
        return (f"{self.collection}: {self.records:,} records anonymised by privet under {self.rule} {when} (last run "
                f"{self.last_run}); they are not anonymised again")  # fmt: skip

    def as_json(self) -> dict[str, object]:
        return {"collection": self.collection, "rule": self.rule, "records": self.records,
                "first": self.first.isoformat(), "last": self.last.isoformat(), "last_run": self.last_run}  # fmt: skip
