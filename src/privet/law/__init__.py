"""Privacy law as data: jurisdictions, rights, deadlines, appeals, opt-out signals, minors, verification."""

from privet.law.calendars import Calendar, UnknownRegion, calendar_for
from privet.law.catalogue import Catalogue, Jurisdiction, catalogue
from privet.law.deadlines import Deadline, NotInForce, Reckoning, RightNotGranted, appeal_deadline, deadline
from privet.law.tables import (
    Activity,
    Law,
    LawError,
    LawTableError,
    MinorEffect,
    MinorRule,
    Period,
    Unit,
    UnknownJurisdiction,
    VerificationPolicy,
    WeekendRule,
    law_for,
    law_tables,
)
from privet.law.vocabulary import Regime, Right

__all__ = [
    "Activity",
    "Calendar",
    "Catalogue",
    "Deadline",
    "Jurisdiction",
    "Law",
    "LawError",
    "LawTableError",
    "MinorEffect",
    "MinorRule",
    "NotInForce",
    "Period",
    "Reckoning",
    "Regime",
    "Right",
    "RightNotGranted",
    "Unit",
    "UnknownJurisdiction",
    "UnknownRegion",
    "VerificationPolicy",
    "WeekendRule",
    "appeal_deadline",
    "calendar_for",
    "catalogue",
    "deadline",
    "law_for",
    "law_tables",
]
