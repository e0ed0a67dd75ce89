"""Finding the people a call is about, and what decisions need to know of them, in a few queries per call.

Decisions and GPP strings for someone privet does not know are answered as for a person with no recorded choices:
the answer is the same as the policy gives any newcomer, and tells the caller nothing about who is known.

`views` reads a whole batch of people at once, in one read transaction: the owners of the identifiers, the
subjects, their current choices (a few queries however many people).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from privet.consent.events import Signal, Source
from privet.consent.gpp import encode_gpp, usnat_from_choices
from privet.consent.identifiers import Identifier
from privet.consent.ports import Subject
from privet.consent.state import SubjectChoices
from privet.policy.compiled import SubjectView
from privet.store import SqlConsents, SqlSubjects, session
from privet.workspace.runtime import Runtime


@dataclass(frozen=True)
class Who:
    """How a caller names a person: a subject id, an identifier (kind:value), or nobody in particular."""

    subject_id: str | None = None
    identifier: str | None = None
    jurisdiction: str | None = None  # for someone privet does not know, or whose residence it does not know


class People:
    def __init__(self, runtime: Runtime) -> None:
        self.db = runtime.db
        self.subjects = SqlSubjects(self.db)
        self.consents = SqlConsents(self.db)
        self.policy = runtime.policy
        # Interning a new profile appends to the policy's tables; two threads must not do it at once.
        self._policy_lock = threading.Lock()

    def find(self, who: Who) -> str | None:
        """The canonical subject id, or None when privet does not know the person."""
        if who.subject_id:
            subject = self.subjects.get(who.subject_id)
            return subject.subject_id if subject else None
        if who.identifier:
            return self.subjects.find(Identifier.parse(who.identifier))
        return None

    def choices(self, subject_id: str | None) -> SubjectChoices:
        if subject_id is None:
            return SubjectChoices("", {})
        return SubjectChoices(subject_id, self.consents.current(subject_id))

    def view(self, who: Who, today: dt.date) -> SubjectView:
        return self.views([who], today)[who]

    def views(self, wanted: Sequence[Who], today: dt.date) -> dict[Who, SubjectView]:
        """The decision view of every person named, read in bulk."""
        unique = list(dict.fromkeys(wanted))
        parsed = {w: Identifier.parse(w.identifier) for w in unique if not w.subject_id and w.identifier}

        with session.reading(self.db):  # one read transaction: what is read together is consistent
            held = self.subjects.holders(set(parsed.values()))  # already canonical
            named = self.subjects.get_many({w.subject_id for w in unique if w.subject_id})
            found = {w: named[w.subject_id] for w in unique if w.subject_id and w.subject_id in named}
            found |= {w: held[i] for w, i in parsed.items() if i in held}
            choices = self.consents.current_many({s.subject_id for s in found.values()})
        result: dict[Who, SubjectView] = {}
        for w in unique:
            subject = found.get(w)
            sid = subject.subject_id if subject else ""
            result[w] = self._view(w, subject, SubjectChoices(sid, choices.get(sid, {})), today)
        return result

    def _view(self, who: Who, subject: Subject | None, choices: SubjectChoices, today: dt.date) -> SubjectView:
        if subject is None or (subject.jurisdiction is None and who.jurisdiction):
            base = subject or Subject("", dt.datetime.combine(today, dt.time(), dt.UTC))
            subject = Subject(base.subject_id, base.created_at, who.jurisdiction, base.birth_date, base.known_minor)
        with self._policy_lock:
            return self.policy.view(subject, choices, today)

    def gpp(self, who: Who, today: dt.date) -> str:
        """The IAB GPP string (usnat, with the GPC sub-section) of the person's current choices."""
        subject_id = self.find(who)
        choices = self.choices(subject_id)
        subject = self.subjects.get(subject_id) if subject_id else None
        usnat = usnat_from_choices(
            sale_opt_out=choices.signal(Signal.OPT_OUT_SALE) is not None,
            sharing_opt_out=choices.signal(Signal.OPT_OUT_SHARING) is not None,
            targeted_ads_opt_out=choices.signal(Signal.OPT_OUT_TARGETED_ADVERTISING) is not None,
            gpc=any(c.source is Source.GPC and c.granted for c in choices.choices.values()),
            notices_given=True,
            sensitive_limited=choices.signal(Signal.LIMIT_SENSITIVE) is not None,
            known_child=bool(subject and self.policy.minor_on(subject.birth_date, subject.known_minor, today)),
        )
        return encode_gpp([usnat])
