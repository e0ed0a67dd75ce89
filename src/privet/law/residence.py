"""Where a person lives, as they or staff write it, resolved to a jurisdiction key of the law catalogue.

Accepted: a catalogue key (`eu`, `uk`, `us-ca`, in any case, `_` for `-`), an ISO 3166-1 country code whose law
the catalogue covers (an EEA member such as `DE` or `FR` for `eu`, `GB` for `uk`, `CH` for `ch`), a US state as
ISO 3166-2 (`US-CA`), and a jurisdiction's name (`California`). Anything else is refused, naming what is known:
a typo must never turn into a denial "no law grants this right".
"""

from __future__ import annotations

from privet.law.catalogue import Catalogue, catalogue
from privet.law.tables import LawError


class UnknownResidence(LawError, ValueError):
    """A residence privet cannot place; the message lists what it knows and how to go on."""


def residence_key(written: str, law: Catalogue | None = None) -> str:
    """The jurisdiction key for a residence as written; raises UnknownResidence when there is none."""
    law = law or catalogue()
    text = " ".join(written.split())
    if text.lower() in law.groups:
        members = ", ".join(law.groups[text.lower()])
        raise UnknownResidence(f"{text!r} is a group of jurisdictions ({members}), not a residence; name one of them")
    key = text.lower().replace("_", "-")
    if key in law.jurisdictions:
        return key
    code = text.upper()
    for jurisdiction in law.jurisdictions.values():
        # A country whose law is the catalogue's: the EEA's members (eu), GB (uk), CH (ch). US law is per state.
        if jurisdiction.country == "US":
            continue
        if code == jurisdiction.country or (jurisdiction.country == "EEA" and code in law.eea_members):
            return jurisdiction.key
    named = [j.key for j in law.jurisdictions.values() if j.name.casefold() == text.casefold()]
    if named:
        return named[0]
    raise UnknownResidence(_refusal(text, law))


def _refusal(text: str, law: Catalogue) -> str:
    keys = ", ".join(law.jurisdictions)
    if text.upper() == "US":
        return (f"{text!r}: US privacy law is made by each state; name the state, e.g. US-CA or us-va "
                f"(known: {keys})")  # fmt: skip
    return (
        f"unknown residence {text!r}. Known jurisdictions: {keys}; a country code of the EEA (DE, FR, ...) means "
        "eu, GB uk, CH ch, and a US state is written US-CA. Correct the spelling, or, for someone living "
        "elsewhere, leave the residence out: the strictest deadline of the notice's jurisdictions then applies"
    )
